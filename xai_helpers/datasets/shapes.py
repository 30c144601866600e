"""A generated photo set with known object masks, for judging where explanations point.

Each 64×64 image shows one object — a disk, an upright square or an upward triangle, in a
random colour, size and position — on a textured background (a smooth colour field, stripes of
random frequency and direction, pixel noise) with a few clutter strokes behind it. Because we
draw the object, we know its exact mask: localisation metrics (pointing game, energy inside
the mask) can be computed against the truth, which no photo set available offline offers.

**The spurious cue.** With ``cue="class"`` a small marker in the top-left corner takes a
colour that *gives away the class* (red disk, green square, blue triangle). A network trained
on such images can reach full accuracy by looking at the corner only — a "Clever Hans" model.
With ``cue="random"`` the marker's colour is random: the cue is useless, and the cheating model
fails. CAM shows the learner where it looks.

The small CNN (:func:`shapes_cnn`) ends in global average pooling and one dense layer, so CAM
applies exactly; it has no biases, so LRP conserves relevance exactly. Committed weights in
``data/`` are made by ``data/make_shapes_models.py``.

Taught in ``notebooks/09_evaluating_explanations.ipynb``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from ..core.config import DATA_DIR
from ..core.models import ModelSpec
from ..core.preprocessing import Preprocessing
from .training import accuracy, fit_classifier

__all__ = ["SHAPE_CLASSES", "SHAPE_CLASSES_ZH", "CUE_COLOURS", "Shapes", "make_shapes",
           "shapes_cnn", "train_shapes_cnn", "load_shapes_cnn", "shapes_accuracy",
           "SHAPES_CAM_LAYER", "SHAPES_SPEC"]

SHAPE_CLASSES = ("disk", "square", "triangle")
SHAPE_CLASSES_ZH = ("圆形", "正方形", "三角形")
#: The marker colour that gives each class away when ``cue="class"``.
CUE_COLOURS = ((230, 30, 30), (30, 200, 30), (40, 60, 230))
CUE_BOX = (2, 2, 9, 9)          # (left, top, right, bottom) of the marker, inclusive
#: The CAM layer of :func:`shapes_cnn`: the ReLU after the last convolution (16×16).
SHAPES_CAM_LAYER = "9"
#: What the workbook's helpers need to know about the shapes CNN (inputs are used as they are).
SHAPES_SPEC = ModelSpec("shapes_cnn", SHAPES_CAM_LAYER, "12",
                        Preprocessing(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), resize=64,
                                      crop=64), num_classes=len(SHAPE_CLASSES))


@dataclass
class Shapes:
    """A batch of generated images with their truth.

    Attributes:
        images: (N, 3, S, S) float in [0, 1] (the model's input: no further normalisation).
        masks: (N, S, S) bool, True on the object's pixels.
        labels: (N,) class ids into :data:`SHAPE_CLASSES`.
        cue: How the corner marker was drawn: ``"none"``, ``"class"`` or ``"random"``.
    """

    images: torch.Tensor
    masks: torch.Tensor
    labels: torch.Tensor
    cue: str

    def __len__(self) -> int:
        return len(self.labels)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    coarse = rng.uniform(0, 255, (3, 3, 3)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((size, size), Image.BICUBIC), np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    angle, period = rng.uniform(0, math.pi), rng.uniform(4, 14)
    stripes = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period)
    stripes = stripes[..., None] * rng.uniform(5, 25) * rng.choice([-1, 1], size=3)
    noise = rng.normal(0, rng.uniform(3, 8), (size, size, 3))
    return np.clip(smooth + stripes + noise, 0, 255).astype(np.uint8)


def _shape_points(kind: int, cx: float, cy: float, radius: float, angle: float):
    if kind == 0:
        return None                                          # a disk: drawn as an ellipse
    corners = 4 if kind == 1 else 3
    return [(cx + radius * math.cos(angle + 2 * math.pi * k / corners),
             cy + radius * math.sin(angle + 2 * math.pi * k / corners)) for k in range(corners)]


def _draw_shape(draw: ImageDraw.ImageDraw, kind: int, cx, cy, radius, angle, fill) -> None:
    points = _shape_points(kind, cx, cy, radius, angle)
    if points is None:
        r = radius * 0.8                                     # similar area to the polygons
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    else:
        draw.polygon(points, fill=fill)


def make_shapes(n: int, *, seed: int = 0, size: int = 64, cue: str = "none") -> Shapes:
    """Generate ``n`` labelled images with object masks, deterministically from ``seed``.

    Args:
        n: Number of images (classes are balanced: ``i % 3``, then shuffled).
        seed: Same seed, same images.
        size: Side in pixels.
        cue: ``"none"`` (no marker), ``"class"`` (the marker's colour is the class: a spurious
            shortcut) or ``"random"`` (a marker of a random one of the three colours).

    Example:
        >>> data = make_shapes(6, seed=1, cue="class")
        >>> data.images.shape, data.masks.shape, data.labels.tolist()[:3]
        (torch.Size([6, 3, 64, 64]), torch.Size([6, 64, 64]), [2, 0, 1])
    """
    if cue not in ("none", "class", "random"):
        raise ValueError(f"cue must be 'none', 'class' or 'random', not {cue!r}.")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES))
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.empty((n, size, size), bool)
    for i, kind in enumerate(labels):
        picture = Image.fromarray(_background(rng, size))
        draw = ImageDraw.Draw(picture)
        for _ in range(rng.integers(1, 4)):                   # clutter strokes, behind the object
            x0, y0, x1, y1 = rng.uniform(0, size, 4)
            draw.line([x0, y0, x1, y1], fill=tuple(int(c) for c in rng.integers(0, 256, 3)),
                      width=1)
        radius = rng.uniform(0.16, 0.28) * size
        margin = radius + 1
        cx, cy = rng.uniform(margin, size - margin, 2)
        if cue != "none":                                     # keep the object off the marker
            while cx - radius < CUE_BOX[2] + 2 and cy - radius < CUE_BOX[3] + 2:
                cx, cy = rng.uniform(margin, size - margin, 2)
        angle = math.pi / 4 if kind == 1 else -math.pi / 2     # squares upright, triangles up
        background = np.asarray(picture, np.float32)[int(cy), int(cx)]
        fill = rng.integers(0, 256, 3)
        while np.abs(fill - background).sum() < 150:          # visible, but any colour
            fill = rng.integers(0, 256, 3)
        fill = tuple(int(c) for c in fill)
        _draw_shape(draw, int(kind), cx, cy, radius, angle, fill)
        mask = Image.new("1", (size, size), 0)
        _draw_shape(ImageDraw.Draw(mask), int(kind), cx, cy, radius, angle, 1)
        if cue != "none":
            colour = CUE_COLOURS[int(kind) if cue == "class" else int(rng.integers(0, 3))]
            draw.rectangle(CUE_BOX, fill=colour)
        images[i] = np.asarray(picture)
        masks[i] = np.asarray(mask)
    return Shapes(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0,
                  torch.from_numpy(masks), torch.from_numpy(labels).long(), cue)


def shapes_cnn() -> nn.Sequential:
    """Four 3×3 convolutions (8-16-32-32 channels), two max-pools, global average pooling and
    one dense layer; no biases (≈ 15k weights). The CAM layer is ``"9"`` (32×16×16)."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.ReLU(),
        nn.MaxPool2d(2),                                          # 64 -> 32
        nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.ReLU(),
        nn.MaxPool2d(2),                                          # 32 -> 16
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.ReLU(),   # "9": the CAM layer
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(32, len(SHAPE_CLASSES), bias=False),
    )


