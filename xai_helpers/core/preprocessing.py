"""From a photo to the tensor a model expects, and back to a picture.

Every ImageNet classifier was trained with one fixed recipe: resize the shorter side, crop the
centre, scale pixels to [0, 1], subtract a mean and divide by a standard deviation per channel.
Feeding a model anything else quietly lowers its accuracy, and forgetting to undo the
normalisation makes pictures look washed out or black. :class:`Preprocessing` holds the
recipe; ``inverse`` undoes it for display.

Taught in ``notebooks/00_setup_and_tour.ipynb``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from .images import ImageSource, load_image

__all__ = [
    "Preprocessing",
    "IMAGENET_PREPROCESSING",
    "EFFICIENTNET_LITE_PREPROCESSING",
    "chw_to_hwc",
    "hwc_to_chw",
]


@dataclass(frozen=True)
class Preprocessing:
    """A model's input recipe: resize → centre crop → [0, 1] → (x - mean) / std.

    Args:
        mean: Per-channel mean (R, G, B) subtracted after scaling to [0, 1].
        std: Per-channel standard deviation (R, G, B).
        resize: Length the shorter image side is resized to.
        crop: Side of the square centre crop the model sees.

    Example:
        >>> prep = Preprocessing(mean=(0.5,) * 3, std=(0.5,) * 3)
        >>> x = prep(np.full((300, 400, 3), 255, np.uint8))   # a white picture
        >>> tuple(x.shape), float(x.min()), float(x.max())     # white maps to +1
        ((3, 224, 224), 1.0, 1.0)
    """

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: int = 256
    crop: int = 224

    def view(self, image: ImageSource) -> Image.Image:
        """The resized, centre-cropped RGB picture the model sees (before normalisation)."""
        image = load_image(image)
        image = TF.resize(image, self.resize, interpolation=InterpolationMode.BILINEAR,
                          antialias=True)
        return TF.center_crop(image, self.crop)

    def __call__(self, image: ImageSource) -> torch.Tensor:
        """Preprocess one image into a normalised (3, crop, crop) float tensor."""
        pixels = TF.pil_to_tensor(self.view(image)).float() / 255.0  # (3, H, W) in [0, 1]
        return TF.normalize(pixels, mean=list(self.mean), std=list(self.std))

    def batch(self, images: ImageSource | Sequence[ImageSource]) -> torch.Tensor:
        """Preprocess one image or a list of images into a (N, 3, crop, crop) batch."""
        if isinstance(images, (list, tuple)):
            return torch.stack([self(image) for image in images])
        return self(images).unsqueeze(0)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        """Undo the normalisation: (3, H, W) or (N, 3, H, W) back to pixels in [0, 1].

        Example:
            >>> prep = EFFICIENTNET_LITE_PREPROCESSING
            >>> x = torch.tensor([-1.0, 0.0, 1.0]).view(3, 1, 1)
            >>> prep.inverse(x).flatten().tolist()
            [0.0, 0.5, 1.0]
        """
        if x.ndim not in (3, 4) or x.shape[-3] != 3:
            raise ValueError(f"inverse() expects (3, H, W) or (N, 3, H, W), got {tuple(x.shape)}.")
        shape = (3, 1, 1)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(shape)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(shape)
        return (x * std + mean).clamp(0.0, 1.0)


#: torchvision's ImageNet models (resnet, vgg, densenet, mobilenet, shufflenet, ...).
IMAGENET_PREPROCESSING = Preprocessing(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
#: EfficientNet-Lite was trained on inputs in [-1, 1]: mean = std = 0.5.
EFFICIENTNET_LITE_PREPROCESSING = Preprocessing(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def chw_to_hwc(x: torch.Tensor) -> np.ndarray:
    """A (C, H, W) or (N, C, H, W) tensor as a NumPy (H, W, C) / (N, H, W, C) array for plotting.

    Example:
        >>> chw_to_hwc(torch.zeros(3, 4, 5)).shape
        (4, 5, 3)
    """
    if not isinstance(x, torch.Tensor) or x.ndim not in (3, 4):
        raise ValueError("chw_to_hwc() expects a torch tensor of shape (C, H, W) or (N, C, H, W).")
    return x.detach().cpu().movedim(-3, -1).numpy()


def hwc_to_chw(array: np.ndarray) -> torch.Tensor:
    """A NumPy (H, W, C) / (N, H, W, C) array as a (C, H, W) / (N, C, H, W) tensor.

    Example:
        >>> tuple(hwc_to_chw(np.zeros((4, 5, 3))).shape)
        (3, 4, 5)
    """
    array = np.asarray(array)
    if array.ndim not in (3, 4):
        raise ValueError(f"hwc_to_chw() expects (H, W, C) or (N, H, W, C), got {array.shape}.")
    return torch.from_numpy(np.ascontiguousarray(array)).movedim(-1, -3)
