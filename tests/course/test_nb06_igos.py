"""Notebook 06's checkers: the notebook's own solutions pass, other correct implementations pass,
and every realistic wrong solution in ``WRONG_SOLUTIONS`` is rejected with its own message."""
import pytest
import torch

import xai_helpers as xh
from xai_helpers.course import nb06_igos as nb06
from xai_helpers.exercises import ExerciseError

import checks
from checks import graded_cell

NOTEBOOK = xh.REPO_ROOT / "notebooks" / "06_igos.ipynb"
TV_ID = "06_igos-solution"
ARMIJO_ID = "06_igos-armijo-solution"

#: What the checker must say about each wrong solution, in WRONG_SOLUTIONS' order.
MESSAGES = {
    TV_ID: ["mean of the squared differences", "Square the differences"],
    ARMIJO_ID: ["Clamp the new mask", "Any decrease is not enough", "squared norm",
                "\\+grad", "always take the first step"],
}


def _solution_source(grade_id: str) -> str:
    return graded_cell(NOTEBOOK, grade_id)


def _function(source: str):
    namespace = {"torch": torch}
    exec(compile(source, "solution", "exec"), namespace)
    return next(v for k, v in namespace.items()
                if k in ("my_total_variation", "armijo_step") and callable(v))


def test_every_graded_cell_has_wrong_solutions_and_each_has_a_message():
    checks.assert_wrong_solutions_cover_the_graded_cells(NOTEBOOK, nb06.WRONG_SOLUTIONS,
                                                         MESSAGES)


def test_total_variation_accepts_the_solution_and_rejects_each_wrong_one(capsys):
    nb06.check_total_variation(_function(_solution_source(TV_ID)))
    assert "Correct." in capsys.readouterr().out
    for source, message in zip(nb06.WRONG_SOLUTIONS[TV_ID], MESSAGES[TV_ID]):
        with pytest.raises(ExerciseError, match=message):
            nb06.check_total_variation(_function(source))


def test_armijo_accepts_the_solution_and_a_tensor_version(capsys):
    nb06.check_armijo_step(_function(_solution_source(ARMIJO_ID)))

    def with_tensors(mask, grad, objective, initial_step=200.0):     # no float(), a for loop
        current, step = objective(mask), initial_step
        for _ in range(100):
            candidate = torch.clamp(mask - step * grad, 0.0, 1.0)
            if objective(candidate) <= current - 1e-4 * step * grad.pow(2).sum() or step < 1e-5:
                return candidate, torch.tensor(step)
            step = step * 0.2
        return candidate, step

    nb06.check_armijo_step(with_tensors)
    assert capsys.readouterr().out.count("Correct.") == 2


def test_armijo_solution_matches_the_line_search_inside_igos():
    """The exercise's line search is the one xh.igos runs: same first step, decay, condition."""
    solution = _function(_solution_source(ARMIJO_ID))
    mask = torch.full((1, 1, 4, 4), 0.7)
    grad = torch.linspace(-0.01, 0.02, 16).view(1, 1, 4, 4)
    objective = lambda m: float(((m - 0.3) ** 2).sum() + 0.1 * m.sum())     # noqa: E731
    new_mask, step = solution(mask, grad, objective)
    reference, reference_step = nb06._armijo(mask, grad, objective)
    assert torch.allclose(new_mask, reference) and step == reference_step


@pytest.mark.parametrize("index", range(len(nb06.WRONG_SOLUTIONS[ARMIJO_ID])))
def test_armijo_rejects_each_wrong_solution_with_its_message(index):
    wrong = _function(nb06.WRONG_SOLUTIONS[ARMIJO_ID][index])
    with pytest.raises(ExerciseError, match=MESSAGES[ARMIJO_ID][index]):
        nb06.check_armijo_step(wrong)


def test_armijo_rejects_a_stub_and_a_wrong_shape():
    with pytest.raises(ExerciseError, match="pair"):
        nb06.check_armijo_step(lambda mask, grad, objective: mask)
    with pytest.raises(ExerciseError, match="shape"):
        nb06.check_armijo_step(lambda mask, grad, objective: (mask[0], 200.0))


def test_quiz_answers_are_spread_over_positions_and_have_chinese():
    positions = [q.correct for q in nb06.QUESTIONS.values()]
    assert len(positions) >= 2 and len(set(positions)) >= 2
    for question in nb06.QUESTIONS.values():
        assert 0 <= question.correct < len(question.options) and question.why
        assert question.zh is not None and len(question.zh[1]) == len(question.options)
