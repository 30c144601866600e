"""One canvas for every method: image, model, class, layer, method, opacity — and comparisons.

``Explorer()`` shows, with plain ipywidgets (they render in JupyterLab 4 and classic notebooks):

- an image: a bundled test photo or an uploaded file (errors are shown, never raised);
- a model: EfficientNet-Lite0, or any torchvision model whose weights are on this machine;
- a class: the model's top 5, or any of the 1000 found by searching in English or Chinese;
- a layer slider (CAM methods), a method (all of :data:`xai_helpers.methods.METHODS`), opacity;
- a comparison mode: two methods, or two classes, side by side.

Every map comes from :func:`xai_helpers.methods.explain`: the same normalisation (positive
evidence, min-max) and the same colour map for every method. Before a method runs its cost is
estimated; cheap ones (under ``auto_seconds``) run as soon as a control moves, slower ones wait
for the **Run** button and show a progress bar while they work on a background thread.

Taught in ``notebooks/10_explorer.ipynb``.
"""
from __future__ import annotations

import io
import threading
import time

import ipywidgets as widgets
import torch
from PIL import Image

from .images import list_test_images, load_image, test_image_path
from .labels import imagenet_label, search_class_ids
from .layers import list_conv_layers
from .methods import METHODS, estimate_seconds, explain
from .models import available_models, load_model, model_spec, predict, preprocess
from .viz import label_image, overlay_heatmap

__all__ = ["Explorer"]


