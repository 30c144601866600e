"""Pictures: heatmap overlays, labelled images and side-by-side comparisons.

All helpers take a picture as a ``PIL.Image``, a NumPy (H, W, 3) array or a (3, H, W) tensor
with values in [0, 1], and a map (CAM or attribution) as an (H, W) tensor or array. Plotting
helpers take an optional ``ax=`` and return ``(fig, axes)``. Colours are RGB throughout.

Taught in ``notebooks/00_setup_and_tour.ipynb``.
"""
from __future__ import annotations

import warnings
from typing import Mapping, Union

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import pyplot as plt
from PIL import Image, ImageDraw

from .fonts import pil_font, resolve_lang, use_cjk_font
from .labels import imagenet_label

__all__ = ["Picture", "Map", "MAP_STYLES", "SCALES", "to_rgb_array", "overlay_heatmap",
           "label_image", "label_band", "draw_label_band", "show_image", "show_heatmap",
           "map_limits", "compare_maps"]

_LABEL_PREFIX = {"en": ("Pred Class", "Show Class"), "zh": ("预测类别", "显示类别")}

#: A picture to draw on: a ``PIL.Image``, a NumPy (H, W, 3) array (uint8, or float in [0, 1]),
#: or a torch (3, H, W) float tensor in [0, 1].
Picture = Union[Image.Image, np.ndarray, torch.Tensor]
#: A map to draw: an (H, W) tensor or array.
Map = Union[torch.Tensor, np.ndarray]


def to_rgb_array(image: Picture) -> np.ndarray:
    """Any picture as a float32 (H, W, 3) NumPy array in [0, 1].

    Args:
        image: ``PIL.Image``; NumPy (H, W, 3) uint8 or float in [0, 1]; or torch (3, H, W)
            float in [0, 1] (undo normalisation first with ``spec.preprocessing.inverse``).

    Example:
        >>> to_rgb_array(torch.ones(3, 2, 2)).shape
        (2, 2, 3)
    """
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    if isinstance(image, torch.Tensor):
        if image.ndim == 4 and image.shape[0] == 1:
            image = image[0]
        if image.ndim != 3 or image.shape[0] != 3:
            raise ValueError(f"Expected a (3, H, W) image tensor, got {tuple(image.shape)}.")
        image = image.detach().float().cpu().movedim(0, -1).numpy()
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"Expected an (H, W, 3) RGB picture, got shape {array.shape}.")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    array = array.astype(np.float32)
    if array.min() < -1e-3 or array.max() > 1 + 1e-3:
        raise ValueError(
            f"Picture values lie in [{array.min():.2f}, {array.max():.2f}], not [0, 1]. "
            "If it is a normalised model input, undo that first: "
            "model.xai_spec.preprocessing.inverse(x)."
        )
    return array.clip(0.0, 1.0)


def _to_map(cam) -> np.ndarray:
    if isinstance(cam, torch.Tensor):
        cam = cam.detach().float().cpu().numpy()
    cam = np.asarray(cam, dtype=np.float32)
    cam = cam.squeeze()
    if cam.ndim != 2:
        raise ValueError(f"A heatmap must be 2-D (H, W); got shape {cam.shape}. "
                         "For a batch, pass one map at a time: cam[0].")
    return cam


def _resize_map(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if cam.shape == size:
        return cam
    t = torch.from_numpy(cam)[None, None]
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)[0, 0].numpy()


