"""Notebook 00's checker: the notebook's own solution passes its check cell (hidden test
included), other correct recipes pass (PIL or tensor resize, with or without antialiasing), and
every realistic wrong solution in ``WRONG_SOLUTIONS`` is rejected with its own message."""
import nbformat
import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as TF

import xai_helpers as xh
from xai_helpers.course import nb00_setup as nb00
from xai_helpers.exercises import ExerciseError

import checks
from checks import graded_cell

NOTEBOOK = xh.REPO_ROOT / "notebooks" / "00_setup_and_tour.ipynb"
SOLUTION_ID = "00_setup_and_tour-preprocess-solution"

#: What the checker must say about each wrong solution, in WRONG_SOLUTIONS' order.
MESSAGES = {
    SOLUTION_ID: ["use the `mean` and `std` arguments", "same number", "wrong picture",
                  "wrong for a portrait one", r"\(224, 224, 3\), channels last",
                  "you resized the width, the longer side"],
}


def _cell(grade_id: str) -> str:
    return graded_cell(NOTEBOOK, grade_id)


def _run(source: str, name: str) -> dict:
    namespace = {"torch": torch, "xh": xh, "np": np}
    exec(compile(source, name, "exec"), namespace)
    return namespace


def test_every_graded_cell_has_wrong_solutions_and_each_has_a_message():
    checks.assert_wrong_solutions_cover_the_graded_cells(NOTEBOOK, nb00.WRONG_SOLUTIONS,
                                                         MESSAGES)


def test_the_solution_is_not_shown_in_the_lesson():
    """The exercise asks for what the lesson does not write out: no lesson cell normalises
    by hand with per-channel statistics."""
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    lesson = "".join(c.source for c in cells if c.cell_type == "code"
                     and "nbgrader" not in c.metadata)
    assert "view(3, 1, 1)" not in lesson and "TF.center_crop" not in lesson


def test_the_notebooks_solution_passes_its_check_cell(model, capsys):
    namespace = _run(_cell(SOLUTION_ID), "solution")
    namespace["model"] = model
    exec(compile(_cell(SOLUTION_ID.replace("-solution", "-check")), "check", "exec"), namespace)
    assert capsys.readouterr().out.strip().endswith("both orientations.")


@pytest.mark.parametrize("index", range(len(MESSAGES[SOLUTION_ID])))
def test_each_wrong_solution_is_rejected_with_its_message(index):
    wrong = _run(nb00.WRONG_SOLUTIONS[SOLUTION_ID][index], "wrong")["my_preprocess"]
    with pytest.raises(ExerciseError, match=MESSAGES[SOLUTION_ID][index]):
        nb00.check_my_preprocess(wrong)


def _pil_recipe(image, mean, std):
    """PIL's own resize with rounded sizes and a hand-made crop: correct, not pixel-identical."""
    w, h = image.size
    scale = 256 / min(w, h)
    image = image.resize((round(w * scale), round(h * scale)), Image.BICUBIC)
    left, top = (image.width - 224) // 2, (image.height - 224) // 2
    pixels = np.asarray(image.crop((left, top, left + 224, top + 224)), dtype=np.float32) / 255
    pixels = (pixels - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return torch.from_numpy(pixels).permute(2, 0, 1)


def _tensor_recipe(image, mean, std):
    """Tensor first, resized without antialiasing, normalised by torchvision."""
    pixels = TF.to_dtype(TF.pil_to_tensor(image), torch.float32, scale=True)
    pixels = TF.center_crop(TF.resize(pixels, 256, antialias=False), 224)
    return TF.normalize(pixels, mean=list(mean), std=list(std))


@pytest.mark.parametrize("recipe", [_pil_recipe, _tensor_recipe])
def test_other_correct_recipes_pass(recipe, capsys):
    nb00.check_my_preprocess(recipe)
    assert "Correct" in capsys.readouterr().out


def test_more_wrong_answers_get_their_own_message():
    def right(image, mean, std):
        pixels = TF.pil_to_tensor(TF.center_crop(TF.resize(image, 256), 224)).float() / 255
        return TF.normalize(pixels, mean=list(mean), std=list(std))

    cases = {
        "still 0..255": lambda im, m, s: right(im, m, s) * 255,
        "pixels in \\[0, 1\\]": lambda im, m, s: TF.pil_to_tensor(
            TF.center_crop(TF.resize(im, 256), 224)).float() / 255,
        "divide by the std before": lambda im, m, s: (
            right(im, (0, 0, 0), (1, 1, 1)) / torch.tensor(s).view(3, 1, 1)
            - torch.tensor(m).view(3, 1, 1)),
        "inverse of the normalisation": lambda im, m, s: (
            right(im, (0, 0, 0), (1, 1, 1)) * torch.tensor(s).view(3, 1, 1)
            + torch.tensor(m).view(3, 1, 1)),
        "BGR": lambda im, m, s: TF.normalize(right(im, (0, 0, 0), (1, 1, 1)).flip(0),
                                             mean=list(m), std=list(s)),
        "returns a batch": lambda im, m, s: right(im, m, s)[None],
        "return": lambda im, m, s: None,
    }
    for message, wrong in cases.items():
        with pytest.raises(ExerciseError, match=message):
            nb00.check_my_preprocess(wrong)


def test_messages_come_in_chinese_too():
    wrong = _run(nb00.WRONG_SOLUTIONS[SOLUTION_ID][1], "wrong")["my_preprocess"]
    try:
        xh.set_language("zh")
        with pytest.raises(ExerciseError, match="同一个数"):
            nb00.check_my_preprocess(wrong)
    finally:
        xh.set_language("en")
