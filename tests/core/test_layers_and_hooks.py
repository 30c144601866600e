import pytest
import torch

import xai_helpers as xh


def test_get_layer_by_name_and_by_module(tiny_cnn):
    assert xh.get_layer(tiny_cnn, "2") is tiny_cnn[2]
    assert xh.get_layer(tiny_cnn, tiny_cnn[2]) is tiny_cnn[2]
    assert xh.layer_name(tiny_cnn, tiny_cnn[6]) == "6"


def test_wrong_layer_name_lists_close_matches(model):
    with pytest.raises(ValueError) as info:
        xh.get_layer(model, "_block.15")
    assert "'_blocks.15'" in str(info.value) and "list_conv_layers" in str(info.value)


def test_foreign_module_and_wrong_type(tiny_cnn):
    with pytest.raises(ValueError, match="not part of"):
        xh.get_layer(tiny_cnn, torch.nn.ReLU())
    with pytest.raises(TypeError):
        xh.get_layer(tiny_cnn, 3)


def test_list_conv_layers_shapes(tiny_cnn, model):
    table = xh.list_conv_layers(tiny_cnn, (16, 16))
    assert table.values.tolist() == [["0", "Conv2d", 4, 16, 16], ["2", "Conv2d", 6, 8, 8]]
    effnet = xh.list_conv_layers(model)
    head = effnet[effnet.layer == "_conv_head"].iloc[0]
    assert (head.channels, head.height, head.width) == (1280, 7, 7)
    assert effnet.iloc[0].layer == "_conv_stem" and effnet.iloc[0].height == 112
    assert xh.count_hooks(model) == 0


def test_recorder_matches_a_manual_forward(tiny_cnn):
    x = torch.rand(2, 3, 8, 8)
    with xh.LayerRecorder(tiny_cnn, ["0", "2"]) as rec:
        tiny_cnn(x)
    expected0 = tiny_cnn[0](x)
    assert torch.allclose(rec.activations["0"], torch.relu(expected0))  # in-place ReLU after 0
    assert torch.allclose(rec.activations["2"], tiny_cnn[2](torch.relu(expected0)))
    assert rec.order == ["0", "2"] and rec.calls == {"0": 1, "2": 1}


def test_recorded_gradients_equal_autograd(tiny_cnn):
    x = torch.rand(1, 3, 8, 8)
    with xh.LayerRecorder(tiny_cnn, "3", gradients=True) as rec:
        score = tiny_cnn(x)[0, 2]
        (expected,) = torch.autograd.grad(score, rec.activations["3"], retain_graph=True)
        score.backward()
    assert torch.allclose(rec.gradients["3"], expected)
    # by hand: d score / d A = fc weight of class 2, spread evenly over the 4x4 positions
    by_hand = tiny_cnn[6].weight[2].view(1, 6, 1, 1).expand(1, 6, 4, 4) / 16
    assert torch.allclose(expected, by_hand)


def test_reused_module_is_counted():
    act = torch.nn.ReLU()
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), act, torch.nn.Linear(2, 2), act)
    with xh.LayerRecorder(net, "1") as rec:
        net(torch.rand(1, 2))
    assert rec.calls["1"] == 2


def test_no_hooks_left_after_use_repeats_and_errors(tiny_cnn):
    assert xh.count_hooks(tiny_cnn) == 0
    for _ in range(100):
        with xh.LayerRecorder(tiny_cnn, ["0", "2", "4"], gradients=True):
            tiny_cnn(torch.rand(1, 3, 8, 8)).sum().backward()
    assert xh.count_hooks(tiny_cnn) == 0
    with pytest.raises(RuntimeError, match="boom"):
        with xh.LayerRecorder(tiny_cnn, "0"):
            assert xh.count_hooks(tiny_cnn) == 1
            raise RuntimeError("boom")                      # not swallowed
    assert xh.count_hooks(tiny_cnn) == 0
    with pytest.raises(ValueError):
        xh.LayerRecorder(tiny_cnn, ["0", "nope"])            # bad name: nothing registered
    assert xh.count_hooks(tiny_cnn) == 0
    recorder = xh.LayerRecorder(tiny_cnn, "0").__enter__()
    recorder.remove()
    recorder.remove()                                       # idempotent
    assert xh.count_hooks(tiny_cnn) == 0


def test_gradients_and_detach_conflict(tiny_cnn):
    with pytest.raises(ValueError, match="detach"):
        xh.LayerRecorder(tiny_cnn, "0", gradients=True, detach=True)


def test_in_place_overwrite_is_detected(tiny_cnn):
    x = torch.rand(1, 3, 8, 8)
    with xh.LayerRecorder(tiny_cnn, ["0", "1", "2"]) as rec:
        tiny_cnn(x)
    assert rec.modified_in_place("0")          # conv output overwritten by ReLU(inplace=True)
    assert not rec.modified_in_place("1") and not rec.modified_in_place("2")
    with xh.LayerRecorder(tiny_cnn, "0") as rec, torch.inference_mode():
        tiny_cnn(x)
    assert not rec.modified_in_place("0")      # no version counter: cannot tell, says False