def overlay_heatmap(image: Picture, cam: Map, alpha: float = 0.5, cmap: str = "jet",
                    vmin: float | None = 0.0, vmax: float | None = 1.0) -> np.ndarray:
    """Blend a colour-mapped heatmap over a picture: ``(1 - alpha) * image + alpha * colour``.

    Args:
        image: The picture (see :func:`to_rgb_array`).
        cam: (H', W') map; resized bilinearly to the picture's size if it differs.
        alpha: Weight of the heatmap, 0 (picture only) to 1 (heatmap only).
        cmap: A matplotlib colour map name.
        vmin, vmax: Map values shown as the colour map's ends; ``None`` uses the map's own
            min / max (per-image normalisation).

    Returns:
        A float32 (H, W, 3) RGB array in [0, 1].

    Example:
        >>> out = overlay_heatmap(np.zeros((4, 4, 3)), np.ones((2, 2)), alpha=1.0)
        >>> out[0, 0].round(2).tolist()     # the top colour of "jet": dark red
        [0.5, 0.0, 0.0]
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}.")
    picture = to_rgb_array(image)
    heat = _resize_map(_to_map(cam), picture.shape[:2])
    low = float(heat.min()) if vmin is None else vmin
    high = float(heat.max()) if vmax is None else vmax
    scaled = np.clip((heat - low) / max(high - low, 1e-12), 0.0, 1.0)
    colour = matplotlib.colormaps[cmap](scaled)[..., :3].astype(np.float32)
    return (1.0 - alpha) * picture + alpha * colour


def label_image(image: Picture, pred_class: int, show_class: int | None = None,
                probability: float | None = None, lang: str | None = None) -> Image.Image:
    """Write "Pred Class / Show Class" names on a picture, in English or Chinese.

    The predicted class is what the model says; the shown class is the one a heatmap
    explains (they differ when you ask "why not class B?").

    Args:
        image: The picture (see :func:`to_rgb_array`).
        pred_class: ImageNet id of the predicted class.
        show_class: ImageNet id of the explained class (default: same as ``pred_class``).
        probability: The predicted class's probability, shown in brackets.
        lang: ``"en"`` or ``"zh"``; ``None`` (default) uses the workbook's language
            (:func:`~xai_helpers.set_language`).

    Returns:
        A new RGB ``PIL.Image`` with a dark band and white text at the top.

    Example:
        >>> labelled = label_image(np.zeros((224, 224, 3)), 281, 282, 0.6, lang="zh")
        >>> labelled.size
        (224, 224)
    """
    picture = np.round(to_rgb_array(image) * 255).astype(np.uint8)
    colour, opacity = label_band(picture.shape[1], pred_class, show_class, probability, lang,
                                 font_size=max(12, picture.shape[0] // 16))
    return Image.fromarray(draw_label_band(picture, colour, opacity))


def label_band(width: int, pred_class: int, show_class: int | None = None,
               probability: float | None = None, lang: str | None = None,
               font_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """The label band on its own: white text on a half-transparent dark strip.

    Rendered once and blended onto many frames by :func:`draw_label_band` (the video
    pipeline draws the same two lines on hundreds of frames).

    Args:
        width: Width of the picture it goes on, in pixels.
        pred_class, show_class, probability, lang: As in :func:`label_image`.
        font_size: The largest font size to try; smaller ones are used until both lines fit.

    Returns:
        ``(colour, opacity)``: uint8 (h, width, 3) and float32 (h, width, 1) in [0, 1].

    Example:
        >>> colour, opacity = label_band(640, 89, lang="zh", font_size=32)
        >>> colour.shape[1], colour.dtype.name
        (640, 'uint8')
    """
    lang = resolve_lang(lang)
    show_class = pred_class if show_class is None else show_class
    pred_name, show_name = _LABEL_PREFIX[lang]
    sep = "：" if lang == "zh" else ": "
    first = f"{pred_name}{sep}{imagenet_label(pred_class, lang)}"
    if probability is not None:
        first += f" ({probability:.0%})"
    lines = [first, f"{show_name}{sep}{imagenet_label(show_class, lang)}"]
    font = _font_that_fits(lines, width - 8, start=font_size)
    line_height = int(font.size * 1.35)
    band = Image.new("RGBA", (width, line_height * len(lines) + 4), (0, 0, 0, 150))
    draw = ImageDraw.Draw(band)
    for row, text in enumerate(lines):
        draw.text((4, 2 + row * line_height), text, font=font, fill=(255, 255, 255, 255))
    rgba = np.asarray(band)
    return rgba[..., :3].copy(), rgba[..., 3:].astype(np.float32) / 255.0


def draw_label_band(picture: np.ndarray, colour: np.ndarray, opacity: np.ndarray) -> np.ndarray:
    """Blend a band from :func:`label_band` onto the top of a uint8 (H, W, 3) picture, in place.

    Returns the picture. A band taller than the picture is cut off.
    """
    height = min(colour.shape[0], picture.shape[0])
    top = picture[:height].astype(np.float32)
    blended = top + (colour[:height].astype(np.float32) - top) * opacity[:height]
    picture[:height] = np.round(blended).astype(np.uint8)
    return picture


def _font_that_fits(lines: list[str], width: int, start: int, smallest: int = 8):
    """The largest font size from ``start`` down whose every line fits in ``width`` pixels."""
    size = start
    while size > smallest and max(pil_font(size).getlength(t) for t in lines) > width:
        size -= 1
    return pil_font(size)


def _axes(ax, figsize=(4, 4)):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    return ax.figure, ax


def show_image(image: Picture, ax=None, title: str | None = None):
    """Show a picture without axes ticks. Returns ``(fig, ax)``."""
    use_cjk_font()
    fig, ax = _axes(ax)
    ax.imshow(to_rgb_array(image))
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig, ax


def show_heatmap(image: Picture, cam: Map, ax=None, title: str | None = None, alpha: float = 0.5,
                 cmap: str = "jet", vmin: float | None = 0.0, vmax: float | None = 1.0,
                 colorbar: bool = False, colorbar_label: str | None = None):
    """Show a heatmap over a picture (see :func:`overlay_heatmap`). Returns ``(fig, ax)``.

    ``colorbar=True`` adds a colour bar for ``[vmin, vmax]``, labelled ``colorbar_label``.
    """
    use_cjk_font()
    fig, ax = _axes(ax)
    ax.imshow(overlay_heatmap(image, cam, alpha, cmap, vmin, vmax))
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    if colorbar:
        heat = _to_map(cam)
        norm = matplotlib.colors.Normalize(float(heat.min()) if vmin is None else vmin,
                                           float(heat.max()) if vmax is None else vmax)
        fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.046,
                     label=colorbar_label)
    return fig, ax


#: One colour map per kind of map, in every notebook (the visualisation policy, notebook 00):
#: ``"cam"`` — coarse maps of positive evidence (CAM family, occlusion drops, LIME's positive
#: superpixels): ``jet``; ``"pixels"`` — pixel attributions (saliency, SmoothGrad, IG, LRP
#: magnitudes): ``inferno`` on a grey copy of the photo, clipped at a stated quantile so that a
#: few extreme pixels do not make the rest invisible; ``"signed"`` — maps with positive and
#: negative evidence: the diverging ``RdBu_r`` centred on zero, with a colour bar.
MAP_STYLES = {
    "cam": {"cmap": "jet", "alpha": 0.5},
    "pixels": {"cmap": "inferno", "alpha": 0.75},
    "signed": {"cmap": "RdBu_r", "alpha": 0.75},
}

#: How the maps of one figure are scaled to colours.
SCALES = {
    "each": "each map stretched to its own range: compare where, not how strong",
    "shared": "one colour scale for every map: compare strength too",
}


def map_limits(maps: Mapping[str, Map] | Map, kind: str = "cam", scale: str = "shared",
               quantile: float | None = None) -> dict:
    """The colour limits ``{title: (vmin, vmax)}`` the policy gives each map of a figure.

    - ``scale="each"``: each map's own range (or its own quantile for pixel maps);
    - ``scale="shared"``: one range for all maps, from the raw values (pass unnormalised maps:
      maps normalised one by one all span [0, 1], and a shared scale over them says nothing);
    - ``kind="signed"``: symmetric around zero, ``[-m, m]``;
    - ``quantile`` (default 0.99 for ``"pixels"`` and ``"signed"``): values above it are shown
      at the top colour.

    Example:
        >>> map_limits({"a": np.eye(4), "b": 2 * np.eye(4)})["a"]
        (0.0, 2.0)
    """
    if kind not in MAP_STYLES:
        raise ValueError(f"kind must be one of {list(MAP_STYLES)}, not {kind!r}.")
    if scale not in SCALES:
        raise ValueError(f"scale must be 'each' or 'shared', not {scale!r}.")
    if not isinstance(maps, Mapping):
        maps = {"": maps}
    if quantile is None:
        quantile = 0.99 if kind in ("pixels", "signed") else 1.0
    arrays = {title: _to_map(m) for title, m in maps.items()}

    def top(values: np.ndarray) -> float:
        values = np.abs(values) if kind == "signed" else values
        return float(np.quantile(values, quantile)) if quantile < 1 else float(values.max())

    def limits(values: np.ndarray) -> tuple[float, float]:
        high = max(top(values), 1e-12)
        if kind == "signed":
            return -high, high
        low = 0.0 if float(values.min()) >= 0 else float(values.min())
        return low, max(high, low + 1e-12)

    if scale == "each":
        return {title: limits(values) for title, values in arrays.items()}
    every = np.concatenate([values.ravel() for values in arrays.values()])
    shared = limits(every)
    return {title: shared for title in arrays}


def _normalised_one_by_one(arrays: dict[str, np.ndarray]) -> bool:
    return len(arrays) > 1 and all(abs(float(a.max()) - 1.0) < 1e-6 and abs(float(a.min())) < 1e-6
                                   for a in arrays.values())


def compare_maps(image: Picture, maps: Mapping[str, Map], normalise: str | None = None, *,
                 scale: str | None = None, kind: str = "cam", quantile: float | None = None,
                 alpha: float | None = None, cmap: str | None = None, ncols: int = 4,
                 size: float = 3.0, units: str | None = None):
    """Show the picture and several maps side by side, following the visualisation policy.

    Args:
        image: The picture.
        maps: ``{title: (H, W) map}``, e.g. one entry per method or per class.
        scale: ``"shared"`` (default) — one colour scale computed from the maps as given, with
            a colour bar: colours mean the same in every panel, so strengths can be compared
            (give *raw* maps, e.g. ``xh.CAM(model)(x, c, normalise=False)``); ``"each"`` —
            every map stretched to its own range (right when only *where* matters; the figure
            says so). ``normalise`` is the older name of ``scale``.
        kind: ``"cam"``, ``"pixels"`` or ``"signed"`` (see :data:`MAP_STYLES`): the colour map,
            the overlay opacity, the quantile clipping and, for signed maps, a scale centred on
            zero.
        quantile: Clip colours at this quantile (default 0.99 for pixel and signed maps); the
            figure's title says so, next to the scale (stated when there are several maps).
        alpha, cmap: Override the kind's opacity and colour map.
        ncols: Panels per row.
        size: Panel size in inches.
        units: What the values are, for the colour bar's label (e.g. ``"logit contribution"``).

    Returns:
        ``(fig, axes)`` with ``axes`` a flat array; ``axes[0]`` shows the picture. The figure's
        ``limits`` attribute holds ``{title: (vmin, vmax)}`` as drawn.

    Example:
        >>> fig, axes = compare_maps(np.zeros((8, 8, 3)), {"a": np.eye(8), "b": np.eye(8) / 2})
        >>> fig.limits["b"]
        (0.0, 1.0)
    """
    if normalise is not None and scale is not None and normalise != scale:
        raise ValueError("Give the scale once: scale='shared' or scale='each'.")
    scale = scale or normalise or "shared"
    if not maps:
        raise ValueError("maps is empty: pass at least one {title: heatmap}.")
    use_cjk_font()
    arrays = {title: _to_map(cam) for title, cam in maps.items()}
    if scale == "shared" and _normalised_one_by_one(arrays):
        warnings.warn("Every map spans exactly [0, 1]: they were normalised one by one, so a "
                      "shared scale cannot show which is stronger. Pass raw maps (e.g. "
                      "normalise=False) or say scale='each'.", stacklevel=2)
    limits = map_limits(arrays, kind, scale, quantile)
    style = MAP_STYLES[kind]
    cmap = cmap or style["cmap"]
    alpha = style["alpha"] if alpha is None else alpha
    panels = 1 + len(arrays)
    ncols = min(ncols, panels)
    nrows = -(-panels // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.4),
                             squeeze=False, layout="constrained")
    axes = axes.ravel()
    show_image(image, ax=axes[0], title="input")
    backdrop = image if kind == "cam" else _grey(image)
    for ax, (title, cam) in zip(axes[1:], arrays.items()):
        vmin, vmax = limits[title]
        show_heatmap(backdrop, cam, ax=ax, title=title, alpha=alpha, cmap=cmap, vmin=vmin,
                     vmax=vmax, colorbar=scale == "each" and kind == "signed",
                     colorbar_label=units)
    for ax in axes[panels:]:
        ax.set_axis_off()
    if scale == "shared":
        vmin, vmax = next(iter(limits.values()))
        fig.colorbar(matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(vmin, vmax),
                                                  cmap=cmap), ax=list(axes[:panels]),
                     fraction=0.02, label=units or "value")
    # The title states the scale (when there is more than one map to scale) and the clipping.
    q = quantile if quantile is not None else (0.99 if kind in ("pixels", "signed") else 1.0)
    heading = [SCALES[scale]] if len(arrays) > 1 else []
    if q < 1:
        heading.append(f"colours clipped at the {q * 100:g}% quantile")
    if heading:
        fig.suptitle(" — ".join(heading), fontsize=9)
    fig.limits = limits
    return fig, axes


def _grey(image: Picture) -> np.ndarray:
    """A light grey copy of the picture: the backdrop for pixel attributions, whose colours
    must not mix with the photo's."""
    gray = to_rgb_array(image).mean(axis=-1, keepdims=True)
    return np.repeat(0.35 + 0.5 * gray, 3, axis=-1)
