"""Notebook 02's checkers: the notebook's own solutions pass, other correct implementations pass,
and every realistic wrong solution in ``WRONG_SOLUTIONS`` is rejected with its own message; the
graded check cells (hidden tests included) run on the solutions."""
import nbformat
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import xai_helpers as xh
from xai_helpers.cam.gradient import plus_plus_weights
from xai_helpers.course import nb02_grad_cam as nb02
from xai_helpers.exercises import ExerciseError

import checks
from checks import graded_cell

NOTEBOOK = xh.REPO_ROOT / "notebooks" / "02_grad_cam_internals.ipynb"
PLUS_PLUS_ID = "02_grad_cam_internals-solution"
SCORE_ID = "02_grad_cam_internals-score-cam-solution"

#: What the checker must say about each wrong solution, in WRONG_SOLUTIONS' order.
MESSAGES = {
    PLUS_PLUS_ID: ["Grad-CAM's weights", "Negative gradients count", "channel's total",
                   "contain NaN", "sum over positions, not a mean"],
    SCORE_ID: ["probabilities over the classes", "upsampled activations themselves",
               "on its own", "raw logits"],
}
NAMES = {PLUS_PLUS_ID: "MyGradCAMPlusPlus", SCORE_ID: "score_cam_weights"}


@pytest.fixture(scope="module")
def setting(model):
    return model, xh.preprocess(model, xh.test_image_path("dog")), 235


def _cell(grade_id: str) -> str:
    return graded_cell(NOTEBOOK, grade_id)


def _run(source: str, name: str, **extra):
    namespace = {"torch": torch, "xh": xh, "nn": nn, "F": F, **extra}
    exec(compile(source, name, "exec"), namespace)
    return namespace


def _check(grade_id, answer, setting):
    if grade_id == PLUS_PLUS_ID:
        model, x, c = setting
        return nb02.check_gradcam_pp_weights(answer, model, x, c, "_blocks.15")
    return nb02.check_score_cam_weights(answer)


def test_every_graded_cell_has_wrong_solutions_and_each_has_a_message():
    checks.assert_wrong_solutions_cover_the_graded_cells(NOTEBOOK, nb02.WRONG_SOLUTIONS,
                                                         MESSAGES)


def test_the_solutions_are_not_shown_in_the_lesson():
    """No lesson cell (before the exercises) computes α or masks the input by hand."""
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    lesson = [c.source for c in cells[:next(i for i, c in enumerate(cells)
                                            if c.source.startswith("## Exercises"))]
              if c.cell_type == "code"]
    assert not any("grads ** 3" in s or "g3" in s for s in lesson)
    assert not any("softmax(dim=0)" in s for s in lesson)


@pytest.mark.parametrize("grade_id", [PLUS_PLUS_ID, SCORE_ID])
def test_the_notebooks_solution_passes_its_check_cell(grade_id, setting, capsys):
    model, x, c = setting
    torch.manual_seed(0)
    small_cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                              nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                              nn.Flatten(), nn.Linear(12, 5)).eval()
    namespace = _run(_cell(grade_id), "solution", model=model, x=x, c=c, small_cnn=small_cnn,
                     small_x=torch.randn(2, 3, 16, 16))
    check_cell = _cell(grade_id.replace("-solution", "-check"))
    exec(compile(check_cell, "check", "exec"), namespace)          # hidden tests included
    assert capsys.readouterr().out.strip().endswith("Correct.")


@pytest.mark.parametrize("grade_id, index", [(g, i) for g in MESSAGES
                                             for i in range(len(MESSAGES[g]))])
def test_each_wrong_solution_is_rejected_with_its_message(grade_id, index, setting):
    wrong = _run(nb02.WRONG_SOLUTIONS[grade_id][index], "wrong")[NAMES[grade_id]]
    with pytest.raises(ExerciseError, match=MESSAGES[grade_id][index]):
        _check(grade_id, wrong, setting)


def test_other_correct_answers_pass(setting, capsys):
    class WithEpsilon(xh.BaseCAM):                   # the library style: a tiny ε, no where()
        def channel_weights(self, A, grads, **context):
            g2, g3 = grads ** 2, grads ** 3
            alpha = g2 / (2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g3 + 1e-7)
            return (alpha * grads.clamp(min=0)).sum(dim=(2, 3))

    class Packaged(xh.GradCAMPlusPlus):
        pass

    def scaled_then_upsampled(model, x, A, c):      # torchcam's order, corners aligned
        low = A.amin(dim=(1, 2), keepdim=True)
        high = A.amax(dim=(1, 2), keepdim=True)
        masks = F.interpolate(((A - low) / (high - low))[None], size=x.shape[-2:],
                              mode="bilinear", align_corners=True)[0]
        with torch.no_grad():
            return torch.softmax(torch.stack([model(x * m)[0, c] for m in masks]), dim=0)

    _check(PLUS_PLUS_ID, WithEpsilon, setting)
    _check(PLUS_PLUS_ID, Packaged, setting)
    _check(SCORE_ID, scaled_then_upsampled, setting)
    assert capsys.readouterr().out.count("Correct.") == 3


def test_each_plus_plus_diagnosis_is_reachable():
    """The usual slips give different numbers on the checker's case (so every message can be
    reached), and the case has exact zeros in the gradient (so 0/0 shows up as NaN)."""
    A, grads = nb02._plus_plus_case()
    answers = [grads.mean(dim=(2, 3)), nb02._plus_plus(A, grads),
               nb02._plus_plus(A, grads, relu=False), nb02._plus_plus(A, grads, total=False),
               nb02._plus_plus(A, grads, two=1.0), nb02._plus_plus(A, grads, mean=True)]
    for i in range(len(answers)):
        for j in range(i + 1, len(answers)):
            assert not torch.allclose(answers[i], answers[j], atol=1e-4), (i, j)
    assert (grads == 0).any()
    assert torch.allclose(nb02._plus_plus(A, grads),
                          plus_plus_weights(grads, grads ** 2, grads ** 3, A),
                          atol=1e-4)


def test_the_checker_rejects_a_model_changing_score_cam():
    def training(model, x, A, c):
        with torch.no_grad():
            model[-1].weight.add_(1.0)
        return torch.full((A.shape[0],), 1.0 / A.shape[0])

    with pytest.raises(ExerciseError, match="changed the model"):
        nb02.check_score_cam_weights(training)
