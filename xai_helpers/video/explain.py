"""Explain every frame of a video with a CAM method and write the labelled result.

The pipeline overlaps three jobs: decoding the next batch of frames (a thread), the model on
the current batch (the main thread), and drawing + encoding the previous batch (a thread).
Frames are squashed to the model's 224×224 input (not centre-cropped, so the map covers the
whole frame), explained in batches, optionally smoothed over time, coloured, labelled and
streamed into an H.264 mp4.

The command line (``python -m xai_helpers.video``) is in ``__main__.py``.

Taught in ``notebooks/08_video_and_webcam_cam.ipynb``.
"""
from __future__ import annotations

import copy
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import cv2
import matplotlib
import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..cam.base import normalise_maps
from ..core.batching import best_batch_size
from ..core.config import device_of, language
from ..core.layers import LayerRef
from ..core.models import load_model, model_spec
from ..core.targets import check_class_id
from ..core.viz import draw_label_band, label_band
from ..registry import METHODS, method_named
from .files import VideoWriter, read_frames, video_info

__all__ = ["FRAME_METHODS", "CamSmoother", "FrameExplainer", "FrameExplanation", "render_frame",
           "LabelPainter", "label_font_size", "VideoResult", "explain_video", "stage_seconds"]


#: The methods cheap enough for every frame: the CAM family but Score-CAM (one forward pass
#: per channel), derived from the registry's ``per_frame`` flag.
FRAME_METHODS: tuple[str, ...] = tuple(name for name, method in METHODS.items()
                                       if method.per_frame and method.cam_class is not None)


class CamSmoother:
    """Exponential moving average of maps over time: :math:`S_t = w\\,M_t + (1-w)\\,S_{t-1}`.

    Args:
        weight: Weight of the newest frame, in (0, 1]; 1 switches smoothing off, 0.3 averages
            over roughly the last 1 / 0.3 ≈ 3 frames. Smoothing removes flicker (the map
            jumping between frames that look the same) at the cost of a little lag.

    Example:
        >>> smooth = CamSmoother(0.5)
        >>> first, second = smooth(torch.ones(1, 2, 2)), smooth(torch.zeros(1, 2, 2))
        >>> first[0, 0, 0].item(), second[0, 0, 0].item()
        (1.0, 0.5)
    """

    def __init__(self, weight: float = 1.0):
        if not 0.0 < weight <= 1.0:
            raise ValueError(f"The smoothing weight must be in (0, 1] (1 = off), got {weight}.")
        self.weight = weight
        self.state: torch.Tensor | None = None

    def __call__(self, maps: torch.Tensor) -> torch.Tensor:
        """Smooth a batch of consecutive frames' maps (N, h, w), in order."""
        out = torch.empty_like(maps)
        for i, current in enumerate(maps):
            if self.state is None or self.weight == 1.0:
                self.state = current
            else:
                self.state = self.weight * current + (1.0 - self.weight) * self.state
            out[i] = self.state
        return out


@dataclass
class FrameExplanation:
    """One batch of frames explained: maps at the layer's resolution, in [0, 1]."""

    maps: torch.Tensor            # (N, h, w)
    predicted: torch.Tensor       # (N,) top-1 class ids
    probability: torch.Tensor     # (N,) their softmax probabilities
    shown: torch.Tensor           # (N,) the class each map explains


def _shrink(frame: np.ndarray, side: int) -> np.ndarray:
    """Resize a frame to side × side with area averaging (no aliasing). Large frames are first
    halved — averaging 2×2 blocks, which *is* area averaging — while at least twice the target:
    the same picture (mean difference 0.2 grey levels on the bundled clip) in 1.5 ms instead of
    4 ms for a 1280×720 frame."""
    while min(frame.shape[:2]) >= 2 * side:
        frame = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2),
                           interpolation=cv2.INTER_LINEAR)
    return cv2.resize(frame, (side, side), interpolation=cv2.INTER_AREA)


