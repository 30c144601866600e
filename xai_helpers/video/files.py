"""Video files in and out: read with mmcv (OpenCV underneath), write H.264 with PyAV (FFmpeg).

Reading uses ``mmcv.VideoReader``, as the seed course does; frames come out as RGB (OpenCV's
BGR is converted once, here, so no colour mix-ups downstream). Writing streams frames into an
H.264 mp4 (``yuv420p``, which every browser plays) through PyAV, one frame at a time: no folder
of temporary images. The file is written under a temporary name beside the target and renamed
only when complete, so an interrupted run leaves no broken video, and an existing file is never
overwritten unless asked.

Taught in ``notebooks/08_video_and_webcam_cam.ipynb``.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import cv2
import mmcv
import numpy as np

from ..core.config import DATA_DIR

__all__ = ["SAMPLE_VIDEO", "VideoError", "VideoInfo", "video_info", "read_frames",
           "check_output_path", "VideoWriter"]

#: The bundled clip: a sulphur-crested cockatoo (ImageNet class 89), 14 s, 1280×720, 20 fps.
SAMPLE_VIDEO: Path = DATA_DIR / "cockatoo.mp4"


class VideoError(ValueError):
    """A video file that cannot be read or written (empty, corrupt, unsupported)."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video file says about itself (``frame_count`` is the container's estimate)."""

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int

    @property
    def seconds(self) -> float:
        return self.frame_count / self.fps if self.fps else 0.0


def _open(path: str | os.PathLike) -> mmcv.VideoReader:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No video at {path}. The bundled clip is xh.SAMPLE_VIDEO "
                                f"({SAMPLE_VIDEO.relative_to(DATA_DIR.parent)}).")
    if path.is_dir():
        raise VideoError(f"{path} is a folder; give the path of a video file.")
    reader = mmcv.VideoReader(str(path))
    if (not reader.opened or min(reader.width, reader.height, reader.frame_cnt) <= 0
            or reader.read() is None):
        raise VideoError(f"Could not decode any frame of {path}: the file is empty, corrupt or "
                         "not a video OpenCV can read. Try re-encoding it, e.g. "
                         "`ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4`.")
    return reader


def video_info(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate and frame count of a video file.

    Raises:
        FileNotFoundError: No such file.
        VideoError: The file has no decodable frame.

    Example:
        >>> video_info(SAMPLE_VIDEO)
        VideoInfo(path=..., width=1280, height=720, fps=20.0, frame_count=280)
    """
    reader = _open(path)
    return VideoInfo(Path(path), reader.width, reader.height, float(reader.fps), reader.frame_cnt)


def read_frames(path: str | os.PathLike, start: int = 0, stop: int | None = None,
                step: int = 1) -> Iterator[np.ndarray]:
    """Decode frames ``start, start + step, …`` (before ``stop``) as RGB uint8 (H, W, 3) arrays.

    Frames are decoded one at a time, so a long video never has to fit in memory.

    Example:
        >>> first = next(read_frames(SAMPLE_VIDEO))
        >>> first.shape, first.dtype.name
        ((720, 1280, 3), 'uint8')
    """
    if start < 0 or step < 1:
        raise ValueError(f"Need start >= 0 and step >= 1, got start={start}, step={step}.")
    reader = _open(path)
    if start >= reader.frame_cnt:
        return
    frame = reader.get_frame(start)
    index = start
    while frame is not None and (stop is None or index < stop):
        if (index - start) % step == 0:
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        frame = reader.read()
        index += 1


def _umask() -> int:
    """The process's file-creation mask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output_path(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Check, before any work, that a video can be written to ``path``.

    Raises:
        IsADirectoryError: ``path`` is a folder (never replaced, even with ``overwrite``).
        ValueError: ``path`` does not end in ``.mp4``.
        FileExistsError: The file exists and ``overwrite`` is False.
        FileNotFoundError: Its folder does not exist.
        PermissionError: Its folder is not writable.

    Example:
        >>> check_output_path("out.mp4").name
        'out.mp4'
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name inside it, e.g. "
                                f"{path / 'explained.mp4'} (a folder is never replaced).")
    if path.suffix.lower() != ".mp4":
        raise ValueError(f"{path} should end in .mp4: the video is written as H.264 in an MP4 "
                         "container.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists. Pass overwrite=True (command line: "
                              "--overwrite) to replace it, or choose another name.")
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"The folder {folder} does not exist; create it first "
                                f"(mkdir -p {folder}).")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"Cannot write in the folder {folder}: choose a folder of yours.")
    return path


