"""The generated data set with masks, its committed CNNs, and fine-tuning a new head."""
import pytest
import torch

import xai_helpers as xh
from xai_helpers.datasets.shapes import (
    CUE_BOX,
    CUE_COLOURS,
    load_shapes_cnn,
    make_shapes,
    shapes_accuracy,
)


def test_generator_is_deterministic_and_masks_match_the_drawing():
    a, b = make_shapes(12, seed=3, cue="class"), make_shapes(12, seed=3, cue="class")
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert not torch.equal(a.images, make_shapes(12, seed=4, cue="class").images)
    assert torch.bincount(make_shapes(30, seed=0).labels).tolist() == [10, 10, 10]
    for i in range(12):
        pixels = a.images[i].permute(1, 2, 0)[a.masks[i]]     # (k, 3): one flat object colour
        assert len(pixels) > 100
        assert (pixels - pixels[0]).abs().max() < 1e-6
        left, top, right, bottom = CUE_BOX
        marker = a.images[i][:, top:bottom + 1, left:right + 1].flatten(1)
        expected = torch.tensor(CUE_COLOURS[int(a.labels[i])]) / 255
        assert torch.allclose(marker, expected[:, None].expand_as(marker), atol=1e-6)
        assert not a.masks[i][top:bottom + 1, left:right + 1].any()   # object off the marker
    with pytest.raises(ValueError, match="cue"):
        make_shapes(3, cue="colour")

def test_committed_models_reach_their_stated_accuracy(shapes_test):
    clean = load_shapes_cnn("clean")
    assert shapes_accuracy(clean, shapes_test) > 0.85                      # measured: see README
    spurious = load_shapes_cnn("spurious")
    with_cue = make_shapes(300, seed=99, cue="class")
    random_cue = make_shapes(300, seed=99, cue="random")
    assert shapes_accuracy(spurious, with_cue) > 0.95                      # the shortcut works
    assert shapes_accuracy(spurious, random_cue) < 0.6                     # ... and only it
    assert shapes_accuracy(load_shapes_cnn("random_labels"), shapes_test) < 0.45
    with pytest.raises(FileNotFoundError, match="variants"):
        load_shapes_cnn("cheating")


# -- the method registry and the sanity check -------------------------------------------------

def test_fine_tuned_head_learns_two_classes_and_keeps_cam(model):
    frames = {0: list(xh.read_frames(xh.SAMPLE_VIDEO, step=20)),
              1: list(xh.read_frames(xh.DATA_DIR / "realshort.mp4", step=3))}
    x = torch.cat([xh.preprocess(model, f) for f in frames.values()])
    y = torch.tensor([label for label, f in frames.items() for _ in f])
    tuned = xh.fine_tune_head(model, x, y, epochs=20)
    assert tuned._fc.out_features == 2 and model._fc.out_features == 1000   # original untouched
    assert xh.model_spec(tuned).num_classes == 2
    assert xh.accuracy(tuned, x, y) > 0.95
    maps = xh.GradCAM(tuned)(x[:2], target=0)
    assert maps.shape == (2, 224, 224) and float(maps.max()) == pytest.approx(1.0)
