import pytest
import torch
from captum.attr import Occlusion

import xai_helpers as xh
from xai_helpers.perturbation import occlusion, window_positions


def test_window_positions():
    assert window_positions(224, 15, 8)[-1] == 216 and len(window_positions(224, 15, 8)) == 28
    assert window_positions(20, 6, 4) == [0, 4, 8, 12, 16]
    assert window_positions(10, 10, 3) == [0]
    with pytest.raises(ValueError):
        window_positions(10, 11, 1)


def test_one_pixel_windows_on_a_linear_model_are_gradient_times_input():
    """f = w.x: occluding pixel (i, j) with 0 drops the score by sum_c w_cij x_cij exactly."""
    torch.manual_seed(0)
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 5 * 5, 2)).eval()
    x = torch.randn(1, 3, 5, 5)
    attr = occlusion(linear, x, 1, window=(1, 1), stride=(1, 1), batch_size=7)
    expected = (linear[1].weight[1].view(3, 5, 5) * x[0]).sum(0)
    assert torch.allclose(attr[0, 0], expected, atol=1e-5)
    assert torch.equal(attr[0, 0], attr[0, 2])               # same value in every channel


def test_equals_captum_with_windows_that_do_not_tile(tiny_cnn):
    x = torch.randn(2, 3, 20, 20)
    ours = occlusion(tiny_cnn, x, [1, 3], window=(6, 6), stride=(4, 4), baseline=0.5)
    theirs = Occlusion(tiny_cnn).attribute(x, sliding_window_shapes=(3, 6, 6), strides=(3, 4, 4),
                                           target=[1, 3], baselines=0.5)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_equals_captum_on_the_real_model(model):
    x = xh.preprocess(model, xh.test_image_path("dog"))
    ours = occlusion(model, x, 235, window=(60, 60), stride=(50, 50))
    theirs = Occlusion(model).attribute(x, sliding_window_shapes=(3, 60, 60), strides=(3, 50, 50),
                                        target=235, baselines=0, perturbations_per_eval=8)
    assert (ours - theirs).abs().max() < 1e-4                # measured 9.5e-6 (layout rounding)
    assert xh.count_hooks(model) == 0 and next(model.parameters()).is_contiguous()
    # occluding the dog hurts the dog score more than occluding the sky
    assert ours[0, 0, 150, 50] > ours[0, 0, 10, 200]
