"""Packages only some features need, and the message that says so when one is missing.

The workbook installs all of them (``make setup``), but a learner with a partial environment
should get "this feature needs PyAV, install it with …", not a traceback from deep inside an
import.
"""
from __future__ import annotations

__all__ = ["OPTIONAL_PACKAGES", "missing_package"]

#: Top-level module -> what it is and how to install it.
OPTIONAL_PACKAGES = {
    "av": "PyAV, which writes H.264 videos (pip install av)",
    "mmcv": "mmcv, which reads videos (pip install mmcv-lite)",
    "mmengine": "mmengine, which mmcv needs (pip install mmengine)",
    "cv2": "OpenCV (pip install opencv-python-headless)",
    "zennit": "zennit, the LRP library (pip install zennit)",
    "ipywidgets": "ipywidgets, for the interactive widgets (pip install ipywidgets)",
}


def missing_package(error: ModuleNotFoundError, feature: str) -> ImportError | None:
    """A clear ``ImportError`` for ``feature`` if ``error`` is about an optional package, else
    ``None`` (then the original error should be raised: it is a real bug).

    Example:
        >>> error = missing_package(ModuleNotFoundError("No module named 'av'", name="av"), "xh.x")
        >>> str(error).startswith("xh.x needs PyAV")
        True
    """
    missing = (error.name or "").split(".")[0]
    if missing not in OPTIONAL_PACKAGES:
        return None
    return ImportError(f"{feature} needs {OPTIONAL_PACKAGES[missing]}, which is not installed. "
                       "`make setup` installs everything the workbook uses.")