class Explorer:
    """Explore every explanation method on any image, class and layer (see module docstring).

    Args:
        image: Starting image: a bundled photo's name (``"dog"``), a path or a PIL image.
        model: Starting model (default: ``load_model()``).
        method: Starting method name.
        lang: ``"en"`` or ``"zh"``.
        size: Side of each displayed picture in pixels.
        auto_seconds: Methods estimated to take less than this run as soon as a control moves.
        settings: Method settings for :func:`explain` (e.g. ``{"num_samples": 300}``).

    Attributes:
        widget: The ``VBox`` to display (the explorer also displays itself).
        image_select, upload, model_select, class_select, search, layer_select,
        method_select, alpha, lang, mode, second_method, second_class, run_button,
        progress, cost, status, pictures: the controls, for scripting and tests.

    Example:
        >>> explorer = Explorer("dog", lang="zh")       # doctest: +SKIP
        >>> explorer                                     # doctest: +SKIP
    """

    def __init__(self, image="dog", model=None, method: str = "Grad-CAM", lang: str = "en",
                 size: int = 300, auto_seconds: float = 2.0, settings: dict | None = None):
        self.models = {"efficientnet_lite0": model or load_model()}
        self.size, self.auto_seconds = size, auto_seconds
        self.settings = dict(settings or {})
        self._cache: dict[tuple, torch.Tensor] = {}
        self._quiet = False
        self._worker: threading.Thread | None = None
        self._pending = False            # a control moved while a background run was busy
        self.runs = 0

        photos = list_test_images()
        self.image_select = widgets.Dropdown(options=photos, description="Image",
                                             value=image if image in photos else photos[0])
        self.upload = widgets.FileUpload(accept="image/*", multiple=False,
                                         description="Upload")
        self.model_select = widgets.Dropdown(options=available_models(), description="Model")
        self.search = widgets.Text(placeholder="any class: cat / 猫", description="Search")
        self.class_select = widgets.Dropdown(description="Class")
        self.method_select = widgets.Dropdown(options=list(METHODS), value=method,
                                              description="Method")
        self.layer_select = widgets.SelectionSlider(options=["-"], description="Layer",
                                                    continuous_update=False,
                                                    layout=widgets.Layout(width="560px"))
        self.alpha = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05,
                                         description="Opacity", continuous_update=False)
        self.lang = widgets.ToggleButtons(options=[("English", "en"), ("中文", "zh")], value=lang)
        self.mode = widgets.ToggleButtons(options=[("one map", "single"),
                                                   ("two methods", "methods"),
                                                   ("two classes", "classes")],
                                          value="single", description="Compare")
        self.second_method = widgets.Dropdown(options=list(METHODS), value="Saliency",
                                              description="Method 2")
        self.second_class = widgets.Dropdown(description="Class 2")
        self.run_button = widgets.Button(description="Run", icon="play", button_style="primary")
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="")
        self.cost = widgets.Label()
        self.status = widgets.Label()
        self.pictures = [widgets.Image(format="png", width=size, height=size) for _ in range(2)]

        self.image_select.observe(self._on_image, names="value")
        self.upload.observe(self._on_upload, names="value")
        self.model_select.observe(self._on_model, names="value")
        self.search.observe(self._on_search, names="value")
        self.lang.observe(self._on_lang, names="value")
        for control in (self.class_select, self.method_select, self.layer_select, self.alpha,
                        self.mode, self.second_method, self.second_class):
            control.observe(self._on_control, names="value")
        self.run_button.on_click(lambda _: self.render(force=True))

        self.widget = widgets.VBox([
            widgets.HBox([self.image_select, self.upload, self.model_select]),
            widgets.HBox([self.search, self.class_select, self.lang]),
            widgets.HBox([self.method_select, self.alpha]),
            self.layer_select,
            widgets.HBox([self.mode, self.second_method, self.second_class]),
            widgets.HBox([self.run_button, self.progress, self.cost]),
            widgets.HBox(self.pictures),
            self.status,
        ])
        self._set_model("efficientnet_lite0", image_source=test_image_path(self.image_select.value))

    # -- state -----------------------------------------------------------------------------
    @property
    def model(self) -> torch.nn.Module:
        return self.models[self.model_select.value]

    def _set_model(self, name: str, image_source=None) -> None:
        if name not in self.models:
            self.status.value = f"Loading {name} …"
            self.models[name] = load_model(name)
        model = self.models[name]
        convs = list_conv_layers(model)
        cam_layer = model_spec(model).cam_layer
        layers = [*convs[convs.height <= 28].layer.tolist()]
        layers = [layer for layer in layers if layer != cam_layer] + [cam_layer]
        self._quiet = True
        try:
            self.layer_select.options = layers
            self.layer_select.value = cam_layer
        finally:
            self._quiet = False
        self._set_image(image_source if image_source is not None else self._source)

    def _set_image(self, source) -> None:
        picture = load_image(source)                      # raises a clear error on bad files
        self._source = picture
        model = self.model
        self.x = preprocess(model, picture)
        self.picture = model_spec(model).preprocessing.inverse(self.x[0]).cpu()
        self.probs = predict(model, self.x)[0].cpu()
        self.pred = int(self.probs.argmax())
        self.top_classes = self.probs.topk(5).indices.tolist()
        self._cache.clear()
        self._set_class_options(self.top_classes)
        self.render()

    def _set_class_options(self, class_ids) -> None:
        lang = self.lang.value
        options = [(f"{imagenet_label(i, lang)} ({self.probs[i]:.1%})", i) for i in class_ids]
        self._quiet = True
        try:
            for select, default in ((self.class_select, class_ids[0]),
                                    (self.second_class, class_ids[min(1, len(class_ids) - 1)])):
                current = select.value
                select.options = options
                select.value = current if current in class_ids else default
        finally:
            self._quiet = False

    # -- events ----------------------------------------------------------------------------
    def _on_image(self, change) -> None:
        self._set_image(test_image_path(change["new"]))

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        upload = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        try:
            self._set_image(Image.open(io.BytesIO(bytes(upload["content"]))))
            self.status.value = f"Showing your upload {upload.get('name', '')}."
        except Exception as error:                       # shown to the learner, not raised
            self.status.value = f"Could not use that file: {error}"

    def _on_model(self, change) -> None:
        try:
            self._set_model(change["new"])
        except Exception as error:
            self.status.value = f"Could not load {change['new']}: {error}"

    def _on_search(self, change) -> None:
        ids = search_class_ids(change["new"], self.top_classes)
        if ids:                              # the classes shown now stay selectable too
            kept = [c for c in (self.class_select.value, self.second_class.value)
                    if c is not None and c not in ids]
            self._set_class_options(ids + kept)
            self.render()

    def _on_lang(self, change) -> None:
        self._set_class_options([value for _, value in self.class_select.options])
        self.render()

    def _on_control(self, change) -> None:
        if not self._quiet:
            self.render()

    # -- computing and drawing ---------------------------------------------------------------
    def _panels(self) -> list[tuple[str, int]]:
        first = (self.method_select.value, self.class_select.value)
        if self.mode.value == "methods":
            return [first, (self.second_method.value, self.class_select.value)]
        if self.mode.value == "classes":
            return [first, (self.method_select.value, self.second_class.value)]
        return [first]

    def estimate(self) -> float:
        """Estimated seconds for the maps the current controls ask for (cached ones are free)."""
        total = 0.0
        for method, class_id in self._panels():
            if self._key(method, class_id) not in self._cache:
                total += estimate_seconds(method, self.model, self.x, self._layer(method),
                                          **self.settings)
        return total

    def _layer(self, method: str):
        return self.layer_select.value if METHODS[method].uses_layer else None

    def _key(self, method: str, class_id: int) -> tuple:
        return (self.model_select.value, method, self._layer(method), class_id)

    def heatmap(self, method: str, class_id: int) -> torch.Tensor:
        """The (H, W) map for one method and class on the current image and layer (cached)."""
        key = self._key(method, class_id)
        if key not in self._cache:
            self._cache[key] = explain(method, self.model, self.x, class_id,
                                       layer=self._layer(method), **self.settings)[0]
        return self._cache[key]

    def render(self, force: bool = False) -> None:
        """Update the pictures; methods slower than ``auto_seconds`` wait for ``force``.

        A change made while a background run is busy is not lost: the pictures are drawn
        again for the newest settings when that run ends."""
        if self.class_select.value is None:
            return
        if self._worker is not None and self._worker.is_alive():
            self._pending = True
            return
        self.layer_select.disabled = not METHODS[self.method_select.value].uses_layer
        self.second_method.disabled = self.mode.value != "methods"
        self.second_class.disabled = self.mode.value != "classes"
        seconds = self.estimate()
        self.cost.value = f"estimated {seconds:.1f} s" if seconds else "cached"
        if seconds > self.auto_seconds and not force:
            self.status.value = (f"{self.method_select.value} takes about {seconds:.0f} s here: "
                                 "press Run.")
            return
        if seconds > self.auto_seconds:                   # slow: keep the kernel responsive
            self._worker = threading.Thread(target=self._compute_and_draw, args=(seconds,),
                                            daemon=True)
            self._worker.start()
        else:
            self._compute_and_draw(seconds)

    def _compute_and_draw(self, estimate: float) -> None:
        start = time.perf_counter()
        done = threading.Event()

        def tick():                                       # estimated progress, never 100% early
            while not done.wait(0.2):
                self.progress.value = min(0.95, (time.perf_counter() - start) / max(estimate,
                                                                                     1e-3))
        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            panels = self._panels()
            for picture, (method, class_id) in zip(self.pictures, panels):
                heat = self.heatmap(method, class_id)
                overlay = overlay_heatmap(self.picture, heat, alpha=self.alpha.value)
                labelled = label_image(overlay, self.pred, class_id,
                                       float(self.probs[self.pred]), lang=self.lang.value)
                buffer = io.BytesIO()
                labelled.resize((self.size, self.size), Image.BILINEAR).save(buffer, "PNG")
                picture.value = buffer.getvalue()
            self.pictures[1].layout.display = None if len(panels) == 2 else "none"
            self.runs += 1
            took = time.perf_counter() - start
            described = " | ".join(
                " · ".join([m] + ([self._layer(m)] if self._layer(m) else [])
                           + [imagenet_label(c, self.lang.value)]) for m, c in panels)
            self.status.value = f"{described} · {took:.2f} s"
        except Exception as error:                        # shown in the widget
            self.status.value = f"{self.method_select.value} cannot run here: {error}"
        finally:
            done.set()
            ticker.join()
            self.progress.value = 1.0
        if threading.current_thread() is self._worker:    # a background run ends here
            self._worker = None
            if self._pending:                             # the settings changed meanwhile
                self._pending = False
                self.render()

    def wait(self, timeout: float = 600.0) -> None:
        """Block until a background run finishes (for scripts and tests)."""
        if self._worker is not None:
            self._worker.join(timeout)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
