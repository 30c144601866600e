"""Notebook 05's checkers: the notebook's own solutions pass, other correct implementations pass,
and every realistic wrong solution in ``WRONG_SOLUTIONS`` is rejected with its own message."""
import nbformat
import numpy as np
import pytest
import torch

import xai_helpers as xh
from xai_helpers.course import nb05_lime as nb05
from xai_helpers.exercises import ExerciseError

import checks
from checks import graded_cell

NOTEBOOK = xh.REPO_ROOT / "notebooks" / "05_lime.ipynb"
KERNEL_ID = "05_lime-solution"
RIDGE_ID = "05_lime-ridge-solution"

#: What the checker must say about each wrong solution, in WRONG_SOLUTIONS' order.
MESSAGES = {
    KERNEL_ID: ["square root", "cosine \\*distance\\*"],
    RIDGE_ID: ["No intercept", "penalised the intercept", "\\*weighted\\* means",
               "ignored the sample weights"],
}


def _solution_source(grade_id: str) -> str:
    return graded_cell(NOTEBOOK, grade_id)


def _function(source: str):
    namespace = {"torch": torch, "np": np}
    exec(compile(source, "solution", "exec"), namespace)
    return next(v for k, v in namespace.items()
                if (k.startswith("my_") or k == "lime_kernel") and callable(v))


def _masks():
    masks = torch.randint(0, 2, (50, 12), generator=torch.Generator().manual_seed(0)).float()
    masks[0] = 1
    return masks


def test_every_graded_cell_has_wrong_solutions_and_each_has_a_message():
    checks.assert_wrong_solutions_cover_the_graded_cells(NOTEBOOK, nb05.WRONG_SOLUTIONS,
                                                         MESSAGES)


def test_ridge_solution_is_not_shown_in_the_lesson():
    """The lesson cells above the exercise must not contain the solution's code."""
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    lesson = "\n".join(c.source for c in cells if not c.metadata.get("nbgrader"))
    assert "torch.linalg.solve" not in lesson and "clamp_min(1e-12)" not in lesson


def test_kernel_accepts_the_solution_and_rejects_each_wrong_one(capsys):
    nb05.check_lime_kernel(_function(_solution_source(KERNEL_ID)), _masks())
    assert "Correct." in capsys.readouterr().out
    for source, message in zip(nb05.WRONG_SOLUTIONS[KERNEL_ID], MESSAGES[KERNEL_ID]):
        with pytest.raises(ExerciseError, match=message):
            nb05.check_lime_kernel(_function(source), _masks())


def test_ridge_accepts_the_solution_the_package_and_sklearn(capsys):
    from sklearn.linear_model import Ridge

    nb05.check_weighted_ridge(_function(_solution_source(RIDGE_ID)))

    def package(z, y, w, alpha=1.0):
        return xh.weighted_ridge(z, y, w, alpha=alpha)

    def with_sklearn(z, y, w, alpha=1.0):
        fit = Ridge(alpha=alpha).fit(z.numpy(), y.numpy(), sample_weight=w.numpy())
        return torch.from_numpy(fit.coef_), float(fit.intercept_)

    nb05.check_weighted_ridge(package)
    nb05.check_weighted_ridge(with_sklearn)
    assert capsys.readouterr().out.count("Correct.") == 3


@pytest.mark.parametrize("index", range(len(nb05.WRONG_SOLUTIONS[RIDGE_ID])))
def test_ridge_rejects_each_wrong_solution_with_its_message(index):
    wrong = _function(nb05.WRONG_SOLUTIONS[RIDGE_ID][index])
    with pytest.raises(ExerciseError, match=MESSAGES[RIDGE_ID][index]):
        nb05.check_weighted_ridge(wrong)


def test_ridge_rejects_no_penalty_a_fixed_alpha_and_a_wrong_intercept():
    solution = _function(_solution_source(RIDGE_ID))
    with pytest.raises(ExerciseError, match="No penalty"):
        nb05.check_weighted_ridge(lambda z, y, w, alpha=1.0: solution(z, y, w, 0.0))
    with pytest.raises(ExerciseError, match="alpha = 5"):
        nb05.check_weighted_ridge(lambda z, y, w, alpha=1.0: solution(z, y, w, 1.0))
    with pytest.raises(ExerciseError, match="intercept is not"):
        nb05.check_weighted_ridge(lambda z, y, w, alpha=1.0: (solution(z, y, w, alpha)[0], 0.0))
    with pytest.raises(ExerciseError, match="pair"):
        nb05.check_weighted_ridge(lambda z, y, w, alpha=1.0: solution(z, y, w, alpha)[0])


def test_prior_ridge_is_the_scaled_column_fit_read_back():
    """weighted_ridge(prior=m) = m ⊙ (ridge on Z diag(m)); m_s = 0 gives exactly 0."""
    z, y, w = nb05._ridge_problem(seed=3, n=60, s=5)
    m = torch.tensor([1.0, 0.5, 0.1, 2.0, 0.0])
    beta, b = xh.weighted_ridge(z, y, w, alpha=1.0, prior=m)
    gamma, b_scaled = xh.weighted_ridge(z * m, y, w, alpha=1.0)
    assert torch.allclose(beta, m * gamma, atol=1e-5) and abs(b - b_scaled) < 1e-5
    assert float(beta[4]) == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        xh.weighted_ridge(z, y, w, prior=-m)


def test_quiz_answers_are_spread_over_positions_and_have_chinese():
    positions = [q.correct for q in nb05.QUESTIONS.values()]
    assert len(positions) >= 2 and len(set(positions)) >= 2
    for question in nb05.QUESTIONS.values():
        assert 0 <= question.correct < len(question.options) and question.why
        assert question.zh is not None and len(question.zh[1]) == len(question.options)
