"""One canvas for every method: image, model, class, layer, method, opacity — and comparisons.

``Explorer()`` shows, with plain ipywidgets (they render in JupyterLab 4 and classic notebooks):

- an image: a bundled test photo or an uploaded file (errors are shown, never raised);
- a model: EfficientNet-Lite0, or any torchvision model whose weights are on this machine;
- a class: the model's top 5, or any of the 1000 found by searching in English or Chinese;
- a layer slider (methods that use a layer), a method (all of :data:`xai_helpers.METHODS`),
  opacity;
- a comparison mode: two methods, or two classes, side by side.

Every map follows :func:`xai_helpers.explain`'s convention: positive evidence, min-max per
image, one colour map for every method. CAM methods reuse the forward pass of the current image
and layer (``widgets/base.py``): a new class, method, opacity or language answers at once, and
the status line shows how long it took. Before a slower method runs its cost is estimated;
methods under ``auto_seconds`` run as soon as a control moves, slower ones wait for the **Run**
button and show a progress bar while they work on a background thread.

Taught in ``notebooks/10_explorer.ipynb``.
"""
from __future__ import annotations

import io
import threading
import time

import ipywidgets as widgets
import torch
from PIL import Image

from ..core.images import ImageSource, list_test_images, load_image, test_image_path
from ..core.models import available_models, load_model
from ..registry import METHODS, estimate_seconds, explain
from .base import ExplorerBase

__all__ = ["Explorer"]


class Explorer(ExplorerBase):
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
        last_seconds: How long the last drawing took (also in the status line).

    Example:
        >>> explorer = Explorer("dog", lang="zh")       # doctest: +SKIP
        >>> explorer                                     # doctest: +SKIP
    """

    def __init__(self, image: ImageSource = "dog", model: torch.nn.Module | None = None,
                 method: str = "Grad-CAM", lang: str | None = None, size: int = 300,
                 auto_seconds: float = 2.0, settings: dict | None = None):
        self.models = {"efficientnet_lite0": model or load_model()}
        self.auto_seconds = auto_seconds
        self.settings = dict(settings or {})
        self._worker: threading.Thread | None = None
        self._pending = False            # a control moved while a background run was busy
        self.runs = 0
        super().__init__(self.models["efficientnet_lite0"],
                         {name: m.cam_class for name, m in METHODS.items()}, lang=lang,
                         size=size, method=method)

        photos = list_test_images()
        named = isinstance(image, str) and image in photos
        self.image_select = widgets.Dropdown(options=photos, description="Image",
                                             value=image if named else photos[0])
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="Upload")
        self.model_select = widgets.Dropdown(options=available_models(), description="Model")
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
        self.pictures = [widgets.Image(format="png", width=size, height=size) for _ in range(2)]
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
        self._set_image(test_image_path(self.image_select.value) if named or image is None
                        else image)
        self.image_select.observe(self._on_image, names="value")
        self.upload.observe(self._on_upload, names="value")
        self.model_select.observe(self._on_model, names="value")
        self.run_button.on_click(lambda _: self.render(force=True))
        self._observe()
        self.render()

    # -- state -----------------------------------------------------------------------------
    def _selects(self):
        return [self.class_select, self.second_class] if hasattr(self, "second_class") \
            else [self.class_select]

    def _controls(self):
        return super()._controls() + [self.mode, self.second_method, self.second_class]

    def _uses_layer(self, method: str) -> bool:
        return METHODS[method].uses_layer

    def _change_model(self, name: str) -> None:
        if name not in self.models:
            self.status.value = f"Loading {name} …"
            self.models[name] = load_model(name)
        self._set_model(self.models[name])
        self._set_image(self._source)

    def _set_image(self, source) -> None:
        picture = load_image(source)                      # raises a clear error on bad files
        self._source = picture
        super()._set_image(picture)

    # -- events ----------------------------------------------------------------------------
    def _on_image(self, change) -> None:
        self._set_image(test_image_path(change["new"]))
        self.render()

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        upload = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        try:
            self._set_image(Image.open(io.BytesIO(bytes(upload["content"]))))
            self.render()
            self.status.value = f"Showing your upload {upload.get('name', '')}. {self.status.value}"
        except Exception as error:                       # shown to the learner, not raised
            self.status.value = f"Could not use that file: {error}"

    def _on_model(self, change) -> None:
        try:
            self._change_model(change["new"])
            self.render()
        except Exception as error:
            self.status.value = f"Could not load {change['new']}: {error}"

    # -- computing and drawing ---------------------------------------------------------------
    def _panels(self) -> list[tuple[str, int]]:
        first = (self.method_select.value, self.class_select.value)
        if self.mode.value == "methods":
            return [first, (self.second_method.value, self.class_select.value)]
        if self.mode.value == "classes":
            return [first, (self.method_select.value, self.second_class.value)]
        return [first]

    def _compute(self, method: str, class_id: int) -> torch.Tensor:
        return explain(method, self.model, self.x, class_id, layer=self._layer(method),
                       **self.settings)[0]

    def estimate(self) -> float:
        """Estimated seconds for the maps the current controls ask for (cached ones are free)."""
        return sum(estimate_seconds(method, self.model, self.x, self._layer(method),
                                    **self.settings)
                   for method, class_id in self._panels() if not self.cached(method, class_id))

    def render(self, force: bool = False) -> None:
        """Update the pictures; methods slower than ``auto_seconds`` wait for ``force``.

        A change made while a background run is busy is not lost: the pictures are drawn
        again for the newest settings when that run ends."""
        if self.class_select.value is None:
            return
        if self._worker is not None and self._worker.is_alive():
            self._pending = True
            return
        self.layer_select.disabled = not self._uses_layer(self.method_select.value)
        self.second_method.disabled = self.mode.value != "methods"
        self.second_class.disabled = self.mode.value != "classes"
        seconds = self.estimate()
        self.cost.value = f"estimated {seconds:.1f} s" if seconds else "ready"
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
                self.progress.value = min(0.95, (time.perf_counter() - start)
                                          / max(estimate, 1e-3))
        ticker = threading.Thread(target=tick, daemon=True) if estimate else None
        if ticker is not None:
            ticker.start()
        try:
            self._timed(self._draw)
            self.runs += 1
        except Exception as error:                        # shown in the widget
            self.status.value = f"{self.method_select.value} cannot run here: {error}"
        finally:
            done.set()
            if ticker is not None:
                ticker.join()
            self.progress.value = 1.0
        if threading.current_thread() is self._worker:    # a background run ends here
            self._worker = None
            if self._pending:                             # the settings changed meanwhile
                self._pending = False
                self.render()

    def _draw(self) -> str:
        panels = self._panels()
        for picture, (method, class_id) in zip(self.pictures, panels):
            picture.value = self.picture_png(method, class_id)
        self.pictures[1].layout.display = None if len(panels) == 2 else "none"
        return " | ".join(self.describe(method, class_id) for method, class_id in panels)

    def wait(self, timeout: float = 600.0) -> None:
        """Block until a background run finishes (for scripts and tests)."""
        if self._worker is not None:
            self._worker.join(timeout)
