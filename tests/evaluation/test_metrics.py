"""Metrics on hand-built cases and against torchcam and scipy: localisation, faithfulness
(curves, average drop / increase), complexity, similarity."""
import pytest
import torch

import xai_helpers as xh
from xai_helpers.evaluation.metrics import (
    average_drop_increase,
    energy_in_mask,
    pointing_game,
    rank_correlation,
    sparseness,
)

import checks


def test_pointing_game_on_a_wide_mask():
    checks.check_pointing_game(pointing_game)
    with pytest.raises(ValueError, match="same"):
        pointing_game(torch.ones(1, 5, 5), torch.zeros(1, 5, 6, dtype=torch.bool))

def test_energy_in_mask_counts_positive_energy_only():
    checks.check_energy_in_mask(energy_in_mask)
    with pytest.raises(ValueError, match="same"):
        energy_in_mask(torch.ones(1, 5, 5), torch.zeros(2, 10, 10, dtype=torch.bool))

def test_random_maps_score_near_chance():
    data = xh.make_shapes(200, seed=5)
    maps = torch.rand(200, 64, 64, generator=torch.Generator().manual_seed(0))
    area = data.masks.float().mean()
    assert abs(float(energy_in_mask(maps, data.masks).mean()) - float(area)) < 0.01
    assert abs(float(pointing_game(maps, data.masks).float().mean()) - float(area)) < 0.06

def test_sparseness_is_the_gini_index():
    checks.check_sparseness(sparseness)

def test_rank_correlation_is_spearmans_and_matches_scipy():
    checks.check_rank_correlation(rank_correlation)

def test_average_drop_and_increase_equal_torchcam(shapes_model, shapes_test):
    from torchcam.methods import GradCAM as TorchcamGradCAM
    from torchcam.metrics import ClassificationMetric

    model, x = shapes_model, shapes_test.images[:16]
    targets = model(x).argmax(1).tolist()
    for logits_fn, score in [(None, "logit"), (lambda z: z.softmax(dim=-1), "probability")]:
        with TorchcamGradCAM(model, target_layer=model[9]) as extractor:
            metric = ClassificationMetric(extractor, logits_fn)
            metric.update(x, class_idx=targets)
            theirs = metric.summary()
            # the same maps torchcam scored: its CAM of the score it is given, upsampled
            outputs = model(x)
            small = extractor(targets, outputs if logits_fn is None else logits_fn(outputs))[0]
        maps = torch.nn.functional.interpolate(small[:, None].detach(), size=(64, 64),
                                               mode="bilinear", align_corners=False)[:, 0]
        drop, increase = average_drop_increase(model, x, maps, targets, score=score)
        assert drop.mean().item() == pytest.approx(theirs["avg_drop"], abs=1e-5), score
        assert increase.float().mean().item() == pytest.approx(theirs["conf_increase"], abs=1e-6)
        if score == "logit":                                    # our Grad-CAM: the same maps
            assert torch.allclose(small, xh.GradCAM(model, "9")(x, targets, size=None),
                                  atol=1e-5)


# -- the generated data set and its models ---------------------------------------------------

def test_deletion_and_insertion_curves(model):
    """Removing what Grad-CAM ranks first hurts more than removing it last (the same map,
    reversed). Random scattered pixels are no fair reference: grey salt-and-pepper noise
    takes an image off-distribution and kills any prediction fast."""
    x = xh.preprocess(model, xh.test_image_path("coffee"))
    cam = xh.GradCAM(model)(x, 967)[0]
    deletion = xh.deletion_curve(model, x, 967, cam, steps=10)
    assert deletion.fractions[0] == 0 and deletion.fractions[-1] == 1
    assert abs(float(deletion.probabilities[0]) - float(xh.predict(model, x)[0, 967])) < 1e-4
    assert deletion.auc < xh.deletion_curve(model, x, 967, -cam, steps=10).auc
    insertion = xh.insertion_curve(model, x, 967, cam, steps=10)
    assert torch.allclose(insertion.probabilities[-1], deletion.probabilities[0], atol=1e-4)
    assert insertion.auc > xh.insertion_curve(model, x, 967, -cam, steps=10).auc
    with pytest.raises(ValueError, match="upsample"):
        xh.deletion_curve(model, x, 967, torch.zeros(7, 7))

def test_curves_point_by_point_on_a_model_known_by_hand():
    checks.check_deletion_and_insertion(xh.deletion_curve, xh.insertion_curve)

def test_curve_auc_by_hand():
    curve = xh.Curve(torch.tensor([0.0, 0.5, 1.0]), torch.tensor([1.0, 0.5, 0.0]))
    assert curve.auc == pytest.approx(0.5)
