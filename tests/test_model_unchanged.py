"""Explaining never changes the model: every method of the registry, on a model in train mode
with BatchNorm and Dropout (and a frozen BatchNorm inside), leaves parameters, buffers (the
BatchNorm statistics!), gradients, every module's own mode and the hook count exactly as they
were — also when the method fails halfway."""
import copy

import pytest
import torch
from torch import nn

import xai_helpers as xh
from xai_helpers.registry import METHODS

SETTINGS = dict(n_samples=2, n_steps=2, num_samples=12, segments=6, iterations=1, ig_steps=2,
                window=16, stride=16)


def train_mode_model() -> nn.Sequential:
    """A small CNN in train mode, with BatchNorm, Dropout, and a frozen BatchNorm (eval) inside:
    the mode mix of a model being fine-tuned."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Dropout(0.5), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
    with torch.no_grad():                                   # non-trivial running statistics
        for _ in range(3):
            net(torch.randn(4, 3, 32, 32))
    net.train()
    net[4].eval()                                           # the frozen BatchNorm
    net[0].weight.grad = torch.full_like(net[0].weight, 0.5)    # a gradient left by training
    net.xai_spec = xh.ModelSpec("tiny", cam_layer="5", classifier="9",
                                preprocessing=xh.Preprocessing((0.5,) * 3, (0.5,) * 3, resize=32,
                                                               crop=32), num_classes=3)
    return net


def snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "modes": [(name, m.training) for name, m in model.named_modules()],
        "grads": {n: None if p.grad is None else p.grad.clone()
                  for n, p in model.named_parameters()},
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "hooks": xh.count_hooks(model),
        "modules": [(name, type(m)) for name, m in model.named_modules()],
    }


def assert_same(before: dict, after: dict, what: str) -> None:
    assert before["modes"] == after["modes"], f"{what}: a module's train/eval mode changed"
    assert before["hooks"] == after["hooks"] == 0, f"{what}: hooks left behind"
    assert before["modules"] == after["modules"], f"{what}: modules replaced"
    assert before["requires_grad"] == after["requires_grad"], f"{what}: requires_grad changed"
    for key, value in before["state"].items():
        assert torch.equal(value, after["state"][key]), f"{what}: {key} changed"
    for key, value in before["grads"].items():
        other = after["grads"][key]
        assert (value is None and other is None) or (value is not None and other is not None
                                                     and torch.equal(value, other)), \
            f"{what}: the .grad of {key} changed"


@pytest.fixture
def x():
    return torch.rand(2, 3, 32, 32) * 2 - 1


@pytest.mark.parametrize("name", list(METHODS))
def test_explaining_leaves_the_model_as_it_was(name, x):
    model = train_mode_model()
    before = snapshot(model)
    layer = "2" if METHODS[name].uses_layer and name != "CAM" else None
    maps = xh.explain(name, model, x, [0, 2], layer=layer, **SETTINGS)
    assert maps.shape == (2, 32, 32)
    assert_same(before, snapshot(model), name)


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("name", [n for n in METHODS if n != "Edge detector"])
def test_a_method_that_fails_halfway_leaves_the_model_as_it_was(name, x):
    """The classifier fails when the method first runs the model (its hooks are registered,
    its modes switched; copies of the model inherit the failure)."""
    model = train_mode_model()
    before = snapshot(model)
    calls = []

    def fail(module, inputs, output):
        calls.append(1)
        if len(calls) >= 1:
            raise Boom("injected failure")

    handle = model[9].register_forward_hook(fail)
    before["hooks"] = 0
    try:
        with pytest.raises(Boom):
            layer = "2" if METHODS[name].uses_layer and name != "CAM" else None
            xh.explain(name, model, x, [0, 2], layer=layer, **SETTINGS)
    finally:
        handle.remove()
    assert_same(before, snapshot(model), name)


def test_the_helpers_notebooks_call_leave_the_model_as_it_was(x):
    """Not only the methods: listing layers, predicting, scoring and training helpers too."""
    model = train_mode_model()
    before = snapshot(model)
    xh.list_conv_layers(model, (32, 32))
    xh.predict(model, x)
    xh.class_ids(model, x, None)
    xh.accuracy(model, x, torch.tensor([0, 1]))
    xh.average_drop_increase(model, x, torch.rand(2, 32, 32), [0, 1])
    xh.deletion_curve(model, x[:1], 0, torch.rand(32, 32), steps=2)
    xh.estimate_seconds("Grad-CAM", model, x)
    xh.fine_tune_head(model, x, torch.tensor([0, 1]), epochs=1)
    list(xh.cascading_randomisation(model, ["9"]))
    assert_same(before, snapshot(model), "helpers")


def test_eval_mode_restores_every_module_also_after_an_error():
    model = train_mode_model()
    modes = [m.training for m in model.modules()]
    with pytest.raises(Boom), xh.eval_mode(model):
        assert not any(m.training for m in model.modules())
        raise Boom()
    assert [m.training for m in model.modules()] == modes
    frozen = copy.deepcopy(model)
    with xh.eval_mode(frozen):
        pass
    assert not frozen[4].training and frozen[1].training
