"""Notebook 10's checker: the notebook's own solution passes (hidden tests included), another
correct implementation passes, and every realistic wrong solution in ``WRONG_SOLUTIONS`` is
rejected with its own message; the quiz questions are well formed."""
import pytest
import torch

import xai_helpers as xh
from xai_helpers.course import nb10_explorer as nb10
from xai_helpers.exercises import ExerciseError

import checks
from checks import graded_cell

NOTEBOOK = xh.REPO_ROOT / "notebooks" / "10_explorer.ipynb"
SOLUTION_ID = "10_explorer-layer-solution"

#: What the checker must say about each wrong solution, in WRONG_SOLUTIONS' order.
MESSAGES = ["\\*shallowest\\* layer", "means ≥, not >", "no upsampling", "min-max normalised"]


def _cell(grade_id: str) -> str:
    return graded_cell(NOTEBOOK, grade_id)


def _run(source: str, **extra) -> dict:
    namespace = {"torch": torch, "xh": xh, **extra}
    exec(compile(source, "cell", "exec"), namespace)
    return namespace


def test_every_graded_cell_has_wrong_solutions_with_a_message():
    checks.assert_wrong_solutions_cover_the_graded_cells(
        NOTEBOOK, nb10.WRONG_SOLUTIONS, {SOLUTION_ID: MESSAGES})


def test_the_notebooks_solution_passes_its_check_cell(capsys):
    namespace = _run(_cell(SOLUTION_ID))
    exec(compile(_cell("10_explorer-layer-check"), "check", "exec"), namespace)
    assert capsys.readouterr().out.strip().endswith("Correct.")


def test_another_correct_implementation_passes(capsys):
    def with_the_package(model, x, target, min_side):
        table = xh.list_conv_layers(model, tuple(x.shape[-2:]))
        chosen = [row.layer for row in table.itertuples()
                  if min(row.height, row.width) >= min_side][-1]
        return chosen, xh.GradCAM(model, chosen)(x, target, size=None, normalise=False)

    nb10.check_layer_choice(with_the_package)              # (1, h, w) is accepted too
    assert capsys.readouterr().out.strip().endswith("Correct.")


@pytest.mark.parametrize("index", range(len(MESSAGES)))
def test_each_wrong_solution_is_rejected_with_its_message(index):
    wrong = _run(nb10.WRONG_SOLUTIONS[SOLUTION_ID][index])["my_cam_at_resolution"]
    with pytest.raises(ExerciseError, match=MESSAGES[index]):
        nb10.check_layer_choice(wrong)


def test_a_map_without_relu_is_named():
    def no_relu(model, x, target, min_side):
        return "8", xh.GradCAM(model, "8")(x, target, size=None, normalise=False, relu=False)[0]

    with pytest.raises(ExerciseError, match="positive evidence"):
        nb10.check_layer_choice(no_relu)


def test_quiz_questions_are_well_formed_and_vary_the_answer_position():
    positions = {q.correct for q in nb10.QUESTIONS.values()}
    assert len(nb10.QUESTIONS) >= 2 and len(positions) >= 2
    for question in nb10.QUESTIONS.values():
        assert 0 <= question.correct < len(question.options)
        assert question.zh is not None and len(question.zh[1]) == len(question.options)
