"""How many images to put through the model at once: measured on this machine, not assumed.

Perturbation methods (occlusion, LIME, Score-CAM) run hundreds of forward passes; Integrated
Gradients and the video pipeline run many too. Batching them usually pays — but not always: on
one 2-core CPU EfficientNet-Lite0 costs 34 ms per image at batch 1 and 42 ms per image at batch
8, on another batch 8 is the fastest. So the batch size is *measured*, once per model, device
and image size, on first use: the per-image time of a forward pass at batch 1, 2, 4, 8, 16
(stopping early once larger batches stop paying), each size three times, on the fast copy
the methods run (:func:`~xai_helpers.core.models.inference_copy`), which took 0.9–1.8 s on a
2-core CPU for EfficientNet-Lite0 (``python -m benchmarks cam`` prints it). Sizes
within 5 % of the fastest count as equally fast and the smallest of them is used. The result
is kept in memory and on disk, in the user cache folder
(``~/.cache/xai-workbook/batch_sizes.json`` on Linux; the environment variable
``XAI_CACHE_DIR`` moves it, ``XAI_CACHE_DIR=off`` turns it off), so a fresh kernel on the same
machine starts with the size already known (read in a few ms). A stored size is measured again
after :data:`MAX_AGE_HOURS`: a probe that ran during a burst of other work on the machine can
pick a size that is not the fastest a minute later, and should not be kept for ever.
:func:`set_batch_size` pins your own choice (or, with ``None``, forgets the measured one), and
every method also takes a ``batch_size=`` argument.

The probe times copies of the image the method explains (the methods pass it as
``example=``), so it measures the input size, dtype and device the method runs with; without
an example, smooth random noise. (A forward pass's time does not depend on the pixel values:
a photograph, a Score-CAM-masked photograph, the photograph × 0.01 and zeros all took 9.6–9.8
ms per image at batch 4 in one run here. What does move the times is the machine itself — on a
shared 2-core CPU the same pass took 10 to 25 ms per image within an hour — which is why each
size is timed three times, the last time interleaved with the others.)

Seen at work in ``notebooks/08_video_and_webcam_cam.ipynb`` (the video pipeline's batches).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import time
import weakref
from pathlib import Path

import platformdirs
import torch
from torch import nn

from .config import device_of
from .models import inference_copy

__all__ = ["CANDIDATES", "MAX_AGE_HOURS", "TOLERANCE", "best_batch_size", "batch_timings",
           "cache_file", "choose_batch_size", "set_batch_size"]

#: The batch sizes tried, smallest first.
CANDIDATES = (1, 2, 4, 8, 16)

_MEASURED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # model -> {key: (size, ..)}
_PINNED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()     # model -> size


def _key(model: nn.Module, shape: tuple[int, ...]) -> tuple:
    return (str(device_of(model)), tuple(shape))


def cache_file() -> Path | None:
    """Where measured batch sizes are kept between sessions (``None``: not kept), from
    ``XAI_CACHE_DIR`` or else the user cache folder.

    Example:
        >>> cache_file()                             # doctest: +SKIP
        PosixPath('/home/me/.cache/xai-workbook/batch_sizes.json')
    """
    folder = os.environ.get("XAI_CACHE_DIR", "").strip()
    if folder.lower() == "off":
        return None
    return Path(folder or platformdirs.user_cache_dir("xai-workbook")) / "batch_sizes.json"


def _model_key(model: nn.Module) -> str:
    """The architecture (layer types, parameter shapes — not their values): what the speed
    depends on, and the start of every cache key of this model."""
    architecture = repr([(name, type(m).__name__) for name, m in model.named_modules()]
                        + [(name, tuple(p.shape)) for name, p in model.named_parameters()])
    return f"{type(model).__name__} {hashlib.sha256(architecture.encode()).hexdigest()[:16]}|"


def _disk_key(model: nn.Module, shape: tuple[int, ...]) -> str:
    """The model, input shape and dtype, device, machine, threads and torch version."""
    device = device_of(model)
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus "
                  f"{torch.get_num_threads()} threads")
    return _model_key(model) + "|".join(["x".join(map(str, shape)), str(dtype), where,
                                         f"torch {torch.__version__}"])


#: Hours a batch size measured in an earlier session is used before it is measured again.
MAX_AGE_HOURS = 24


def _fresh_size(entry) -> int | None:
    """The size in a cache entry ``[size, unix time measured]``, if well formed and younger
    than :data:`MAX_AGE_HOURS`."""
    if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int)
            and isinstance(entry[1], (int, float)) and entry[0] >= 1):
        return None
    age_hours = (time.time() - entry[1]) / 3600
    return entry[0] if 0 <= age_hours < MAX_AGE_HOURS else None


def _read_cache() -> dict:
    path = cache_file()
    try:
        stored = json.loads(path.read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):            # missing, unreadable or damaged: measure again
        return {}
    return stored if isinstance(stored, dict) else {}


def _write_cache(entries: dict) -> None:
    """Replace the cache file in one step (a temporary file renamed), so a reader never sees
    half of it; a folder that cannot be written is not an error, only a missed shortcut."""
    path = cache_file()
    if path is None:
        return
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False,
                                         encoding="utf-8") as handle:
            temporary = Path(handle.name)
            json.dump(entries, handle, indent=1, sort_keys=True)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _probe_image(shape: tuple[int, ...], example: torch.Tensor | None, device, dtype
                 ) -> torch.Tensor:
    """One input (1, C, H, W) to time: the example given, else smooth noise (a 7×7 grid of
    random values, upsampled), scaled like a normalised photograph."""
    if example is not None:
        example = example.detach()
        if example.dim() == len(shape):
            example = example.unsqueeze(0)
        if tuple(example.shape[1:]) != tuple(shape):
            raise ValueError(f"example has shape {tuple(example.shape)}, the probe times images "
                             f"of shape {tuple(shape)}: pass one image of the batch you explain.")
        return example[:1].to(device=device, dtype=dtype)
    coarse = torch.randn(1, shape[0], 7, 7, generator=torch.Generator().manual_seed(0))
    smooth = torch.nn.functional.interpolate(coarse, size=tuple(shape[1:]), mode="bilinear",
                                             align_corners=False)
    return smooth.to(device=device, dtype=dtype)


def batch_timings(model: nn.Module, shape: tuple[int, int, int] = (3, 224, 224),
                  candidates=CANDIDATES, repeats: int = 3, patience: float = 1.15,
                  example: torch.Tensor | None = None) -> dict[int, float]:
    """Seconds per image of a forward pass (``channels_last``, inference mode — as the batched
    methods run it) at each batch size.

    A first round times each size twice, in increasing order, and stops once one is
    ``patience`` times slower per image than the best so far; the sizes it kept are then timed
    again in ``repeats - 2`` more rounds, interleaved, and each keeps its fastest time. (On a shared
    machine a burst of load slows whatever runs at that moment: interleaved, it slows every size
    alike instead of deciding the winner.)

    ``example`` (one image, (1, C, H, W) or (C, H, W)) is what is timed, copied to each batch
    size; without it, smooth random noise.

    Example:
        >>> timings = batch_timings(model)          # doctest: +SKIP
        >>> {size: f"{seconds * 1000:.0f} ms" for size, seconds in timings.items()}
        {1: '32 ms', 2: '24 ms', 4: '20 ms', 8: '25 ms'}
    """
    fast = inference_copy(model)
    device = device_of(model)
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    image = _probe_image(tuple(shape), example, device, dtype)

    def per_image(size: int) -> float:
        batch = image.expand(size, *shape).contiguous(memory_format=torch.channels_last)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fast(batch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return (time.perf_counter() - start) / size

    timings: dict[int, float] = {}
    with torch.inference_mode():
        fast(image.contiguous(memory_format=torch.channels_last))   # warm-up: allocations
        for size in candidates:
            timings[size] = min(per_image(size), per_image(size))
            if timings[size] > patience * min(timings.values()):
                break
        for _ in range(repeats - 2):
            for size in timings:
                timings[size] = min(timings[size], per_image(size))
    return timings


#: Sizes within this factor of the fastest per-image time count as equally fast; the smallest
#: of them is chosen: less memory, and the probe's copies of one image only approximate a
#: method's batches, so a lead of a few per cent is within what the probe can tell.
TOLERANCE = 1.05


def choose_batch_size(timings: dict[int, float], tolerance: float = TOLERANCE) -> int:
    """The smallest batch size whose per-image time is within ``tolerance`` of the best.

    Example:
        >>> choose_batch_size({1: 0.030, 2: 0.024, 4: 0.0201, 8: 0.0200})
        4
    """
    best = min(timings.values())
    return min(size for size, seconds in timings.items() if seconds <= tolerance * best)


def best_batch_size(model: nn.Module, shape: tuple[int, int, int] | None = None,
                    example: torch.Tensor | None = None) -> int:
    """The batch size with the lowest time per image for ``model`` on its device (measured once
    per image shape — ``shape``, else ``example``'s, else 3×224×224 — by :func:`batch_timings`,
    on ``example`` if given — the methods pass the image they explain — then remembered, in
    memory and in :func:`cache_file` for later sessions on this machine; sizes within 5 % of
    the fastest count as equally fast and the smallest wins, :func:`choose_batch_size`; a size
    pinned with :func:`set_batch_size` wins over all).

    Example:
        >>> best_batch_size(model)                   # doctest: +SKIP
        2
    """
    if shape is None:                        # the example's image shape, else ImageNet's
        shape = tuple(example.shape[-3:]) if example is not None else (3, 224, 224)
    if model in _PINNED:
        return _PINNED[model]
    measured = _MEASURED.setdefault(model, {})
    key = _key(model, shape)
    if key not in measured:
        disk_key = _disk_key(model, shape)
        stored = _read_cache()
        size = _fresh_size(stored.get(disk_key))
        if size is not None:
            measured[key] = size
        else:
            measured[key] = choose_batch_size(batch_timings(model, shape, example=example))
            _write_cache({**_read_cache(), disk_key: [measured[key], time.time()]})
    return measured[key]


def set_batch_size(model: nn.Module, size: int | None) -> None:
    """Pin the batch size the workbook's methods use for ``model`` (``None``: forget the pinned
    and the measured sizes, also on disk, and measure again on next use).

    Example:
        >>> set_batch_size(model, 8)                 # doctest: +SKIP
    """
    if size is None:
        _PINNED.pop(model, None)
        _MEASURED.pop(model, None)
        stored = _read_cache()
        kept = {key: size for key, size in stored.items()
                if not key.startswith(_model_key(model))}
        if kept != stored:
            _write_cache(kept)
        return
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"A batch size is a positive integer, not {size!r}.")
    _PINNED[model] = size
