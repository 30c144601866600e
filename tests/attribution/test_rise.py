"""RISE: its random masks, the score-weighted average, and what it finds on a model known by
hand. No maintained package implements the authors' RISE (torchray's is a variant: sigmoid
scores, no division by p), so the checks are its definition and its statistics."""
import torch

import xai_helpers as xh

import checks


def test_masks_are_reproducible_soft_grids_that_keep_about_p():
    a = xh.rise_masks(200, (32, 32), cells=4, p=0.3, seed=0)
    assert torch.equal(a, xh.rise_masks(200, (32, 32), cells=4, p=0.3, seed=0))
    assert not torch.equal(a, xh.rise_masks(200, (32, 32), cells=4, p=0.3, seed=1))
    assert a.shape == (200, 32, 32) and 0 <= float(a.min()) and float(a.max()) <= 1
    assert abs(float(a.mean()) - 0.3) < 0.03                 # a cell is on with probability p
    assert 0.05 < float(((a > 0) & (a < 1)).float().mean())  # soft edges, not hard squares


def test_rise_is_the_score_weighted_mean_of_the_masks():
    """S = sum_i p(x * M_i) M_i / (N p): written out with the model called on each mask."""
    checks.check_rise_formula(xh.rise)


def test_rise_finds_the_region_a_model_reads_and_converges():
    """On a model that reads only one square, the saliency inside it is higher than outside,
    and doubling the masks changes the map less and less (Monte-Carlo convergence)."""
    model = checks.RegionModel(rows=slice(4, 12), cols=slice(16, 28), scale=8.0, offset=0.3)
    x = torch.ones(1, 3, 32, 32)
    maps = {n: xh.rise(model, x, 0, n_masks=n, cells=4, seed=0)[0] for n in (250, 1000, 4000)}
    final = maps[4000]
    assert final[4:12, 16:28].mean() > 0.1 + torch.cat([final[16:].flatten(),
                                                         final[:, :12].flatten()]).mean()
    assert (maps[1000] - final).abs().mean() < (maps[250] - final).abs().mean()
