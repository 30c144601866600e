"""A corpus of wrong arguments, as a learner passes them: each gets an error (or a warning) that
names the problem and the fix — never a raw torch traceback, never a silent NaN map."""
import os
import stat

import numpy as np
import pytest
import torch

import xai_helpers as xh


@pytest.fixture(scope="module")
def x(model):
    return xh.preprocess(model, xh.test_image_path("dog"))


def _everywhere(model):
    """One representative per family: they all check at the same door."""
    return {
        "GradCAM": lambda x, t=235: xh.GradCAM(model)(x, t),
        "saliency": lambda x, t=235: xh.saliency(model, x, t),
        "integrated_gradients": lambda x, t=235: xh.integrated_gradients(model, x, t, n_steps=2),
        "occlusion": lambda x, t=235: xh.occlusion(model, x, t, window=(112, 112),
                                                    stride=(112, 112)),
        "explain": lambda x, t=235: xh.explain("Grad-CAM", model, x, t),
        "predict": lambda x, t=None: xh.predict(model, x),
    }


CORPUS = [
    # (what the learner passed, how to make it, error type, words the message must contain)
    ("a PIL photo", lambda x: xh.load_image(xh.test_image_path("dog")), TypeError,
     "xh.preprocess"),
    ("a NumPy array", lambda x: x.numpy(), TypeError, "xh.preprocess"),
    ("a grayscale tensor", lambda x: x[:, :1], ValueError, "grayscale"),
    ("channels last", lambda x: x.permute(0, 2, 3, 1), ValueError, "permute"),
    ("a tensor with NaN", lambda x: x.clone().index_fill_(2, torch.tensor([5]), float("nan")),
     ValueError, "NaN"),
    ("an infinite value", lambda x: x.clone().fill_(float("inf")), ValueError, "infinite"),
    ("raw uint8 pixels", lambda x: (x * 127 + 128).to(torch.uint8), TypeError, "0–255"),
    ("a 2-D tensor", lambda x: x[0, 0], ValueError, "(N, C, H, W)"),
    ("an empty batch", lambda x: x[:0], ValueError, "no images"),
]


@pytest.mark.parametrize("what, make, error, words", CORPUS, ids=[c[0] for c in CORPUS])
def test_wrong_inputs_are_named_at_the_door(model, x, what, make, error, words):
    for name, run in _everywhere(model).items():
        with pytest.raises(error, match=None) as info:
            run(make(x))
        assert words in str(info.value), f"{name} with {what}: {info.value}"


def test_raw_pixel_values_warn_and_float64_is_converted(model, x):
    with pytest.warns(UserWarning, match="0–255"):
        xh.GradCAM(model)(x * 127 + 128, 235)
    as_float64 = xh.GradCAM(model)(x.double(), 235)               # NumPy's default precision
    assert torch.allclose(as_float64, xh.GradCAM(model)(x, 235), atol=1e-5)


TARGETS = [
    ("a class id out of range", 1000, ValueError, "out of range"),
    ("a negative class id", -1, ValueError, "out of range"),
    ("a float class id", 3.5, TypeError, "integer"),
    ("a class name", "dog", TypeError, "search_classes"),
    ("a list of the wrong length", [235, 282], ValueError, "one class per image"),
    ("a function returning a matrix", lambda logits: logits, ValueError, "one score per image"),
]


@pytest.mark.parametrize("what, target, error, words", TARGETS, ids=[t[0] for t in TARGETS])
def test_wrong_targets_are_named(model, x, what, target, error, words):
    runs = _everywhere(model)
    runs.pop("predict")
    if callable(target):
        runs = {name: run for name, run in runs.items() if name in ("GradCAM", "saliency")}
    for name, run in runs.items():
        with pytest.raises(error) as info:
            run(x, target)
        assert words in str(info.value), f"{name} with {what}: {info.value}"


def test_methods_that_need_a_class_refuse_a_function(model, x):
    with pytest.raises(TypeError, match="class id"):
        xh.explain("LIME", model, x, lambda logits: logits[:, 0], num_samples=4)
    with pytest.raises(ValueError, match="target function"):
        xh.CAM(model)(x, lambda logits: logits[:, 0])


def test_wrong_layers_methods_and_settings(model, x):
    with pytest.raises(ValueError, match="Did you mean: '_blocks.15'"):
        xh.GradCAM(model, "_block.15")
    with pytest.raises(ValueError, match="not part of"):
        xh.GradCAM(model, torch.nn.Conv2d(3, 3, 1))
    with pytest.raises(TypeError, match="dotted name or an nn.Module"):
        xh.GradCAM(model, 15)
    with pytest.raises(ValueError, match="Did you mean 'Grad-CAM'"):
        xh.explain("GradCAMM", model, x)
    with pytest.raises(ValueError, match="did you mean 'n_steps'"):
        xh.explain("Integrated Gradients", model, x, nsteps=4)
    with pytest.raises(ValueError, match="one image"):
        xh.igos(model, torch.cat([x, x]), 235, iterations=1)
    with pytest.raises(ValueError, match="upsample"):
        xh.deletion_curve(model, x, 235, torch.zeros(7, 7))
    with pytest.raises(ValueError, match="pooled layer"):
        xh.CAM(model, "_blocks.15")(x, 235)


def test_wrong_paths_for_photos(tmp_path):
    with pytest.raises(FileNotFoundError, match="No image"):
        xh.load_image(tmp_path / "missing.jpg")
    with pytest.raises(IsADirectoryError, match="folder"):
        xh.load_image(tmp_path)
    (tmp_path / "notes.jpg").write_text("not a picture")
    with pytest.raises(ValueError, match="not an image"):
        xh.load_image(tmp_path / "notes.jpg")
    with pytest.raises(TypeError, match="chw_to_hwc"):
        xh.load_image(torch.zeros(3, 8, 8))


def test_wrong_output_paths_for_videos(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="folder"):
        xh.check_output_path(folder, overwrite=True)              # never replaced
    with pytest.raises(ValueError, match=".mp4"):
        xh.check_output_path(tmp_path / "out.avi")
    with pytest.raises(FileNotFoundError, match="mkdir -p"):
        xh.check_output_path(tmp_path / "missing" / "out.mp4")
    (tmp_path / "mine.mp4").write_bytes(b"a learner's file")
    with pytest.raises(FileExistsError, match="--overwrite"):
        xh.check_output_path(tmp_path / "mine.mp4")
    if os.geteuid() != 0:                                          # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        with pytest.raises(PermissionError, match="Cannot write"):
            xh.check_output_path(locked / "out.mp4")


def test_videos_are_written_with_the_users_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with xh.VideoWriter(tmp_path / "out.mp4", fps=10) as writer:
            for _ in range(2):
                writer.write(np.zeros((16, 16, 3), np.uint8))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.mp4").stat().st_mode) == 0o644    # not mkstemp's 0600


def test_the_command_line_names_a_folder_output(tmp_path, capsys):
    from xai_helpers.video.__main__ import main

    (tmp_path / "out.mp4").mkdir()
    assert main([str(xh.SAMPLE_VIDEO), str(tmp_path / "out.mp4"), "--overwrite"]) == 2
    assert "is a folder" in capsys.readouterr().err