class FrameExplainer:
    """Explain RGB video frames in batches with a CAM method.

    Args:
        model: A classifier from :func:`load_model`. It is copied once into the
            ``channels_last`` layout (faster convolutions on CPUs); yours is not changed.
        method: A CAM method fast enough for every frame (:data:`FRAME_METHODS`), case and
            dashes optional (``"gradcam"``).
        target: ``None`` explains each frame's own top class; an id explains that class in
            every frame ("why cockatoo, frame by frame?").
        layer: CAM layer (default: the model's ``xai_spec.cam_layer``).
        smoothing: New-frame weight of :class:`CamSmoother` (1 = off); smoothed maps are
            min-max normalised again, like unsmoothed ones.

    Example:
        >>> explain = FrameExplainer(load_model(), "gradcam", target=89)
        >>> out = explain([next(read_frames(SAMPLE_VIDEO))])
        >>> out.maps.shape, int(out.shown[0])
        (torch.Size([1, 7, 7]), 89)
    """

    def __init__(self, model: nn.Module, method: str = "Grad-CAM", *, target: int | None = None,
                 layer: LayerRef | None = None, smoothing: float = 1.0):
        self.spec = model_spec(model)
        chosen = method_named(method)
        if chosen.name not in FRAME_METHODS:
            raise ValueError(f"{chosen.name} is too slow, or not a CAM method, to run on every "
                             f"video frame. Use one of: {', '.join(FRAME_METHODS)}.")
        self.method_class = chosen.cam_class
        if target is not None:
            check_class_id(target)
        self.target = target
        fast = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)
        self.cam = self.method_class(fast, layer)
        self.smoother = CamSmoother(smoothing)
        self.device = device_of(model)
        prep = self.spec.preprocessing
        self._mean = torch.tensor(prep.mean).view(1, 3, 1, 1)
        self._std = torch.tensor(prep.std).view(1, 3, 1, 1)

    @property
    def method_name(self) -> str:
        return self.method_class.display_name

    def batch(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        """Frames (RGB uint8) → the model's normalised input, squashed to crop × crop."""
        side = self.spec.preprocessing.crop
        small = np.stack([_shrink(f, side) for f in frames])
        x = torch.from_numpy(small).permute(0, 3, 1, 2).float().div_(255.0)
        x = (x - self._mean) / self._std
        return x.to(self.device).contiguous(memory_format=torch.channels_last)

    def __call__(self, frames: Sequence[np.ndarray]) -> FrameExplanation:
        """Explain a list of consecutive RGB frames."""
        return self.explain(self.batch(frames))

    def explain(self, x: torch.Tensor) -> FrameExplanation:
        """Explain a batch already made by :meth:`batch` (the pipeline makes it while the
        model works on the previous one)."""
        if self.cam.uses_gradients:
            maps = self.cam(x, self.target, size=None)
        else:
            with torch.inference_mode():           # about 20% faster than no_grad here
                maps = self.cam(x, self.target, size=None)
        probabilities = self.cam.logits.softmax(dim=1)
        probability, predicted = probabilities.max(dim=1)
        maps = self.smoother(maps.detach().float().cpu())
        if self.smoother.weight < 1.0:
            maps = normalise_maps(maps)    # an average of maps is flatter: stretch it to [0, 1]
        return FrameExplanation(maps, predicted.cpu(), probability.cpu(), self.cam.classes.cpu())


#: Label text height as a fraction of the frame height: 40 px on a 720-pixel frame, so the
#: text stays legible when a frame is shown 2 to a row in a notebook (about 0.5× its size).
LABEL_FONT_FRACTION = 1 / 18


def label_font_size(frame_height: int) -> int:
    """The font size (pixels) of the label band on a frame ``frame_height`` pixels high.

    Example:
        >>> label_font_size(720), label_font_size(120)
        (40, 14)
    """
    return max(14, round(frame_height * LABEL_FONT_FRACTION))


class LabelPainter:
    """Draws "Pred Class / Show Class" bands on frames, rendering each distinct text once.

    The text is :func:`label_font_size` high (a fixed fraction of the frame height), or smaller
    where a long class name would not fit the width.
    """

    def __init__(self, lang: str | None = None):
        self.lang = language(lang)
        self._bands: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, frame: np.ndarray, predicted: int, shown: int,
                 probability: float) -> np.ndarray:
        key = (frame.shape[1], frame.shape[0], predicted, shown, round(probability, 2))
        if key not in self._bands:
            self._bands[key] = label_band(frame.shape[1], predicted, shown, round(probability, 2),
                                          self.lang,
                                          font_size=label_font_size(frame.shape[0]))
        return draw_label_band(frame, *self._bands[key])


