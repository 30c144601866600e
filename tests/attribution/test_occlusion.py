import pytest
from captum.attr import Occlusion

import xai_helpers as xh
from xai_helpers.attribution.occlusion import occlusion, window_positions

import checks


def test_window_positions():
    assert window_positions(224, 15, 8)[-1] == 216 and len(window_positions(224, 15, 8)) == 28
    assert window_positions(20, 6, 4) == [0, 4, 8, 12, 16]
    assert window_positions(10, 10, 3) == [0]
    with pytest.raises(ValueError):
        window_positions(10, 11, 1)


def test_one_pixel_windows_on_a_linear_model_are_gradient_times_input():
    checks.assert_occlusion_is_gradient_times_input_on_a_linear_model(occlusion)


def test_equals_captum_with_windows_that_do_not_tile_and_are_not_square():
    """Measured 3e-8."""
    checks.assert_occlusion_agrees_with_captum(occlusion)


def test_equals_captum_on_the_real_model(model):
    x = xh.preprocess(model, xh.test_image_path("dog"))
    ours = occlusion(model, x, 235, window=(60, 60), stride=(50, 50))
    theirs = Occlusion(model).attribute(x, sliding_window_shapes=(3, 60, 60), strides=(3, 50, 50),
                                        target=235, baselines=0, perturbations_per_eval=8)
    assert (ours - theirs).abs().max() < 1e-4                # measured 9.5e-6 (layout rounding)
    assert xh.count_hooks(model) == 0 and next(model.parameters()).is_contiguous()
    # occluding the dog hurts the dog score more than occluding the sky
    assert ours[0, 0, 150, 50] > ours[0, 0, 10, 200]
