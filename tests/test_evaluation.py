"""Evaluating explanations: metrics on hand-built cases, the shapes generator, the committed
shapes CNNs, the method registry and the model-randomisation sanity check."""
import pytest
import torch

import xai_helpers as xh
from xai_helpers.methods import METHODS, edge_map, estimate_seconds, explain
from xai_helpers.metrics import (
    average_drop_increase,
    energy_in_mask,
    pointing_game,
    rank_correlation,
    sparseness,
)
from xai_helpers.sanity import cascading_randomisation, parametric_layers, randomisation_similarity
from xai_helpers.shapes import (
    CUE_BOX,
    CUE_COLOURS,
    load_shapes_cnn,
    make_shapes,
    shapes_accuracy,
)

import checks


@pytest.fixture(scope="module")
def shapes_model():
    return load_shapes_cnn("clean")


@pytest.fixture(scope="module")
def shapes_test():
    return make_shapes(300, seed=99)


# -- metrics on hand-built cases --------------------------------------------------------------

def test_pointing_game_on_a_wide_mask():
    checks.check_pointing_game(pointing_game)
    with pytest.raises(ValueError, match="same"):
        pointing_game(torch.ones(1, 5, 5), torch.zeros(1, 5, 6, dtype=torch.bool))


def test_energy_in_mask_counts_positive_energy_only():
    checks.check_energy_in_mask(energy_in_mask)
    with pytest.raises(ValueError, match="same"):
        energy_in_mask(torch.ones(1, 5, 5), torch.zeros(2, 10, 10, dtype=torch.bool))


def test_random_maps_score_near_chance():
    data = make_shapes(200, seed=5)
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

def test_every_method_gives_normalised_maps(shapes_model, shapes_test):
    x = shapes_test.images[:2]
    settings = dict(n_samples=4, n_steps=8, num_samples=60, iterations=2)
    for name in METHODS:
        maps = explain(name, shapes_model, x, **settings)
        assert maps.shape == (2, 64, 64), name
        assert float(maps.min()) >= 0 and float(maps.max()) == pytest.approx(1.0), name
        assert estimate_seconds(name, shapes_model, x, **settings) >= 0
    assert METHODS["Score-CAM"].passes(shapes_model, x, None, {}) == 33      # 32 channels + 1
    with pytest.raises(ValueError, match="Unknown method"):
        explain("GradCam", shapes_model, x)


SETTINGS = dict(n_samples=3, n_steps=6, num_samples=40, segments=20, iterations=2, window=16,
                stride=8)


def _expected_maps(name, model, x, targets, layer):
    """Each method called directly (not through the registry), then the registry's output
    convention: positive evidence, channels collapsed, upsampled, min-max per image."""
    from xai_helpers.cam import normalise_maps

    t = targets.tolist()
    if name in xh.CAM_METHODS:
        raw = xh.CAM_METHODS[name](model, layer)(x, t)
    elif name == "Saliency":
        raw = xh.collapse_channels(xh.saliency(model, x, t))
    elif name == "SmoothGrad":
        torch.manual_seed(0)
        raw = xh.collapse_channels(xh.smoothgrad(model, x, t, n_samples=3))
    elif name == "Guided Backprop":
        raw = xh.collapse_channels(xh.guided_backprop(model, x, t))
    elif name == "Guided Grad-CAM":
        raw = xh.collapse_channels(xh.guided_grad_cam(model, x, t, layer))
    elif name == "Integrated Gradients":
        raw = xh.collapse_channels(xh.integrated_gradients(model, x, t, n_steps=6), "sum")
    elif name == "Occlusion":
        raw = xh.collapse_channels(xh.occlusion(model, x, t, window=(16, 16), stride=(8, 8)),
                                   "sum")
    elif name == "LIME":
        maps = []
        for i in range(len(x)):
            segments = xh.superpixels(model.xai_spec.preprocessing.inverse(x[i]), "slic",
                                      n_segments=20)
            samples = xh.lime_samples(model, x[i:i + 1], t[i], segments, num_samples=40, seed=0)
            coefficients, _ = xh.weighted_ridge(samples.masks, samples.probabilities,
                                                samples.weights)
            maps.append(xh.paint_superpixels(coefficients, segments))
        raw = torch.stack(maps)
    elif name == "I-GOS":
        raw = torch.stack([xh.igos(model, x[i:i + 1], t[i], iterations=2).saliency
                           for i in range(len(x))])
    elif name == "LRP":
        raw = xh.collapse_channels(xh.lrp(model, x, targets, low=0.0, high=1.0)[0], "sum")
    elif name == "Edge detector":
        raw = xh.edge_map(x)
    else:
        raise KeyError(name)
    return normalise_maps(raw.detach().float().clamp(min=0))


