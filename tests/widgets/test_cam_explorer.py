"""The CAM explorer reacts to its controls (the browser test checks it renders in JupyterLab)."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

import xai_helpers as xh
from xai_helpers.widgets.cam_explorer import CAMExplorer

import checks


def _png(picture, size: int) -> bytes:
    """The picture alone, drawn as the explorer draws its image (resized, PNG)."""
    buffer = io.BytesIO()
    array = np.round(xh.to_rgb_array(picture) * 255).astype(np.uint8)
    Image.fromarray(array).resize((size, size), Image.BILINEAR).save(buffer, "PNG")
    return buffer.getvalue()


def test_controls_change_the_picture(model):
    explorer = CAMExplorer(model, xh.test_image_path("dog"),
                           layers=["_blocks.11", "_blocks.15", "_head_act"])
    first = explorer.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and "Grad-CAM" in explorer.status.value
    assert explorer.class_select.value == explorer.top_classes[0]

    explorer.class_select.value = explorer.top_classes[1]
    second = explorer.image.value
    assert checks.heatmap_changed(first, second)                # the map, not only the label

    explorer.layer_select.value = "_blocks.11"
    third = explorer.image.value
    assert checks.heatmap_changed(second, third) and "_blocks.11" in explorer.status.value

    explorer.lang.value = "zh"                                  # the label, not the map
    fourth = explorer.image.value
    assert checks.band_changed(third, fourth) and not checks.heatmap_changed(third, fourth, 0.5)
    explorer.alpha.value = 0.0                                  # picture only: no heatmap
    plain = checks.picture_rows(explorer.image.value)
    picture = checks.picture_rows(_png(explorer.picture, explorer.size))
    assert np.abs(plain - picture).mean() < 1.0
    assert xh.count_hooks(model) == 0


def test_search_in_chinese_and_cam_on_the_wrong_layer(model):
    explorer = CAMExplorer(model, xh.test_image_path("chelsea"), methods=["CAM", "Grad-CAM"],
                           layers=["_blocks.15", "_head_act"])
    explorer.search.value = "浓缩咖啡"
    # the drink (意式浓缩咖啡 ends with the query) ranks before the machine (浓缩咖啡机); the
    # class shown so far stays in the list
    shown = explorer.top_classes[0]
    assert [value for _, value in explorer.class_select.options] == [967, 550, shown]
    explorer.layer_select.value = "_blocks.15"
    explorer.method_select.value = "CAM"
    assert "cannot run here" in explorer.status.value and "pooled layer" in explorer.status.value
    explorer.search.value = ""
    assert [v for _, v in explorer.class_select.options] == explorer.top_classes


@pytest.mark.parametrize("layer", ["_head_act", "_blocks.10"])
def test_the_activation_cache_gives_the_cam_classes_own_maps(model, layer):
    """The explorer's shortcut (one forward pass kept, one backward per class) computes exactly
    what each CAM class computes from scratch."""
    from xai_helpers.widgets.base import ActivationCache

    x = xh.preprocess(model, xh.test_image_path("dog"))
    cache = ActivationCache(model, x, layer)
    for name, method in xh.CAM_METHODS.items():
        # the methods that run the model once per channel (Score-CAM, SS-CAM, IS-CAM,
        # Ablation-CAM) reuse nothing but the activations, at minutes per map here
        if not xh.METHODS[name].backward or (name == "CAM" and layer != "_head_act"):
            continue
        for class_id in (235, 671):
            torch.manual_seed(0)                       # SmoothGrad-CAM++ draws its noise
            expected = method(model, layer)(x, class_id)[0]
            torch.manual_seed(0)
            assert torch.allclose(cache.cam(method, class_id), expected, atol=1e-5), name
    assert xh.count_hooks(model) == 0


def test_only_what_changed_is_recomputed(model):
    """A new class: no forward pass. Opacity and language: no model call at all."""
    explorer = CAMExplorer(model, xh.test_image_path("dog"), layers=["_blocks.15", "_head_act"])
    calls = []
    handle = model.register_forward_pre_hook(lambda module, inputs: calls.append("forward"))
    try:
        explorer.class_select.value = explorer.top_classes[2]
        explorer.method_select.value = "LayerCAM"
        assert calls == []                                    # the cached forward pass served
        explorer.alpha.value = 0.8
        explorer.lang.value = "zh"
        assert calls == []
        explorer.layer_select.value = "_blocks.15"
        assert calls == ["forward"]                           # a new layer: one forward pass
    finally:
        handle.remove()
    assert "ms" in explorer.status.value and explorer.last_seconds > 0
