"""What both explorers share: the image, the class list and its search, the layer rule, the
picture, and the cache that makes CAM controls answer at once.

**Answering at once.** A CAM map needs the feature map :math:`A` of the chosen layer (one
forward pass) and, for gradient methods, :math:`\\partial y^c / \\partial A` (a backward pass
from the class's logit down to that layer only). :class:`ActivationCache` keeps the forward
pass of the current image at the current layer, with its graph, so that:

- a new **class** costs one backward pass from one logit to the layer (at the last layer: the
  classifier and the pooling, well under a millisecond);
- a new **method** of the CAM family reuses both;
- a new **layer** costs one forward pass;
- **opacity** and **language** only redraw the picture (no model call at all).

The maps are the very maps the CAM classes compute (the same ``cam_image`` step, tested equal).

Taught in ``notebooks/02_grad_cam_internals.ipynb`` and ``notebooks/10_explorer.ipynb``.
"""
from __future__ import annotations

import io
import time
from typing import Callable, Mapping, Sequence

import ipywidgets as widgets
import torch
from PIL import Image

from ..cam.base import BaseCAM
from ..core.config import language
from ..core.hooks import LayerRecorder
from ..core.labels import imagenet_label, search_class_ids
from ..core.layers import list_conv_layers
from ..core.models import model_spec, predict, preprocess
from ..core.modes import eval_mode
from ..core.viz import label_image, overlay_heatmap

__all__ = ["ActivationCache", "explorer_layers", "ExplorerBase"]


class ActivationCache:
    """One image's forward pass recorded at one layer, kept with its autograd graph.

    Args:
        model: The classifier (run in eval mode; every module's own mode is restored).
        x: One preprocessed image (1, 3, H, W).
        layer: The layer's dotted name.

    Example:
        >>> cache = ActivationCache(model, x, "_head_act")                 # doctest: +SKIP
        >>> cache.cam(xh.GradCAM, 235)   # = xh.GradCAM(model, "_head_act")(x, 235)[0]
    """

    def __init__(self, model: torch.nn.Module, x: torch.Tensor, layer: str):
        self.model, self.x, self.layer = model, x, layer
        with eval_mode(model), LayerRecorder(model, layer) as recorder, torch.enable_grad():
            # requires_grad on x: gradients reach the layer even if the weights are frozen
            self.logits = model(x.detach().requires_grad_(True))
        self.A = recorder.activations[layer]
        self._grads: dict[int, torch.Tensor] = {}
        self._methods: dict[type, BaseCAM] = {}

    def gradient(self, class_id: int) -> torch.Tensor:
        """:math:`\\partial y^c / \\partial A` for one class (one backward pass to the layer)."""
        if class_id not in self._grads:
            (self._grads[class_id],) = torch.autograd.grad(self.logits[0, class_id], self.A,
                                                           retain_graph=True)
        return self._grads[class_id]

    def cam(self, method: type[BaseCAM], class_id: int) -> torch.Tensor:
        """The (H, W) map of a CAM class for ``class_id``, in [0, 1]."""
        if method not in self._methods:
            self._methods[method] = method(self.model, self.layer)
        explainer = self._methods[method]
        if method._raw_maps is not BaseCAM._raw_maps:
            # FullGrad, SmoothGrad-CAM++, Integrated Grad-CAM need passes of their own (noisy or
            # scaled inputs, every bias layer): nothing recorded here can stand in for them
            return explainer(self.x, class_id)[0]
        grads = self.gradient(class_id) if method.uses_gradients else None
        classes = torch.tensor([class_id], device=self.logits.device)
        with eval_mode(self.model):                   # Score-CAM runs the model again
            raw = explainer.cam_image(self.A.detach(), grads, x=self.x, classes=classes,
                                      target=class_id)
        return BaseCAM._finish(raw, tuple(self.x.shape[-2:]), relu=True, normalise=True)[0]


def explorer_layers(model: torch.nn.Module, finest: int = 28) -> list[str]:
    """The layers a layer slider offers, shallow to deep: the convolutions whose maps are at most
    ``finest`` × ``finest``, then the model's CAM layer."""
    convs = list_conv_layers(model)
    cam_layer = model_spec(model).cam_layer
    return [layer for layer in convs[convs.height <= finest].layer.tolist()
            if layer != cam_layer] + [cam_layer]


