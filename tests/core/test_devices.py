"""Tensors follow the model's device; nothing hard-codes one.

This machine has no GPU, so the CUDA test skips here. The same code is still checked on the
CPU: PyTorch's ``meta`` device behaves like a second device (a CPU tensor of more than one
element mixed with a meta tensor raises "Tensor on device cpu is not on the expected device",
exactly as CPU and CUDA tensors do), so a helper that creates a tensor without
``device=`` fails here as it would on a GPU. Meta tensors hold no data, so methods whose
control flow reads values (Score-CAM's unique masks, occlusion's and LIME's bookkeeping,
I-GOS's random generator, the edge map, Ablation-CAM's skipped empty channels, Guided IG's
quantile steps) are left to the CUDA test and to the source check, and so are SS-CAM and IS-CAM:
they share Score-CAM's masking code and run one forward pass per channel and sample, which on
the meta device (shapes worked out in Python, op by op) takes minutes.
"""
import ast

import pytest
import torch

import xai_helpers as xh
from xai_helpers.registry import METHODS

DATA_DEPENDENT = {"Score-CAM", "Occlusion", "LIME", "I-GOS", "Edge detector", "Ablation-CAM",
                  "Guided IG"}
SLOW_ON_META = {"SS-CAM", "IS-CAM"}
SETTINGS = {"n_samples": 2, "n_steps": 2, "num_samples": 4, "iterations": 1, "n_masks": 8}


@pytest.fixture(scope="module")
def meta_model():
    return xh.load_model(device="cpu", pretrained=False).to("meta")


@pytest.mark.parametrize("name", [n for n in METHODS if n not in DATA_DEPENDENT | SLOW_ON_META])
def test_every_method_computes_on_the_models_device(meta_model, name):
    x = torch.empty(2, 3, 224, 224, device="meta")
    method = METHODS[name]
    maps = method.run(meta_model, x, torch.tensor([1, 2]), None, **method.settings(SETTINGS))
    assert maps.device.type == "meta" and maps.shape[0] == 2


def test_cam_classes_follow_the_model(meta_model):
    cam = xh.GradCAM(meta_model)
    maps = cam(torch.zeros(2, 3, 224, 224), [1, 2])          # a CPU input is moved over
    assert maps.device.type == "meta" and cam.logits.device.type == "meta"


def test_no_hard_coded_device_in_the_package():
    """Only load_model chooses a device (CUDA when available); everything else asks the
    model (``device_of``) or the input. Parsed, so docstrings and comments do not count."""
    found = []
    for path in sorted(xh.REPO_ROOT.joinpath("xai_helpers").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name == "load":           # torch.load(..., map_location="cpu"), then .to(device)
                continue
            literal = [a.value for a in node.args if isinstance(a, ast.Constant)] + [
                k.value.value for k in node.keywords
                if k.arg in ("device", "map_location") and isinstance(k.value, ast.Constant)]
            if name == "cuda" or (name == "device" and literal) or any(
                    value in ("cuda", "cpu") for value in literal if isinstance(value, str)):
                found.append(f"{path.name}:{node.lineno}")
    assert found == [], f"hard-coded devices at {found}"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_on_cuda_matches_the_cpu(model, name):
    x = xh.preprocess(model, [xh.test_image_path("dog"), xh.test_image_path("chelsea")])
    settings = {**SETTINGS, "num_samples": 30, "iterations": 2}
    torch.manual_seed(0)
    expected = xh.explain(name, model, x, [235, 282], **settings)
    gpu_model = xh.load_model(device="cuda")
    torch.manual_seed(0)
    got = xh.explain(name, gpu_model, x.cuda(), [235, 282], **settings)
    assert got.shape == expected.shape
    if name not in ("SmoothGrad", "LIME", "I-GOS"):          # random draws differ per device
        assert (got - expected).abs().max() < 1e-2, name
