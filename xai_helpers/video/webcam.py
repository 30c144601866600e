"""A live CAM view inside the notebook, from a webcam or from a clip played as a camera.

``cv2.imshow`` loops (the seed course's webcam demo) open a desktop window from the kernel:
nothing appears when the kernel runs on a server or in a browser tab, and the loop blocks the
kernel. Here frames are explained on a background thread and shown in an ``ipywidgets.Image``
that updates in place; Start / Stop buttons control it and an FPS readout shows the speed. The
kernel stays free. When no camera can be opened (CI, a remote server, no permission) the
view says so and plays the bundled clip as a virtual camera through the same code path.

Note: the camera is the *kernel's* machine's camera. On a remote JupyterHub it is not the
camera of the laptop showing the browser.

Taught in ``notebooks/08_video_and_webcam_cam.ipynb``.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import cv2
import ipywidgets as widgets
import numpy as np
from torch import nn

from .explain import FrameExplainer, LabelPainter, render_frame
from .files import SAMPLE_VIDEO, read_frames, video_info

__all__ = ["NoCameraError", "Camera", "VirtualCamera", "open_camera", "LiveCAMView"]


class NoCameraError(RuntimeError):
    """No camera could be opened, or it stopped delivering frames."""


class _FrameSource:
    """What a camera offers: ``read()`` an RGB frame, ``close()``, and use in a ``with``."""

    name = "frame source"

    def read(self) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class Camera(_FrameSource):
    """Frames from a camera (OpenCV ``VideoCapture``), as RGB uint8 arrays.

    Raises:
        NoCameraError: Nothing at ``index`` (no camera, in use, no permission).

    Example:
        >>> with Camera(0) as camera:               # doctest: +SKIP
        ...     frame = camera.read()
    """

    def __init__(self, index: int = 0):
        self.index = index
        self.name = f"camera {index}"
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)   # we say it better
        try:
            self._capture = cv2.VideoCapture(index)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not self._capture.isOpened():
            self._capture.release()
            raise NoCameraError(
                f"No camera at index {index}: none is attached to the machine the kernel runs "
                "on, it is used by another program, or access was refused. (On a remote server "
                "the browser's camera is not the kernel's.)")

    def read(self) -> np.ndarray:
        ok, frame = self._capture.read()
        if not ok or frame is None:
            raise NoCameraError(f"Camera {self.index} stopped delivering frames.")
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()


class VirtualCamera(_FrameSource):
    """A video file played as a camera: frames in a loop, paced to the file's frame rate.

    Args:
        path: The video (default: the bundled cockatoo clip).
        realtime: Wait so that frames come no faster than the file's fps, as from a camera
            (tests switch it off).

    Example:
        >>> camera = VirtualCamera(realtime=False)
        >>> camera.read().shape
        (720, 1280, 3)
    """

    def __init__(self, path: str | os.PathLike = SAMPLE_VIDEO, realtime: bool = True):
        self.path = Path(path)
        self.name = f"virtual camera ({self.path.name})"
        self.fps = video_info(self.path).fps
        self.realtime = realtime
        self._frames = read_frames(self.path)
        self._next_time = time.perf_counter()

    def read(self) -> np.ndarray:
        if self.realtime:
            delay = self._next_time - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self._next_time = max(self._next_time, time.perf_counter()) + 1.0 / self.fps
        frame = next(self._frames, None)
        if frame is None:                                      # end of the clip: loop
            self._frames = read_frames(self.path)
            frame = next(self._frames)
        return frame

    def close(self) -> None:
        self._frames.close()


def open_camera(index: int = 0, fallback: str | os.PathLike | None = SAMPLE_VIDEO,
                realtime: bool = True) -> tuple[Camera | VirtualCamera, str]:
    """The camera at ``index`` or, when there is none, ``fallback`` as a virtual camera.

    Returns:
        ``(camera, message)``: the message says which one you got and why.

    Raises:
        NoCameraError: No camera and ``fallback=None``.
    """
    try:
        camera = Camera(index)
        return camera, f"Showing camera {index}."
    except NoCameraError as error:
        if fallback is None:
            raise
        return (VirtualCamera(fallback, realtime=realtime),
                f"{error} Playing {Path(fallback).name} as a virtual camera instead.")


class LiveCAMView:
    """Live CAM overlay in the notebook, with Start / Stop and frames per second.

    Args:
        model: A classifier from :func:`xai_helpers.load_model`.
        method: CAM method name (``"CAM"``, ``"Grad-CAM"``, ``"LayerCAM"`` …).
        target: Class to explain in every frame, or ``None`` for each frame's top class.
        lang: Label language, ``"en"`` or ``"zh"``.
        camera: A :class:`Camera` / :class:`VirtualCamera`, or ``None`` to try camera
            ``camera_index`` and fall back to the bundled clip.
        width: Width the frames are shown at (smaller is faster).
        smoothing: New-frame weight of the temporal smoothing (1 = off).

    Example:
        >>> view = LiveCAMView(model, "Grad-CAM", lang="zh")     # doctest: +SKIP
        >>> view                    # shows the controls; press Start  # doctest: +SKIP
    """

    def __init__(self, model: nn.Module, method: str = "Grad-CAM", *, target: int | None = None,
                 lang: str | None = None, camera=None, camera_index: int = 0, width: int = 640,
                 smoothing: float = 0.5, alpha: float = 0.5):
        if camera is None:
            camera, message = open_camera(camera_index)
        else:
            message = f"Showing {camera.name}."
        self.camera = camera
        self.explainer = FrameExplainer(model, method, target=target, smoothing=smoothing)
        self.paint = LabelPainter(lang)
        self.width, self.alpha = width, alpha
        self.frames_shown = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

        self.image = widgets.Image(format="jpeg", layout=widgets.Layout(width=f"{width}px"))
        self.start_button = widgets.Button(description="Start", icon="play", button_style="success")
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True)
        self.fps = widgets.Label("— frames/s")
        self.status = widgets.Label(message)
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        controls = widgets.HBox([self.start_button, self.stop_button, self.fps])
        self.widget = widgets.VBox([controls, self.status, self.image])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def step(self) -> np.ndarray:
        """Read, explain and show one frame; returns the shown RGB picture."""
        with self._lock:
            frame = self.camera.read()
            height = round(frame.shape[0] * self.width / frame.shape[1] / 2) * 2
            frame = cv2.resize(frame, (self.width, height), interpolation=cv2.INTER_AREA)
            explained = self.explainer([frame])
            picture = render_frame(frame, explained.maps[0], self.alpha)
            self.paint(picture, int(explained.predicted[0]), int(explained.shown[0]),
                       float(explained.probability[0]))
            ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
            self.image.value = jpeg.tobytes()
            self.frames_shown += 1
            return picture

    def run_frames(self, count: int) -> float:
        """Show ``count`` frames on this thread (no buttons needed); returns frames/s."""
        start = time.perf_counter()
        for _ in range(count):
            self.step()
        rate = count / (time.perf_counter() - start)
        self.fps.value = f"{rate:.1f} frames/s"
        return rate

    def _loop(self) -> None:
        shown, since = 0, time.perf_counter()
        try:
            while not self._stop.is_set():
                self.step()
                shown += 1
                elapsed = time.perf_counter() - since
                if elapsed >= 1.0:
                    self.fps.value = f"{shown / elapsed:.1f} frames/s"
                    shown, since = 0, time.perf_counter()
        except Exception as error:                     # shown in the widget, kept for inspection
            self.error = error
            self.status.value = f"Stopped: {type(error).__name__}: {error}"
        finally:
            self.start_button.disabled, self.stop_button.disabled = False, True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the live view on a background thread (the kernel stays free)."""
        if self.running:
            return
        self._stop.clear()
        self.error = None
        self.start_button.disabled, self.stop_button.disabled = True, False
        self._thread = threading.Thread(target=self._loop, name="LiveCAMView", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the live view and wait for the current frame to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.start_button.disabled, self.stop_button.disabled = False, True

    def close(self) -> None:
        """Stop and release the camera."""
        self.stop()
        self.camera.close()
