"""Notebook 03's checkers: the notebook's own solutions pass, other correct implementations pass,
and every realistic wrong solution in ``WRONG_SOLUTIONS`` is rejected with its own message; the
graded check cells (hidden tests included) run on the solutions."""
import pytest
import torch
from torch import nn

import xai_helpers as xh
from xai_helpers.course import nb03_guided as nb03
from xai_helpers.exercises import ExerciseError

import checks
from checks import graded_cell

NOTEBOOK = xh.REPO_ROOT / "notebooks" / "03_guided_grad_cam.ipynb"
DECONV_ID = "03_guided_grad_cam-solution"
BY_HAND_ID = "03_guided_grad_cam-by-hand-solution"

#: What the checker must say about each wrong solution, in WRONG_SOLUTIONS' order.
MESSAGES = {
    DECONV_ID: ["ordinary ReLU gradient", "guided backprop"],
    BY_HAND_ID: ["ordinary gradient", "Clamping the finished gradient", "actually arrives",
                 "deconvnet rule", "first hidden layer"],
}
CHECKERS = {DECONV_ID: (nb03.check_deconv_relu, "DeconvReLU"),
            BY_HAND_ID: (nb03.check_guided_gradient, "guided_gradient")}


def _cell(grade_id: str) -> str:
    return graded_cell(NOTEBOOK, grade_id)


def _run(source: str, name: str):
    namespace = {"torch": torch, "xh": xh, "nn": nn}
    exec(compile(source, name, "exec"), namespace)
    return namespace


def test_every_graded_cell_has_wrong_solutions_and_each_has_a_message():
    checks.assert_wrong_solutions_cover_the_graded_cells(NOTEBOOK, nb03.WRONG_SOLUTIONS,
                                                         MESSAGES)


@pytest.mark.parametrize("grade_id", [DECONV_ID, BY_HAND_ID])
def test_the_notebooks_solution_passes_its_check_cell(grade_id, capsys):
    namespace = _run(_cell(grade_id), "solution")
    check_cell = _cell(grade_id.replace("-solution", "-check"))
    exec(compile(check_cell, "check", "exec"), namespace)          # hidden tests included
    assert capsys.readouterr().out.strip().endswith("Correct.")


@pytest.mark.parametrize("grade_id, index", [(g, i) for g in MESSAGES
                                             for i in range(len(MESSAGES[g]))])
def test_each_wrong_solution_is_rejected_with_its_message(grade_id, index):
    check, name = CHECKERS[grade_id]
    wrong = _run(nb03.WRONG_SOLUTIONS[grade_id][index], "wrong")[name]
    with pytest.raises(ExerciseError, match=MESSAGES[grade_id][index]):
        check(wrong)


def test_other_correct_guided_gradients_pass(capsys):
    def with_autograd(weights, x, c):                  # the package's guided copy, autograd
        network, _ = xh.guided_copy(nb03._as_network(weights))
        x = x.clone().requires_grad_(True)
        return torch.autograd.grad(network(x[None])[0, c], x)[0]

    def with_masks_from_the_activations(weights, x, c):   # a = ReLU(h) > 0 is the same test
        activations, a = [], x
        for W in weights[:-1]:
            a = torch.relu(W @ a)
            activations.append(a)
        g = weights[-1][c].clone()
        for W, a in zip(reversed(weights[:-1]), reversed(activations)):
            g = torch.where((a > 0) & (g > 0), g, torch.zeros_like(g))
            g = g @ W                                      # gᵀ W == Wᵀ g
        return g

    nb03.check_guided_gradient(with_autograd)
    nb03.check_guided_gradient(with_masks_from_the_activations)
    assert capsys.readouterr().out.count("Correct.") == 2


def test_each_diagnosis_is_reachable_on_the_checkers_cases():
    """The wrong rules differ from the right one (and from each other) on the checker's cases,
    so every message can be reached."""
    weights, x = nb03._guided_case((6, 8, 7, 4), 7)
    answers = {rule: nb03._by_hand(weights, x, 2, rule)
               for rule in ["plain", "deconvnet", "guided", "sign of the plain gradient",
                            "input side only"]}
    answers["clamped at the end"] = answers["plain"].clamp(min=0)
    values = list(answers.values())
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            assert not torch.allclose(values[i], values[j], atol=1e-4), list(answers)[i:j + 1]
    assert torch.allclose(answers["guided"], nb03.guided_reference(weights, x, 2), atol=1e-6)


def test_the_wrong_guided_gradients_are_not_accidentally_right_on_a_one_relu_network():
    """With a single ReLU the 'sign of the plain gradient' mistake is invisible — the reason
    the checker uses two and three hidden layers."""
    weights, x = nb03._guided_case((6, 8, 4), 0)
    assert torch.allclose(nb03._by_hand(weights, x, 2, "sign of the plain gradient"),
                          nb03._by_hand(weights, x, 2, "guided"))