def train_shapes_cnn(train: Shapes, *, epochs: int = 20, seed: int = 0,
                     shuffle_labels: bool = False) -> nn.Sequential:
    """Train :func:`shapes_cnn` on ``train`` (about 2 minutes on 2 CPU cores for 3000 images
    and 20 epochs).

    Args:
        shuffle_labels: Train on randomly permuted labels (the "data randomisation" sanity
            check of Adebayo et al. 2018: a model that can only memorise).
    """
    torch.manual_seed(seed)
    labels = train.labels
    if shuffle_labels:
        labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))]
    model = fit_classifier(shapes_cnn(), train.images, labels, epochs=epochs, seed=seed,
                           batch_size=32, lr=2e-3)
    model.xai_spec = SHAPES_SPEC
    return model


def load_shapes_cnn(variant: str = "clean") -> nn.Sequential:
    """A committed, trained shapes CNN (``data/shapes_cnn_<variant>.pt``, made by
    ``data/make_shapes_models.py``), in eval mode.

    Args:
        variant: ``"clean"`` (trained without the marker), ``"spurious"`` (trained with
            ``cue="class"``: the Clever Hans model) or ``"random_labels"``.

    Example:
        >>> model = load_shapes_cnn()
        >>> accuracy(model, *(lambda d: (d.images, d.labels))(make_shapes(300, seed=99))) > 0.9
        True
    """
    path = DATA_DIR / f"shapes_cnn_{variant}.pt"
    if not path.exists():
        raise FileNotFoundError(f"No weights at {path}; variants: clean, spurious, random_labels. "
                                "Rebuild them with `python data/make_shapes_models.py`.")
    model = shapes_cnn()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.xai_spec = SHAPES_SPEC
    return model.eval()


def shapes_accuracy(model: nn.Module, data: Shapes) -> float:
    """Fraction of ``data`` the model classifies correctly."""
    return accuracy(model, data.images, data.labels)


