"""I-GOS: its pieces by hand, and the optimised mask against Grad-CAM and a random map."""
import torch

import xai_helpers as xh
from xai_helpers.attribution.igos import blurred_baseline, igos, total_variation

import checks


def test_total_variation_by_hand():
    flat = torch.ones(1, 1, 4, 4)
    assert total_variation(flat).item() == 0.0
    stripes = torch.tensor([[[[0.0, 1.0, 0.0]] * 3]])          # 3x3, alternating columns
    # horizontal: every neighbour pair differs by 1 -> mean 1; vertical: 0
    assert total_variation(stripes).item() == 1.0
    assert total_variation(stripes * 0.5, beta=2).item() == 0.25


def test_blurred_baseline_keeps_the_mean_and_removes_detail(model):
    x = xh.preprocess(model, xh.test_image_path("coffee"))
    blurred = blurred_baseline(x)
    assert blurred.shape == x.shape
    assert abs(float(blurred.mean() - x.mean())) < 0.05
    assert blurred.diff(dim=-1).abs().mean() < 0.2 * x.diff(dim=-1).abs().mean()  # measured 12%


def test_igos_beats_a_random_map_on_deletion_and_leaves_the_model_alone(model):
    x = xh.preprocess(model, xh.test_image_path("coffee"))
    model.train()
    try:
        result = igos(model, x, 967, iterations=4, ig_steps=5, seed=0)
        assert model.training                                    # mode restored
    finally:
        model.eval()
    assert result.mask.shape == (1, 1, 28, 28) and result.saliency.shape == (224, 224)
    assert 0 <= float(result.mask.min()) and float(result.mask.max()) <= 1
    assert len(result.history) == 4 and float(result.mask.min()) < 1.0     # the mask moved
    assert xh.count_hooks(model) == 0
    baseline = blurred_baseline(x)
    random_map = torch.nn.functional.interpolate(
        torch.rand(1, 1, 7, 7, generator=torch.Generator().manual_seed(0)), size=(224, 224),
        mode="bilinear")[0, 0]
    ours = xh.deletion_curve(model, x, 967, result.saliency, baseline=baseline).auc
    chance = xh.deletion_curve(model, x, 967, random_map, baseline=baseline).auc
    assert ours < chance                                        # measured 0.08 vs 0.32 at 10 it.


def test_igos_finds_the_region_a_saturated_model_reads():
    """Measured: mean saliency 0.097 inside the region, 0.003 outside."""
    checks.check_igos_finds_the_region(igos)


def test_igos_is_reproducible_with_a_seed(model):
    x = xh.preprocess(model, xh.test_image_path("coffee"))
    a = igos(model, x, 967, iterations=2, ig_steps=3, seed=5)
    b = igos(model, x, 967, iterations=2, ig_steps=3, seed=5)
    assert torch.equal(a.mask, b.mask)
