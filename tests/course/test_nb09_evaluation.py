"""Notebook 09's checkers: the notebook's own solutions pass (hidden tests included), other
correct implementations pass, and every realistic wrong solution in ``WRONG_SOLUTIONS`` is
rejected with its own message; the quiz questions are well formed."""
import pytest
import torch

import xai_helpers as xh
from xai_helpers.course import nb09_evaluation as nb09
from xai_helpers.exercises import ExerciseError

import checks
from checks import graded_cell

NOTEBOOK = xh.REPO_ROOT / "notebooks" / "09_evaluating_explanations.ipynb"
POINTING_ID = "09_evaluating_explanations-solution"
DELETION_ID = "09_evaluating_explanations-deletion-solution"

#: What the checker must say about each wrong solution, in WRONG_SOLUTIONS' order.
MESSAGES = {
    POINTING_ID: ["the minimum", "Rows and columns are swapped"],
    DELETION_ID: ["least\\* important pixels first", "average \\(or sum\\)", "one channel",
                  "steps \\+ 1 = 9 points", "changed the image"],
}
NAMES = {POINTING_ID: "my_pointing_game", DELETION_ID: "my_deletion_auc"}
CHECKERS = {POINTING_ID: nb09.check_pointing_game, DELETION_ID: nb09.check_deletion_auc}


def _cell(grade_id: str) -> str:
    return graded_cell(NOTEBOOK, grade_id)


def _run(source: str, **extra) -> dict:
    namespace = {"torch": torch, "xh": xh, **extra}
    exec(compile(source, "cell", "exec"), namespace)
    return namespace


def test_every_graded_cell_has_wrong_solutions_with_a_message():
    checks.assert_wrong_solutions_cover_the_graded_cells(NOTEBOOK, nb09.WRONG_SOLUTIONS,
                                                         MESSAGES)


@pytest.mark.parametrize("grade_id", [POINTING_ID, DELETION_ID])
def test_the_notebooks_solution_passes_its_check_cell(grade_id, capsys):
    # the deletion check cell's hidden test uses the notebook's shapes model and test images
    model = xh.load_shapes_cnn("clean")
    test = xh.make_shapes(8, seed=1)
    namespace = _run(_cell(grade_id), model=model, test=test)
    exec(compile(_cell(grade_id.replace("-solution", "-check")), "check", "exec"), namespace)
    assert capsys.readouterr().out.strip().endswith("Correct.")


@pytest.mark.parametrize("grade_id, index", [(g, i) for g in MESSAGES
                                             for i in range(len(MESSAGES[g]))])
def test_each_wrong_solution_is_rejected_with_its_message(grade_id, index):
    wrong = _run(nb09.WRONG_SOLUTIONS[grade_id][index])[NAMES[grade_id]]
    with pytest.raises(ExerciseError, match=MESSAGES[grade_id][index]):
        CHECKERS[grade_id](wrong)


def test_other_correct_deletion_aucs_pass(capsys):
    def one_image_at_a_time(probability, x, order, steps, baseline=0.0):
        _, height, width = x.shape
        values = []
        for k in range(steps + 1):
            keep = torch.ones(height * width)
            keep[order[:k * height * width // steps]] = 0
            keep = keep.view(1, height, width)
            values.append(float(probability((x * keep + baseline * (1 - keep))[None])[0]))
        # trapezoid rule written out
        return sum((a + b) / 2 for a, b in zip(values, values[1:])) / steps

    nb09.check_deletion_auc(one_image_at_a_time)
    assert capsys.readouterr().out.strip().endswith("Correct.")


def test_dividing_by_the_original_probability_is_named():
    def divided(probability, x, order, steps, baseline=0.0):
        return nb09.deletion_auc_reference(probability, x, order, steps) / float(
            probability(x[None])[0])

    with pytest.raises(ExerciseError, match="not divided"):
        nb09.check_deletion_auc(divided)


def test_every_mistake_changes_the_checkers_auc():
    """The checker's case separates the mistakes: each variant's AUC differs from the right one
    by more than the tolerance."""
    probability, x, order = nb09._deletion_case()
    right = nb09.deletion_auc_reference(probability, x, order, 8)
    variants = [nb09.deletion_auc_reference(probability, x, order.flip(0), 8)] + [
        nb09.deletion_auc_reference(probability, x, order, 8, **kwargs)
        for kwargs in [dict(channels="first"), dict(flat="columns"), dict(points="skip_first")]]
    assert all(abs(v - right) > 0.01 for v in variants)


def test_quiz_questions_are_well_formed_and_vary_the_answer_position():
    positions = {q.correct for q in nb09.QUESTIONS.values()}
    assert len(nb09.QUESTIONS) >= 2 and len(positions) >= 2
    for question in nb09.QUESTIONS.values():
        assert 0 <= question.correct < len(question.options)
        assert question.zh is not None and len(question.zh[1]) == len(question.options)
