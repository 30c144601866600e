"""Notebook 07's checkers: the notebook's own solutions pass, other correct implementations pass,
and every realistic wrong solution in ``WRONG_SOLUTIONS`` is rejected with its own message; the
graded check cells (hidden tests included) run on the solutions."""
import pytest
import torch
from torch import nn

import xai_helpers as xh
from xai_helpers.course import nb07_lrp as nb07
from xai_helpers.exercises import ExerciseError

import checks
from checks import graded_cell

NOTEBOOK = xh.REPO_ROOT / "notebooks" / "07_lrp.ipynb"
EPSILON_ID = "07_lrp-solution"
ALPHA_BETA_ID = "07_lrp-alpha-beta-solution"

#: What the checker must say about each wrong solution, in WRONG_SOLUTIONS' order.
MESSAGES = {
    EPSILON_ID: ["gradient-trick vector", "not conserved"],
    ALPHA_BETA_ID: ["sign of the weights", "one denominator", r"\+α and the negative part by −β",
                    "With β > 0", "ε-rule"],
}
NAMES = {EPSILON_ID: "my_epsilon_rule", ALPHA_BETA_ID: "my_alpha_beta_rule"}


def _cell(grade_id: str) -> str:
    return graded_cell(NOTEBOOK, grade_id)


def _run(source: str, name: str, **extra):
    namespace = {"torch": torch, "xh": xh, "nn": nn, **extra}
    exec(compile(source, name, "exec"), namespace)
    return namespace


def _check(grade_id, function):
    if grade_id == EPSILON_ID:
        return nb07.check_epsilon_rule(function, torch.randn(10, 64))
    return nb07.check_alpha_beta_rule(function)


def test_every_graded_cell_has_wrong_solutions_and_each_has_a_message():
    checks.assert_wrong_solutions_cover_the_graded_cells(NOTEBOOK, nb07.WRONG_SOLUTIONS,
                                                         MESSAGES)


@pytest.mark.parametrize("grade_id", [EPSILON_ID, ALPHA_BETA_ID])
def test_the_notebooks_solution_passes_its_check_cell(grade_id, capsys):
    model = xh.digits_cnn().eval()                     # the check cells read the digits CNN
    namespace = _run(_cell(grade_id), "solution", model=model)
    check_cell = _cell(grade_id.replace("-solution", "-check"))
    exec(compile(check_cell, "check", "exec"), namespace)          # hidden tests included
    assert capsys.readouterr().out.strip().endswith("Correct.")


@pytest.mark.parametrize("grade_id, index", [(g, i) for g in MESSAGES
                                             for i in range(len(MESSAGES[g]))])
def test_each_wrong_solution_is_rejected_with_its_message(grade_id, index):
    wrong = _run(nb07.WRONG_SOLUTIONS[grade_id][index], "wrong")[NAMES[grade_id]]
    with pytest.raises(ExerciseError, match=MESSAGES[grade_id][index]):
        _check(grade_id, wrong)


def test_other_correct_alpha_beta_rules_pass(capsys):
    def with_the_package(weight, a, R, alpha, beta):
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        with torch.no_grad():
            layer.weight.copy_(weight)
        return xh.alpha_beta_rule(layer, a, R, alpha, beta)

    def four_matrix_products(weight, a, R, alpha, beta):     # zennit's way: signs of a and w
        ap, an, wp, wn = a.clamp(min=0), a.clamp(max=0), weight.clamp(min=0), weight.clamp(max=0)
        s_pos = R / (ap @ wp.T + an @ wn.T)
        s_neg = R / (ap @ wn.T + an @ wp.T)
        positive = ap * (s_pos @ wp) + an * (s_pos @ wn)
        negative = ap * (s_neg @ wn) + an * (s_neg @ wp)
        return alpha * positive - beta * negative

    nb07.check_alpha_beta_rule(with_the_package)
    nb07.check_alpha_beta_rule(four_matrix_products)
    assert capsys.readouterr().out.count("Correct.") == 2


def test_the_checkers_case_makes_every_mistake_visible():
    """Every unit has contributions of both signs (so conservation is exact for the right
    rule), and splitting by the weights' sign differs from splitting the contributions."""
    weight, a, R = nb07._alpha_beta_case()
    z = a[:, None, :] * weight[None]
    assert (z.clamp(min=0).sum(2) > 0.1).all() and (z.clamp(max=0).sum(2) < -0.1).all()
    right = nb07._reference_alpha_beta(weight, a, R, 2.0, 1.0)
    assert torch.allclose(right.sum(1), R.sum(1), rtol=1e-5)
    for variant in [dict(split="weight"), dict(shared=True)]:
        assert not torch.allclose(nb07._reference_alpha_beta(weight, a, R, 2.0, 1.0, **variant),
                                  right, atol=1e-3)


def test_alpha_beta_loses_conservation_exactly_where_a_unit_has_one_sign_only():
    """The notebook's claim: bias-free α-β conserves relevance except at units without negative
    (or positive) contributions, where α·R_k (or −β·R_k) is sent instead of R_k."""
    layer = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight[:] = torch.tensor([[2.0, 1.0]])
    R = xh.alpha_beta_rule(layer, torch.tensor([[3.0, 2.0]]), torch.tensor([[8.0]]), 2.0, 1.0)
    assert torch.allclose(R.sum(), torch.tensor(16.0))
    R = xh.alpha_beta_rule(layer, torch.tensor([[3.0, 2.0]]), torch.tensor([[8.0]]), 1.0, 0.0)
    assert torch.allclose(R.sum(), torch.tensor(8.0))
