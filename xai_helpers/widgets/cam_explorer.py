"""An interactive CAM viewer for JupyterLab: class, layer, method, opacity and language.

Built from plain ipywidgets (Dropdown, SelectionSlider, FloatSlider, Image), which render in
JupyterLab 4 and in classic notebooks alike. The picture is a PNG in an ``Image`` widget, so it
updates in place when a control moves. It shares its base with the all-methods
:class:`~xai_helpers.widgets.explorer.Explorer` (``widgets/base.py``): the same class search,
layer rule, pictures and caches — a new class or method reuses the forward pass, opacity and
language only redraw.

Taught in ``notebooks/01_cam_from_scratch.ipynb`` and ``notebooks/02_grad_cam_internals.ipynb``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import torch

from ..cam.base import BaseCAM
from ..core.images import ImageSource
from ..registry import CAM_METHODS
from .base import ExplorerBase

__all__ = ["CAMExplorer", "DEFAULT_EXPLORER_METHODS"]

DEFAULT_EXPLORER_METHODS = ("Grad-CAM", "Grad-CAM++", "XGrad-CAM", "HiResCAM", "LayerCAM",
                            "CAM", "Eigen-CAM")


class CAMExplorer(ExplorerBase):
    """Explore CAM maps of one image with sliders.

    Args:
        model: A classifier with a ``ModelSpec`` (from :func:`xai_helpers.load_model`).
        image: The photo (path, PIL image or HWC array).
        methods: Names from :data:`xai_helpers.CAM_METHODS`, or ``{name: CAM class}`` (your own
            :class:`~xai_helpers.cam.base.BaseCAM` subclass too).
        layers: Target layers for the layer slider, shallow to deep. Default: the model's
            convolutions whose maps are at most 28×28, then its CAM layer.
        top: How many of the model's top classes the class list starts with.
        lang: ``"en"`` or ``"zh"`` for the class names.
        size: Side of the displayed picture in pixels.

    Attributes:
        widget: The ``ipywidgets.VBox`` to display (the explorer also displays itself).
        class_select, layer_select, method_select, alpha, lang, search, image, status: controls.

    Example:
        >>> explorer = CAMExplorer(model, test_image_path("dog"))   # doctest: +SKIP
        >>> explorer                                                 # doctest: +SKIP
    """

    def __init__(self, model: torch.nn.Module, image: ImageSource,
                 methods: Sequence[str] | Mapping[str, type[BaseCAM]] = DEFAULT_EXPLORER_METHODS,
                 layers: Sequence[str] | None = None, top: int = 5, lang: str | None = None,
                 size: int = 320):
        if not isinstance(methods, Mapping):
            methods = {name: CAM_METHODS[name] for name in methods}
        super().__init__(model, methods, lang=lang, size=size, top=top, layers=layers)
        self.image = widgets.Image(format="png", width=size, height=size)
        self.widget = widgets.VBox([
            widgets.HBox([self.search, self.class_select]),
            widgets.HBox([self.method_select, self.lang]),
            self.layer_select, self.alpha, self.image, self.status,
        ])
        self._set_image(image)
        self._observe()
        self.render()

    def render(self) -> None:
        """Compute (or fetch) the map for the current controls and update the picture."""
        method, class_id = self.method_select.value, self.class_select.value
        if class_id is None:
            return
        try:
            self._timed(lambda: self._draw(method, class_id))
        except (ValueError, RuntimeError) as err:
            self.status.value = f"{method} cannot run here: {err}"

    def _draw(self, method: str, class_id: int) -> str:
        self.image.value = self.picture_png(method, class_id)
        cam = self.heatmap(method, class_id)
        peak = np.unravel_index(int(cam.argmax()), tuple(cam.shape))
        return f"{self.describe(method, class_id)} · peak at (row {peak[0]}, col {peak[1]})"
