"""An interactive CAM viewer for JupyterLab: class, layer, method, opacity and language.

Built from plain ipywidgets (Dropdown, SelectionSlider, FloatSlider, Image), which render in
JupyterLab 4 and in classic notebooks alike. The picture is a PNG in an ``Image`` widget, so it
updates in place when a control moves; results are cached per (method, layer, class).

Taught in ``notebooks/01_cam_from_scratch.ipynb`` and ``notebooks/02_grad_cam_internals.ipynb``.
"""
from __future__ import annotations

import io
import time
from typing import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import torch
from PIL import Image

from .cam import CAM_METHODS, BaseCAM
from .images import ImageSource
from .labels import imagenet_label, search_class_ids
from .layers import list_conv_layers
from .models import model_spec, predict, preprocess
from .viz import label_image, overlay_heatmap

__all__ = ["CAMExplorer", "DEFAULT_EXPLORER_METHODS"]

DEFAULT_EXPLORER_METHODS = ("Grad-CAM", "Grad-CAM++", "XGrad-CAM", "HiResCAM", "LayerCAM",
                            "CAM", "Eigen-CAM")


class CAMExplorer:
    """Explore CAM maps of one image with sliders.

    Args:
        model: A classifier with a ``ModelSpec`` (from :func:`xai_helpers.load_model`).
        image: The photo (path, PIL image or HWC array).
        methods: Names from :data:`xai_helpers.cam.CAM_METHODS`, or ``{name: CAM class}``.
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
                 layers: Sequence[str] | None = None, top: int = 5, lang: str = "en",
                 size: int = 320):
        self.model = model
        spec = model_spec(model)
        self.x = preprocess(model, image)
        self.picture = spec.preprocessing.inverse(self.x[0]).cpu()
        self.probs = predict(model, self.x)[0].cpu()
        self.pred = int(self.probs.argmax())
        self.top_classes = self.probs.topk(top).indices.tolist()
        if not isinstance(methods, Mapping):
            methods = {name: CAM_METHODS[name] for name in methods}
        self.methods = dict(methods)
        if layers is None:
            convs = list_conv_layers(model)
            layers = [*convs[convs.height <= 28].layer.tolist(), spec.cam_layer]
        self.size = size
        self._cache: dict[tuple, torch.Tensor] = {}
        self._quiet = False

        self.search = widgets.Text(placeholder="search any class: cat / 猫", description="Search")
        self.class_select = widgets.Dropdown(description="Class")
        self.method_select = widgets.Dropdown(options=list(self.methods), description="Method")
        self.layer_select = widgets.SelectionSlider(options=list(layers), value=layers[-1],
                                                    description="Layer", continuous_update=False,
                                                    layout=widgets.Layout(width="520px"))
        self.alpha = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05,
                                         description="Opacity", continuous_update=False)
        self.lang = widgets.ToggleButtons(options=[("English", "en"), ("中文", "zh")], value=lang)
        self.image = widgets.Image(format="png", width=size, height=size)
        self.status = widgets.Label()
        self._set_class_options(self.top_classes)

        self.search.observe(self._on_search, names="value")
        for control in (self.class_select, self.method_select, self.layer_select, self.alpha,
                        self.lang):
            control.observe(self._on_control, names="value")
        self.widget = widgets.VBox([
            widgets.HBox([self.search, self.class_select]),
            widgets.HBox([self.method_select, self.lang]),
            self.layer_select, self.alpha, self.image, self.status,
        ])
        self.render()

    def _set_class_options(self, class_ids: Sequence[int]) -> None:
        lang = self.lang.value
        options = [(f"{imagenet_label(i, lang)} ({self.probs[i]:.1%})", i) for i in class_ids]
        current = self.class_select.value
        self._quiet = True  # one render after both changes, not one per change
        try:
            self.class_select.options = options
            self.class_select.value = current if current in class_ids else class_ids[0]
        finally:
            self._quiet = False

    def _on_control(self, _change) -> None:
        if not self._quiet:
            self.render()

    def _on_search(self, change) -> None:
        ids = search_class_ids(change["new"], self.top_classes)
        if ids:
            self._set_class_options(ids)
            self.render()

    def cam(self, method: str, layer: str, class_id: int) -> torch.Tensor:
        """The (H, W) map for one setting (cached)."""
        key = (method, layer, class_id)
        if key not in self._cache:
            self._cache[key] = self.methods[method](self.model, layer)(self.x, class_id)[0].cpu()
        return self._cache[key]

    def render(self) -> None:
        """Recompute (or fetch) the map for the current controls and update the picture."""
        class_id = self.class_select.value
        if class_id is None:
            return
        start = time.perf_counter()
        try:
            cam = self.cam(self.method_select.value, self.layer_select.value, class_id)
        except (ValueError, RuntimeError) as err:
            self.status.value = f"{self.method_select.value} cannot run here: {err}"
            return
        overlay = overlay_heatmap(self.picture, cam, alpha=self.alpha.value)
        labelled = label_image(overlay, self.pred, class_id, float(self.probs[self.pred]),
                               lang=self.lang.value)
        buffer = io.BytesIO()
        labelled.resize((self.size, self.size), Image.BILINEAR).save(buffer, format="PNG")
        self.image.value = buffer.getvalue()
        seconds = time.perf_counter() - start
        peak = np.unravel_index(int(cam.argmax()), tuple(cam.shape))
        self.status.value = (f"{self.method_select.value} · {self.layer_select.value} · "
                             f"{imagenet_label(class_id)} · peak at (row {peak[0]}, col "
                             f"{peak[1]}) · {seconds * 1000:.0f} ms")

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
