"""The batch-size probe (xh.best_batch_size): what it times, what it picks, when it stops.

The checks run on a fake clock (``tests/checks.py``: a network that advances it by a per-image
cost that depends on the batch size), so each test knows the right answer without timing
anything real; ``tests/test_mutants.py`` runs the same checks on wrong probes.
"""
from __future__ import annotations

import json

import pytest
import torch

import xai_helpers as xh

import checks
from checks import PROBE_SEEN, fake_clock


def test_picks_the_lowest_time_per_image_not_per_batch():
    checks.check_probe_picks_per_image_time(xh.best_batch_size)
    cost = {1: 30, 2: 25, 4: 20, 8: 15, 16: 40}
    with fake_clock(cost) as net:
        timings = xh.batch_timings(net, (3, 8, 8), patience=10.0)
    assert {size: round(s * 1000, 6) for size, s in timings.items()} == cost


def test_near_ties_go_to_the_smaller_batch():
    checks.check_near_ties_go_to_the_smaller_batch(xh.choose_batch_size)


def test_a_burst_of_load_does_not_decide_the_winner():
    checks.check_a_burst_of_load_does_not_pick_the_size(xh.best_batch_size)


def test_stops_once_larger_batches_stop_paying():
    with fake_clock({1: 10, 2: 30, 4: 5, 8: 5, 16: 5}) as net:   # 2 is 3x slower than 1
        assert list(xh.batch_timings(net, (3, 8, 8))) == [1, 2]
    assert max(len(x) for x in PROBE_SEEN) == 2                   # 4, 8 and 16 never ran


def test_times_the_image_it_is_given():
    checks.check_probe_times_the_example(xh.batch_timings)
    with fake_clock({1: 10, 2: 9, 4: 8, 8: 7, 16: 6}) as net:
        xh.batch_timings(net, (3, 8, 8))                         # no example: smooth noise
    assert all(x.abs().sum() > 0 and torch.equal(x[0], PROBE_SEEN[0][0]) for x in PROBE_SEEN)
    with fake_clock({1: 10}) as net, pytest.raises(ValueError, match="one image of the batch"):
        xh.batch_timings(net, (3, 8, 8), example=torch.rand(1, 3, 9, 9))


def test_measured_once_pinned_by_the_learner_and_the_model_unchanged():
    with fake_clock({1: 10, 2: 9, 4: 8, 8: 7, 16: 6}) as net:
        before = {k: v.clone() for k, v in net.state_dict().items()}
        assert xh.best_batch_size(net, (3, 8, 8)) == 16
        PROBE_SEEN.clear()
        checks.PROBE_COST.update({1: 1, 16: 100})
        assert xh.best_batch_size(net, (3, 8, 8)) == 16 and not PROBE_SEEN   # remembered
        xh.set_batch_size(net, 3)
        assert xh.best_batch_size(net, (3, 8, 8)) == 3
        xh.set_batch_size(net, None)                                         # measure again
        assert xh.best_batch_size(net, (3, 8, 8)) == 1
        with pytest.raises(ValueError, match="positive integer"):
            xh.set_batch_size(net, 0)
    assert net.training and all(m.training for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())   # BN buffers too
    assert xh.count_hooks(net) == 0


def test_a_measured_size_is_kept_on_disk_for_the_next_session(tmp_path):
    checks.check_the_cache_carries_a_size_to_the_next_session(tmp_path)


def test_a_failed_cache_write_leaves_nothing(tmp_path):
    checks.check_a_failed_cache_write_leaves_nothing(tmp_path)


@pytest.mark.parametrize("problem", ["damaged", "unwritable", "off"])
def test_a_cache_that_cannot_be_used_only_means_measuring(tmp_path, monkeypatch, problem):
    """A damaged file is measured over and replaced; a folder that cannot be written, or
    ``XAI_CACHE_DIR=off``, is no error and leaves nothing."""
    if problem == "damaged":
        monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path))
        (tmp_path / "batch_sizes.json").write_text("{not json")
    elif problem == "unwritable":
        (tmp_path / "a file").write_text("")
        monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path / "a file"))
    else:
        monkeypatch.setenv("XAI_CACHE_DIR", "off")
    with fake_clock({1: 10, 2: 9, 4: 8, 8: 7, 16: 6}) as net:
        assert xh.best_batch_size(net, (3, 8, 8)) == 16
    if problem == "damaged":
        [(size, _)] = json.loads((tmp_path / "batch_sizes.json").read_text()).values()
        assert size == 16
    else:
        assert xh.cache_file() is None or not xh.cache_file().exists()
        assert [p.name for p in tmp_path.iterdir()] == (["a file"] if problem == "unwritable"
                                                        else [])


def test_a_size_measured_long_ago_is_measured_again(tmp_path):
    checks.check_old_cache_entries_are_measured_again(tmp_path)