def png(picture: torch.Tensor, heat: torch.Tensor | None, alpha: float, pred: int,
        shown: int, probability: float, lang: str, size: int) -> bytes:
    """The labelled overlay as PNG bytes, ``size`` × ``size`` (``heat=None``: the photo).

    PNG keeps the label text sharp (JPEG smears it); zlib's fastest level encodes a 320×320
    picture in about 15 ms here instead of 65 ms at the default level, for a file about 30%
    larger."""
    overlay = picture if heat is None else overlay_heatmap(picture, heat, alpha=alpha)
    labelled = label_image(overlay, pred, shown, probability, lang=lang)
    buffer = io.BytesIO()
    labelled.resize((size, size), Image.BILINEAR).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class ExplorerBase:
    """Image, classes, search, method, layer, opacity, language, pictures and caches.

    Args:
        methods: ``{name: CAM class}``, or ``{name: None}`` for a method that is not a CAM
            class (subclasses compute those in :meth:`_compute`).

    Subclasses lay out the controls they show and implement :meth:`render`.
    """

    def __init__(self, model: torch.nn.Module, methods: Mapping[str, type[BaseCAM] | None], *,
                 lang: str,
                 size: int, top: int = 5, layers: Sequence[str] | None = None,
                 method: str | None = None):
        self.size, self.top = size, top
        self.methods = dict(methods)
        self._maps: dict[tuple, torch.Tensor] = {}
        self._activations: ActivationCache | None = None
        self._quiet = False
        self.last_seconds = 0.0

        self.search = widgets.Text(placeholder="any class: cat / 猫", description="Search")
        self.class_select = widgets.Dropdown(description="Class")
        self.method_select = widgets.Dropdown(options=list(self.methods),
                                              value=method or next(iter(self.methods)),
                                              description="Method")
        self.layer_select = widgets.SelectionSlider(options=["-"], description="Layer",
                                                    continuous_update=False,
                                                    layout=widgets.Layout(width="560px"))
        self.alpha = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05,
                                         description="Opacity", continuous_update=False)
        self.lang = widgets.ToggleButtons(options=[("English", "en"), ("中文", "zh")],
                                           value=language(lang))
        self.status = widgets.Label()
        self._fixed_layers = list(layers) if layers is not None else None
        self._set_model(model)

    # -- state -----------------------------------------------------------------------------
    def _set_model(self, model: torch.nn.Module) -> None:
        self.model = model
        self._activations = None
        layers = self._fixed_layers or explorer_layers(model)
        self._quiet = True
        try:
            self.layer_select.options = layers
            self.layer_select.value = layers[-1]
        finally:
            self._quiet = False

    def _set_image(self, source) -> None:
        """Preprocess a new image; forget everything computed for the old one."""
        self.x = preprocess(self.model, source)
        self.picture = model_spec(self.model).preprocessing.inverse(self.x[0]).cpu()
        self.probs = predict(self.model, self.x)[0].cpu()
        self.pred = int(self.probs.argmax())
        self.top_classes = self.probs.topk(self.top).indices.tolist()
        self._maps.clear()
        self._activations = None
        self._set_class_options(self.top_classes)

    def _selects(self) -> list[widgets.Dropdown]:
        return [self.class_select]

    def _set_class_options(self, class_ids: Sequence[int]) -> None:
        lang = self.lang.value
        options = [(f"{imagenet_label(i, lang)} ({self.probs[i]:.1%})", i) for i in class_ids]
        self._quiet = True                # one render after the change, not one per widget
        try:
            for rank, select in enumerate(self._selects()):
                current = select.value
                select.options = options
                select.value = (current if current in class_ids
                                else class_ids[min(rank, len(class_ids) - 1)])
        finally:
            self._quiet = False

    # -- events ----------------------------------------------------------------------------
    def _on_search(self, change) -> None:
        ids = search_class_ids(change["new"], self.top_classes)
        if ids:                              # the classes shown now stay selectable too
            kept = [select.value for select in self._selects()
                    if select.value is not None and select.value not in ids]
            self._set_class_options(ids + list(dict.fromkeys(kept)))
            self.render()

    def _on_lang(self, change) -> None:
        self._set_class_options([value for _, value in self.class_select.options])
        self.render()

    def _on_control(self, change) -> None:
        if not self._quiet:
            self.render()

    def _observe(self) -> None:
        self.search.observe(self._on_search, names="value")
        self.lang.observe(self._on_lang, names="value")
        for control in self._controls():
            control.observe(self._on_control, names="value")

    def _controls(self) -> list[widgets.Widget]:
        return [self.class_select, self.method_select, self.layer_select, self.alpha]

    # -- maps ------------------------------------------------------------------------------
    def _layer(self, method: str) -> str | None:
        return self.layer_select.value if self._uses_layer(method) else None

    def _uses_layer(self, method: str) -> bool:
        return self.methods[method] is not None

    def _key(self, method: str, class_id: int) -> tuple:
        return (id(self.model), method, self._layer(method), class_id)

    def cached(self, method: str, class_id: int) -> bool:
        """Whether this map is ready (drawing it needs no model call)."""
        return self._key(method, class_id) in self._maps

    def heatmap(self, method: str, class_id: int) -> torch.Tensor:
        """The (H, W) map of one method and class on the current image and layer (cached).

        CAM classes reuse the forward pass of the current image at the current layer
        (:class:`ActivationCache`); other methods are computed by :meth:`_compute`."""
        key = self._key(method, class_id)
        if key not in self._maps:
            cam_class = self.methods[method]
            if cam_class is not None:
                layer = self.layer_select.value
                if self._activations is None or self._activations.layer != layer:
                    self._activations = ActivationCache(self.model, self.x, layer)
                self._maps[key] = self._activations.cam(cam_class, class_id).detach().cpu()
            else:
                self._maps[key] = self._compute(method, class_id)
        return self._maps[key]

    def _compute(self, method: str, class_id: int) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} cannot compute {method!r}.")

    def picture_png(self, method: str, class_id: int) -> bytes:
        """The labelled overlay of one method and class, as PNG bytes."""
        return png(self.picture, self.heatmap(method, class_id), self.alpha.value, self.pred,
                   class_id, float(self.probs[self.pred]), self.lang.value, self.size)

    def describe(self, method: str, class_id: int) -> str:
        """What a picture shows, for the status line: method · layer · class."""
        layer = self._layer(method)
        return " · ".join([method] + ([layer] if layer else [])
                          + [imagenet_label(class_id, self.lang.value)])

    def render(self) -> None:
        raise NotImplementedError

    def _timed(self, draw: Callable[[], str]) -> None:
        """Run ``draw`` (returns the status text), then show the time it took in the status."""
        start = time.perf_counter()
        text = draw()
        self.last_seconds = time.perf_counter() - start
        self.status.value = f"{text} · {self.last_seconds * 1000:.0f} ms"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
