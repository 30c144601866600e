"""Notebook 01's checker: the notebook's own solution passes its check cell (hidden test included,
on the real feature map of the dog photo), other correct implementations pass, and every
realistic wrong solution in ``WRONG_SOLUTIONS`` is rejected with its own message."""
import re

import nbformat
import pytest
import torch

import xai_helpers as xh
from xai_helpers.course import nb01_cam as nb01
from xai_helpers.exercises import ExerciseError

import checks
from checks import graded_cell

NOTEBOOK = xh.REPO_ROOT / "notebooks" / "01_cam_from_scratch.ipynb"
SOLUTION_ID = "01_cam_from_scratch-difference-solution"

#: What the checker must say about each wrong solution, in WRONG_SOLUTIONS' order.
MESSAGES = {
    SOLUTION_ID: ["normalised one by one", "ReLU to each class's map", "no negative values",
                  "wrong sign", "wrong units"],
}


def _cell(grade_id: str) -> str:
    return graded_cell(NOTEBOOK, grade_id)


def _run(source: str, name: str) -> dict:
    namespace = {"torch": torch, "xh": xh}
    exec(compile(source, name, "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def lesson(model):
    """What the notebook has in scope at the exercise: A, W, b and the logits of dog.jpg."""
    spec = model.xai_spec
    x = xh.preprocess(model, xh.test_image_path("dog"))
    with xh.LayerRecorder(model, spec.cam_layer) as recorder, torch.no_grad():
        logits = model(x)
    fc = xh.get_layer(model, spec.classifier)
    return {"A": recorder.activations[spec.cam_layer][0], "W": fc.weight.detach(),
            "b": fc.bias.detach(), "logits": logits}


def test_every_graded_cell_has_wrong_solutions_and_each_has_a_message():
    checks.assert_wrong_solutions_cover_the_graded_cells(NOTEBOOK, nb01.WRONG_SOLUTIONS,
                                                         MESSAGES)


def test_the_solution_is_not_shown_in_the_lesson():
    """The lesson weights with one row, W[c]; the difference of two rows is the exercise."""
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    lesson = "".join(c.source for c in cells if c.cell_type == "code"
                     and "nbgrader" not in c.metadata)
    assert not re.search(r"(W|weights)\[[^\]]+\]\s*-\s*(W|weights)\[", lesson)


def test_the_notebooks_solution_passes_its_check_cell(lesson, capsys):
    namespace = _run(_cell(SOLUTION_ID), "solution")
    namespace.update(lesson)
    exec(compile(_cell(SOLUTION_ID.replace("-solution", "-check")), "check", "exec"), namespace)
    assert capsys.readouterr().out.strip().endswith("Correct.")


@pytest.mark.parametrize("index", range(len(MESSAGES[SOLUTION_ID])))
def test_each_wrong_solution_is_rejected_with_its_message(index, lesson):
    wrong = _run(nb01.WRONG_SOLUTIONS[SOLUTION_ID][index], "wrong")["class_difference_map"]
    with pytest.raises(ExerciseError, match=MESSAGES[SOLUTION_ID][index]):
        nb01.check_class_difference(wrong, lesson["A"], lesson["W"], 235, 249)


def test_other_correct_implementations_pass(lesson, capsys):
    def two_maps(A, weights, c1, c2):                       # two CAMs (raw, no ReLU), subtracted
        maps = torch.tensordot(weights[[c1, c2]], A, dims=1)
        return maps[0] - maps[1]

    def with_a_loop(A, weights, c1, c2):                    # channel by channel, float64
        D = torch.zeros(A.shape[1:], dtype=torch.float64)
        for k in range(A.shape[0]):
            D += float(weights[c1, k] - weights[c2, k]) * A[k].double()
        return D

    for fn in (two_maps, with_a_loop):
        nb01.check_class_difference(fn, lesson["A"], lesson["W"], 235, 249)
    assert capsys.readouterr().out.count("Correct.") == 2


def test_more_wrong_answers_get_their_own_message(lesson):
    def right(A, weights, c1, c2):
        return torch.einsum("k,khw->hw", weights[c1] - weights[c2], A)

    cases = {
        "one number": lambda A, W, c1, c2: right(A, W, c1, c2).mean(),
        "without a batch or channel axis": lambda A, W, c1, c2: right(A, W, c1, c2)[None],
        "no upsampling": lambda A, W, c1, c2: torch.nn.functional.interpolate(
            right(A, W, c1, c2)[None, None], scale_factor=4, mode="bilinear")[0, 0],
        "class c1 alone": lambda A, W, c1, c2: torch.einsum("k,khw->hw", W[c1], A),
        "rescaled": lambda A, W, c1, c2: right(A, W, c1, c2) / right(A, W, c1, c2).abs().max(),
        "another pair": lambda A, W, c1, c2: right(A, W, c1, (c2 + 1) % len(W)),
        "return": lambda A, W, c1, c2: None,
    }
    for message, wrong in cases.items():
        with pytest.raises(ExerciseError, match=message):
            nb01.check_class_difference(wrong, lesson["A"], lesson["W"], 235, 249)


def test_a_checker_that_only_looked_at_the_notebooks_case_would_be_fooled():
    """The checker's own small case is needed: on a class pair whose maps are positive
    everywhere a ReLU changes nothing, so the notebook's data alone cannot reject it."""
    A, W, c1, c2 = nb01._difference_case()
    M = torch.einsum("ck,khw->chw", W, A)
    assert (M[c1] < 0).any() and (M[c2] < 0).any()
    D = M[c1] - M[c2]
    assert (D < 0).any() and (D > 0).any() and A.shape[1] != A.shape[2]


def test_messages_come_in_chinese_too(lesson):
    wrong = _run(nb01.WRONG_SOLUTIONS[SOLUTION_ID][3], "wrong")["class_difference_map"]
    try:
        xh.set_language("zh")
        with pytest.raises(ExerciseError, match="符号反了"):
            nb01.check_class_difference(wrong, lesson["A"], lesson["W"], 235, 249)
    finally:
        xh.set_language("en")
