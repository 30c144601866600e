"""The all-methods explorer, driven through its controls (the browser test does it with a mouse)."""
import datetime
import io
import threading

import numpy as np
import pytest
from PIL import Image

import xai_helpers as xh

import checks

NOW = datetime.datetime.now(datetime.timezone.utc)


@pytest.fixture(scope="module")
def explorer(model):
    return xh.Explorer("dog", model=model, auto_seconds=30.0, settings={"num_samples": 40})


def test_controls_change_the_picture(explorer):
    assert explorer.runs >= 1 and explorer.pictures[0].value[:4] == b"\x89PNG"
    before = explorer.pictures[0].value
    explorer.class_select.value = explorer.class_select.options[1][1]
    after_class = explorer.pictures[0].value
    assert checks.heatmap_changed(before, after_class)        # the map, not only the label
    explorer.layer_select.value = explorer.layer_select.options[0]
    assert checks.heatmap_changed(after_class, explorer.pictures[0].value)
    assert "Grad-CAM" in explorer.status.value


def test_compare_modes_and_language(explorer):
    explorer.mode.value = "methods"
    assert explorer.pictures[1].layout.display is None
    assert checks.heatmap_changed(explorer.pictures[0].value, explorer.pictures[1].value)
    assert "Saliency" in explorer.status.value
    explorer.lang.value = "zh"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in explorer.class_select.options[0][0])
    explorer.mode.value = "single"
    assert explorer.pictures[1].layout.display == "none"
    explorer.lang.value = "en"


def test_slow_methods_wait_for_run_and_report_progress(model):
    slow = xh.Explorer("coffee", model=model, auto_seconds=0.0, settings={"num_samples": 30})
    runs = slow.runs
    slow.method_select.value = "LIME"
    assert slow.runs == runs and "press Run" in slow.status.value
    assert slow.cost.value.startswith("estimated")
    slow.run_button.click()
    slow.wait()
    assert slow.runs == runs + 1 and slow.progress.value == 1.0
    assert "LIME" in slow.status.value
    assert slow.layer_select.disabled                               # LIME has no layer


def test_search_and_upload(explorer):
    explorer.search.value = "espresso"
    assert 967 in [value for _, value in explorer.class_select.options]
    explorer.search.value = ""
    picture = Image.fromarray(np.full((80, 120), 128, np.uint8))    # grayscale upload
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    content = buffer.getvalue()
    explorer.upload.value = ({"name": "grey.png", "content": memoryview(content),
                              "type": "image/png", "size": len(content), "last_modified": NOW},)
    assert "grey.png" in explorer.status.value
    explorer.upload.value = ({"name": "broken.jpg", "content": memoryview(b"not an image"),
                              "type": "image/jpeg", "size": 12, "last_modified": NOW},)
    assert "Could not use that file" in explorer.status.value


def test_available_models_lists_the_offline_model():
    assert xh.available_models()[0] == "efficientnet_lite0"


def test_a_change_during_a_background_run_is_drawn_afterwards(model):
    """Moving a control while a slow method computes must not be lost."""
    slow = xh.Explorer("coffee", model=model, auto_seconds=0.0, settings={"num_samples": 30})
    slow.method_select.value = "LIME"
    started, release = threading.Event(), threading.Event()
    heatmap = slow.heatmap

    def held_heatmap(method, class_id):                       # LIME waits until released
        if method == "LIME":
            started.set()
            release.wait(60)
        return heatmap(method, class_id)

    slow.heatmap = held_heatmap
    slow.run_button.click()                                   # background thread
    assert started.wait(60) and slow._worker.is_alive()
    slow.mode.value = "methods"                               # changed while it runs
    release.set()
    slow.wait()
    assert slow._worker is None and "press Run" in slow.status.value  # the change was seen
    slow.run_button.click()
    slow.wait()
    assert slow.pictures[1].layout.display is None            # the second panel was drawn
    assert "Saliency" in slow.status.value