class VideoWriter:
    """Stream RGB frames into an H.264 mp4 that appears only once it is complete.

    Args:
        path: The output file (``.mp4``).
        fps: Frames per second (e.g. the input's, from :func:`video_info`).
        overwrite: Replace an existing ``path``; without it an existing file raises
            ``FileExistsError`` before anything is computed.
        preset: x264 speed / size trade-off; ``"ultrafast"`` keeps encoding cheap next to the
            model (about 2× larger files than ``"medium"`` at the same quality).
        crf: x264 quality, 0 (lossless) to 51; 23 is the usual default.

    Example:
        >>> with VideoWriter("out.mp4", fps=20) as writer:       # doctest: +SKIP
        ...     for frame in frames:                               # RGB uint8 (H, W, 3)
        ...         writer.write(frame)
    """

    def __init__(self, path: str | os.PathLike, fps: float, *, overwrite: bool = False,
                 preset: str = "ultrafast", crf: int = 23):
        self.path = Path(path)
        self.fps = Fraction(fps).limit_denominator(1001)
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}.")
        self.overwrite, self.preset, self.crf = overwrite, preset, crf
        self.frames_written = 0
        self._container = self._stream = self._temp = None
        check_output_path(self.path, overwrite)

    def __enter__(self) -> "VideoWriter":
        handle, temp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".partial.mp4",
                                        dir=self.path.parent)
        os.close(handle)
        self._temp = Path(temp)
        self._container = av.open(str(self._temp), mode="w", format="mp4")
        return self

    def write(self, frame: np.ndarray) -> None:
        """Encode one RGB uint8 (H, W, 3) frame; all frames must have the first one's size."""
        if self._container is None:
            raise RuntimeError("Use VideoWriter in a `with` block: with VideoWriter(...) as w: ...")
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"Frames must be RGB uint8 (H, W, 3); got {frame.dtype} "
                             f"{frame.shape}.")
        height, width = frame.shape[:2]
        if self._stream is None:
            if width % 2 or height % 2:
                raise VideoError(f"H.264 needs an even width and height; got {width}×{height}. "
                                 "Crop or pad the frames by one pixel.")
            self._stream = self._container.add_stream("libx264", rate=self.fps)
            self._stream.width, self._stream.height = width, height
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"preset": self.preset, "crf": str(self.crf)}
        elif (width, height) != (self._stream.width, self._stream.height):
            raise ValueError(f"Frame {self.frames_written} is {width}×{height}, the video is "
                             f"{self._stream.width}×{self._stream.height}.")
        # OpenCV converts to the encoder's YUV 4:2:0 about 6x faster than FFmpeg's swscale here
        yuv = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420)
        self._container.mux(self._stream.encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p")))
        self.frames_written += 1

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is None:
                if self.frames_written == 0:
                    raise VideoError(f"No frames were written; {self.path} was not created.")
                self._container.mux(self._stream.encode())         # flush the encoder
            self._container.close()
            if exc_type is None:
                os.chmod(self._temp, 0o666 & ~_umask())            # the user's usual mode,
                os.replace(self._temp, self.path)                  # not mkstemp's 0600; atomic
        finally:
            if self._temp.exists():
                self._temp.unlink()                                # interrupted: leave nothing
            self._container = None
        return False