def _colour_table(name: str) -> np.ndarray:
    """A matplotlib colour map as an OpenCV lookup table: (256, 1, 3) uint8, RGB order."""
    colours = matplotlib.colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3]
    return np.round(colours * 255.0).astype(np.uint8)[:, None, :]


_COLOUR_TABLES: dict[str, np.ndarray] = {}


def render_frame(frame: np.ndarray, cam: torch.Tensor | np.ndarray, alpha: float = 0.5,
                 cmap: str = "jet") -> np.ndarray:
    """Overlay a map (h, w) in [0, 1] on an RGB uint8 frame, fast enough for video.

    The same picture as :func:`xai_helpers.viz.overlay_heatmap`, in 8-bit integers: the map is
    quantised to 256 levels, resized to the frame bilinearly *before* colouring (colouring
    first and resizing the colours would blend hues that are not on the colour map), then
    looked up in the colour map (RGB, from matplotlib, so the colours match the notebooks').

    Example:
        >>> out = render_frame(np.zeros((4, 6, 3), np.uint8), np.ones((2, 2)), alpha=1.0)
        >>> out[0, 0].tolist()          # the top of "jet": dark red
        [128, 0, 0]
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}.")
    if cmap not in _COLOUR_TABLES:
        _COLOUR_TABLES[cmap] = _colour_table(cmap)
    cam = cam.numpy() if isinstance(cam, torch.Tensor) else np.asarray(cam, np.float32)
    levels = np.uint8(np.clip(cam, 0.0, 1.0) * 255.0 + 0.5)
    height, width = frame.shape[:2]
    big = cv2.resize(levels, (width, height), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap(big, _COLOUR_TABLES[cmap])
    return cv2.addWeighted(frame, 1.0 - alpha, colour, alpha, 0.0)


@dataclass
class VideoResult:
    """What :func:`explain_video` did: the file, frames written, seconds and frames/s."""

    path: Path
    frames: int
    seconds: float
    classes: dict[int, int]       # predicted class id -> number of frames

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def _batches(frames: Iterator[np.ndarray], size: int,
             explainer: FrameExplainer) -> Iterable[tuple[list[np.ndarray], torch.Tensor]]:
    while batch := list(islice(frames, size)):
        yield batch, explainer.batch(batch)


def explain_video(source: str | Path, output: str | Path, model: nn.Module | None = None, *,
                  method: str = "Grad-CAM", target: int | None = None, lang: str | None = None,
                  smoothing: float = 1.0, alpha: float = 0.5, batch_size: int | None = None,
                  max_frames: int | None = None, overwrite: bool = False,
                  progress: bool = True, preset: str = "ultrafast") -> VideoResult:
    """Explain every frame of ``source`` and stream the labelled overlays into ``output``.

    Args:
        source: Input video.
        output: Output ``.mp4``; same size and frame rate as the input. Written under a
            temporary name and renamed at the end: an interrupted run leaves no file.
        model: Classifier (default: ``load_model()``, EfficientNet-Lite0).
        method, target, smoothing: See :class:`FrameExplainer`.
        lang: Label language, ``"en"`` or ``"zh"``.
        alpha: Heatmap opacity.
        batch_size: Frames per model call (``None``: the size measured fastest for this model
            on this machine, :func:`~xai_helpers.best_batch_size`).
        max_frames: Stop after this many frames (``None``: the whole video).
        overwrite: Replace an existing ``output`` (otherwise ``FileExistsError``, raised before
            any work).
        progress: Show a progress bar.
        preset: x264 preset (see :class:`VideoWriter`).

    Returns:
        A :class:`VideoResult` with the frame count, the time taken and frames/s.

    Example:
        >>> result = explain_video(SAMPLE_VIDEO, "cam.mp4", max_frames=40)  # doctest: +SKIP
        >>> print(f"{result.frames} frames at {result.fps:.1f} frames/s")   # doctest: +SKIP
    """
    info = video_info(source)
    model = load_model() if model is None else model
    explainer = FrameExplainer(model, method, target=target, smoothing=smoothing)
    paint = LabelPainter(lang)
    total = info.frame_count if max_frames is None else min(max_frames, info.frame_count)
    frames = iter(read_frames(source, stop=max_frames))
    classes: dict[int, int] = {}

    def draw_and_write(writer, batch, explained, bar):
        for i, frame in enumerate(batch):
            picture = render_frame(frame, explained.maps[i], alpha)
            predicted = int(explained.predicted[i])
            paint(picture, predicted, int(explained.shown[i]), float(explained.probability[i]))
            writer.write(picture)
            classes[predicted] = classes.get(predicted, 0) + 1
        bar.update(len(batch))

    start = time.perf_counter()
    with VideoWriter(output, info.fps, overwrite=overwrite, preset=preset) as writer, \
            tqdm(total=total, unit="frame", disable=not progress,
                 desc=f"{explainer.method_name} → {Path(output).name}") as bar, \
            ThreadPoolExecutor(1, thread_name_prefix="decode") as decoder, \
            ThreadPoolExecutor(1, thread_name_prefix="encode") as encoder:
        first = next(frames, None)                   # timed by the batch-size probe
        frames = chain([first], frames) if first is not None else frames
        crop = explainer.spec.preprocessing.crop
        size = batch_size or best_batch_size(
            model, (3, crop, crop), example=None if first is None else explainer.batch([first]))
        batches = iter(_batches(frames, size, explainer))
        upcoming = decoder.submit(next, batches, None)
        writing = None
        while (item := upcoming.result()) is not None:
            batch, x = item
            upcoming = decoder.submit(next, batches, None)      # decode + resize ahead ...
            explained = explainer.explain(x)                     # ... while the model runs
            if writing is not None:
                writing.result()                                 # errors surface here
            writing = encoder.submit(draw_and_write, writer, batch, explained, bar)
        if writing is not None:
            writing.result()
    return VideoResult(Path(output), writer.frames_written, time.perf_counter() - start, classes)


def _per_frame(work, count: int) -> float:
    start = time.perf_counter()
    work()
    return (time.perf_counter() - start) / count


def stage_seconds(model: nn.Module, frames: Sequence[np.ndarray],
                  methods: Sequence[str] = ("CAM", "Grad-CAM"),
                  batch_size: int | None = None) -> dict[str, float]:
    """Where the video pipeline's time goes: each stage run alone, in seconds per frame.

    Each stage first runs untimed on one batch (warm-up: first calls allocate memory and pick
    kernels), then once, timed, over all ``frames``. Stages: ``"squash"`` (resize to the model's
    input and normalise), one entry per method (the model and the map, on the threads PyTorch
    uses), ``"draw"`` (colour the map, blend it, draw the label band) and ``"encode"`` (H.264,
    x264 ``ultrafast``). Decoding is timed by the caller (it needs the file).

    Example:
        >>> frames = list(read_frames(SAMPLE_VIDEO, stop=8))                  # doctest: +SKIP
        >>> stage_seconds(load_model(), frames)["Grad-CAM"] < 1               # doctest: +SKIP
        True
    """
    import tempfile

    frames = list(frames)
    if not frames:
        raise ValueError("stage_seconds needs at least one frame.")
    explainers = {name: FrameExplainer(model, name) for name in methods}
    first = next(iter(explainers.values()))
    size = batch_size or best_batch_size(model, (3, first.spec.preprocessing.crop,
                                                 first.spec.preprocessing.crop),
                                         example=first.batch(frames[:1]))
    chunks = [frames[i:i + size] for i in range(0, len(frames), size)]
    seconds: dict[str, float] = {}

    def squash(chunks=chunks):
        return [first.batch(chunk) for chunk in chunks]

    squash(chunks[:1])                                   # warm-up: one batch
    seconds["squash"] = _per_frame(squash, len(frames))
    inputs = squash()
    for name, explainer in explainers.items():
        def run(inputs=inputs, explainer=explainer):
            return [explainer.explain(x) for x in inputs]
        run(inputs[:1])
        seconds[name] = _per_frame(run, len(frames))
    explained = first.explain(inputs[0])
    paint = LabelPainter("en")

    def draw(frames=frames):
        return [paint(render_frame(frame, explained.maps[0]), int(explained.predicted[0]),
                      int(explained.shown[0]), float(explained.probability[0]))
                for frame in frames]

    draw(frames[:1])
    seconds["draw"] = _per_frame(draw, len(frames))
    pictures = draw()
    with tempfile.TemporaryDirectory() as folder:
        def encode(pictures=pictures):
            with VideoWriter(Path(folder) / "stages.mp4", 20, overwrite=True) as writer:
                for picture in pictures:
                    writer.write(picture)
        encode(pictures[:size])
        seconds["encode"] = _per_frame(encode, len(frames))
    return seconds
