"""The model-randomisation sanity check and the evaluation table."""
import pytest
import torch

import xai_helpers as xh
from xai_helpers.datasets.shapes import load_shapes_cnn
from xai_helpers.evaluation.metrics import energy_in_mask
from xai_helpers.evaluation.sanity import (
    cascading_randomisation,
    parametric_layers,
    randomisation_similarity,
)
from xai_helpers.registry import edge_map, explain


def test_sanity_check_flags_the_edge_detector_and_passes_grad_cam(shapes_model, shapes_test):
    x = shapes_test.images[:8]
    targets = shapes_model(x).argmax(1)
    before = {name: explain(name, shapes_model, x, targets) for name in ("Grad-CAM",
                                                                          "Edge detector")}
    layers = parametric_layers(shapes_model)
    assert layers == ["0", "3", "6", "8", "12"]
    steps = list(cascading_randomisation(shapes_model, layers))
    assert [name for name, _ in steps] == ["12", "8", "6", "3", "0"]
    name, fully_random = steps[-1]
    edge_after = explain("Edge detector", fully_random, x, targets)
    grad_cam_after = explain("Grad-CAM", fully_random, x, targets)
    assert randomisation_similarity(before["Edge detector"], edge_after).min() > 0.999
    assert randomisation_similarity(before["Grad-CAM"], grad_cam_after).mean() < 0.5
    assert torch.equal(shapes_model[0].weight, load_shapes_cnn("clean")[0].weight)  # untouched
    assert torch.allclose(edge_map(torch.ones(1, 3, 5, 5)), torch.zeros(1, 5, 5))

def test_evaluate_methods_and_the_table(shapes_model, shapes_test):
    x, masks, y = shapes_test.images[:6], shapes_test.masks[:6], shapes_test.labels[:6]
    calls = []
    results = xh.evaluate_methods(shapes_model, x, masks, y, ["Grad-CAM", "Edge detector"],
                                  curve_steps=8, progress=calls.append)
    assert calls == ["Grad-CAM", "Edge detector"]
    grad_cam = results["Grad-CAM"]
    assert grad_cam["energy"] == pytest.approx(float(energy_in_mask(
        explain("Grad-CAM", shapes_model, x, y), masks).mean()), abs=1e-6)
    assert 0 <= grad_cam["deletion"] <= 1 and 0 <= grad_cam["insertion"] <= 1
    assert grad_cam["seconds"] > 0
    english = xh.results_table(results, lang="en", sort_by="deletion")
    assert list(english.index) == sorted(results, key=lambda m: results[m]["deletion"])
    assert "energy in mask ↑" in english.columns
    chinese = xh.results_table(results, lang="zh")
    assert "掩码内能量 ↑" in chinese.columns and "Grad-CAM 梯度加权类激活映射" in chinese.index
    with pytest.raises(ValueError, match="sort_by"):
        xh.results_table(results, sort_by="beauty")

def test_sanity_scores_table(shapes_model, shapes_test):
    table = xh.sanity_scores(shapes_model, shapes_test.images[:4], shapes_test.labels[:4],
                             ["Grad-CAM", "Edge detector"])
    assert list(table.index) == ["12", "8", "6", "3", "0"]
    assert (table["Edge detector"] > 0.999).all()
    assert table["Grad-CAM"].iloc[-1] < 0.5