def test_explain_runs_the_method_it_names(shapes_model, shapes_test):
    """Each name gives exactly its own method's map (a registry that wires a name to another
    method, or to the right method with other settings, fails), and no two methods agree.
    Layer methods run at layer "7" (16x16, before the last convolution), where Grad-CAM and
    XGrad-CAM differ; CAM needs the pooled layer ("9"), where it equals Grad-CAM by theory."""
    x = shapes_test.images[:2]
    targets = torch.tensor([0, 2])                              # not necessarily the top class
    maps = {}
    for name in METHODS:
        layer = "9" if name == "CAM" else "7" if METHODS[name].uses_layer else None
        if name == "SmoothGrad":
            torch.manual_seed(0)
        maps[name] = explain(name, shapes_model, x, targets, layer=layer, **SETTINGS)
        expected = _expected_maps(name, shapes_model, x, targets, layer)
        assert torch.allclose(maps[name], expected, atol=1e-4), name
    names = list(maps)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert (maps[a] - maps[b]).abs().max() > 1e-3, f"{a} and {b} give the same maps"


def test_sanity_check_flags_the_edge_detector_and_passes_grad_cam(shapes_model, shapes_test):
    x = shapes_test.images[:8]
    targets = shapes_model(x).argmax(1)
    before = {name: explain(name, shapes_model, x, targets) for name in ("Grad-CAM",
                                                                          "Edge detector")}
    layers = parametric_layers(shapes_model)
    assert layers == ["0", "3", "6", "8", "12"]
    steps = list(cascading_randomisation(shapes_model, layers))
    assert [name for name, _ in steps] == ["12", "8", "6", "3", "0"]
    name, fully_random = steps[-1]
    edge_after = explain("Edge detector", fully_random, x, targets)
    grad_cam_after = explain("Grad-CAM", fully_random, x, targets)
    assert randomisation_similarity(before["Edge detector"], edge_after).min() > 0.999
    assert randomisation_similarity(before["Grad-CAM"], grad_cam_after).mean() < 0.5
    assert torch.equal(shapes_model[0].weight, load_shapes_cnn("clean")[0].weight)  # untouched
    assert torch.allclose(edge_map(torch.ones(1, 3, 5, 5)), torch.zeros(1, 5, 5))


def test_evaluate_methods_and_the_table(shapes_model, shapes_test):
    x, masks, y = shapes_test.images[:6], shapes_test.masks[:6], shapes_test.labels[:6]
    calls = []
    results = xh.evaluate_methods(shapes_model, x, masks, y, ["Grad-CAM", "Edge detector"],
                                  curve_steps=8, progress=calls.append)
    assert calls == ["Grad-CAM", "Edge detector"]
    grad_cam = results["Grad-CAM"]
    assert grad_cam["energy"] == pytest.approx(float(energy_in_mask(
        explain("Grad-CAM", shapes_model, x, y), masks).mean()), abs=1e-6)
    assert 0 <= grad_cam["deletion"] <= 1 and 0 <= grad_cam["insertion"] <= 1
    assert grad_cam["seconds"] > 0
    english = xh.results_table(results, lang="en", sort_by="deletion")
    assert list(english.index) == sorted(results, key=lambda m: results[m]["deletion"])
    assert "energy in mask ↑" in english.columns
    chinese = xh.results_table(results, lang="zh")
    assert "掩码内能量 ↑" in chinese.columns and "Grad-CAM 梯度加权类激活映射" in chinese.index
    with pytest.raises(ValueError, match="sort_by"):
        xh.results_table(results, sort_by="beauty")


def test_sanity_scores_table(shapes_model, shapes_test):
    table = xh.sanity_scores(shapes_model, shapes_test.images[:4], shapes_test.labels[:4],
                             ["Grad-CAM", "Edge detector"])
    assert list(table.index) == ["12", "8", "6", "3", "0"]
    assert (table["Edge detector"] > 0.999).all()
    assert table["Grad-CAM"].iloc[-1] < 0.5


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
