"""The batch-size probe (xh.best_batch_size): what it times, what it picks, when it stops.

A fake clock makes the timings exact: the network advances it by a per-image cost that depends
on the batch size, so each test knows the right answer without measuring anything real.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

import xai_helpers as xh
from xai_helpers.core import batching

#: Fake milliseconds per image at each batch size; tests replace it.
COST: dict[int, float] = {}
CLOCK = [0.0]
SEEN: list[torch.Tensor] = []


class CostedNet(nn.Module):
    """A tiny classifier whose every forward pass advances the fake clock."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        SEEN.append(x.detach().clone())
        CLOCK[0] += COST[len(x)] * len(x) / 1000
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))


@pytest.fixture
def net(monkeypatch):
    monkeypatch.setattr(batching.time, "perf_counter", lambda: CLOCK[0])
    SEEN.clear()
    return CostedNet().train()          # train mode: the probe must not change it


def test_picks_the_lowest_time_per_image_not_per_batch(net):
    # per batch, size 1 is cheapest (30 ms); per image, 8 is (15 ms): a probe comparing whole
    # batches, or picking the largest size tried, is wrong here
    COST.update({1: 30, 2: 25, 4: 20, 8: 15, 16: 40})
    assert xh.best_batch_size(net, (3, 8, 8)) == 8
    assert xh.choose_batch_size({1: 30, 2: 25, 4: 20, 8: 15, 16: 40}) == 8
    timings = xh.batch_timings(net, (3, 8, 8), patience=10.0)
    assert {size: round(s * 1000, 6) for size, s in timings.items()} == COST


def test_near_ties_go_to_the_smaller_batch():
    # within 5 % of the fastest counts as equally fast; a strict minimum would take 8 or 16
    assert xh.choose_batch_size({1: 0.030, 2: 0.024, 4: 0.0201, 8: 0.0200, 16: 0.0199}) == 4
    assert xh.choose_batch_size({1: 0.030, 2: 0.024, 4: 0.0220, 8: 0.0200}) == 8


def test_a_burst_of_load_does_not_decide_the_winner(net, monkeypatch):
    """Every size is timed in several rounds and keeps its fastest: a slow moment in one round
    (here the first round's batches of 4) does not hand the win to another size."""
    COST.update({1: 30, 2: 25, 4: 15, 8: 20, 16: 40})
    calls = []
    real = CostedNet.forward

    def bursty(self, x):
        calls.append(len(x))
        out = real(self, x)
        if calls.count(4) <= 2 and len(x) == 4:
            CLOCK[0] += 4 * 0.030       # the first round's two batches of 4: 30 ms more per image
        return out

    monkeypatch.setattr(CostedNet, "forward", bursty)
    one_round = xh.batch_timings(net, (3, 8, 8), repeats=2)
    assert one_round[4] == pytest.approx(0.045) and xh.choose_batch_size(one_round) == 2
    calls.clear()                                    # the same burst in the real probe
    assert xh.best_batch_size(net, (3, 8, 8)) == 4


def test_stops_once_larger_batches_stop_paying(net):
    COST.update({1: 10, 2: 30, 4: 5, 8: 5, 16: 5})   # 2 is 3x slower than 1: stop there
    timings = xh.batch_timings(net, (3, 8, 8))
    assert list(timings) == [1, 2]
    assert max(len(x) for x in SEEN) == 2            # 4, 8 and 16 never ran


def test_times_the_image_it_is_given(net):
    COST.update({1: 10, 2: 9, 4: 8, 8: 7, 16: 6})
    example = torch.rand(1, 3, 8, 8) + 0.5
    xh.best_batch_size(net, (3, 8, 8), example=example)
    assert SEEN and all(torch.equal(x, example.expand_as(x)) for x in SEEN)
    SEEN.clear()
    xh.batch_timings(net, (3, 8, 8))                  # no example: smooth noise
    assert all(x.abs().sum() > 0 and torch.equal(x[0], SEEN[0][0]) for x in SEEN)
    with pytest.raises(ValueError, match="one image of the batch"):
        xh.batch_timings(net, (3, 8, 8), example=torch.rand(1, 3, 9, 9))


def test_measured_once_pinned_by_the_learner_and_the_model_unchanged(net):
    COST.update({1: 10, 2: 9, 4: 8, 8: 7, 16: 6})
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert xh.best_batch_size(net, (3, 8, 8)) == 16
    SEEN.clear()
    COST.update({1: 1, 16: 100})
    assert xh.best_batch_size(net, (3, 8, 8)) == 16 and not SEEN   # remembered, not re-run
    xh.set_batch_size(net, 3)
    assert xh.best_batch_size(net, (3, 8, 8)) == 3
    xh.set_batch_size(net, None)                                    # measure again
    assert xh.best_batch_size(net, (3, 8, 8)) == 1
    with pytest.raises(ValueError, match="positive integer"):
        xh.set_batch_size(net, 0)
    assert net.training and all(m.training for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())   # BN buffers too
    assert xh.count_hooks(net) == 0
