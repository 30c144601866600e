"""Notebook 04's checkers: the notebook's own solutions pass, other correct implementations pass
(SmoothGrad is judged statistically, not by replaying one ``torch.normal`` call), and every
realistic wrong solution in ``WRONG_SOLUTIONS`` is rejected with its own message."""
import pytest
import torch

import xai_helpers as xh
from xai_helpers.course import nb04_gradients as nb04
from xai_helpers.exercises import ExerciseError

import checks
from checks import graded_cell

NOTEBOOK = xh.REPO_ROOT / "notebooks" / "04_captum_occlusion_and_gradients.ipynb"
SMOOTHGRAD_ID = "04_captum_occlusion_and_gradients-solution"
IG_ID = "04_captum_occlusion_and_gradients-ig-trapezoid-solution"

#: What the checker must say about each wrong solution, in WRONG_SOLUTIONS' order.
MESSAGES = {
    SMOOTHGRAD_ID: ["magnitude", "summed", "share", "sigma²", "batch axis"],
    IG_ID: ["right Riemann", "end points count half", r"multiplies it by \(x - baseline\)",
            r"y\(0\)"],
}


def _solution_source(grade_id: str) -> str:
    return graded_cell(NOTEBOOK, grade_id)


def _function(source: str, name: str):
    namespace = {"torch": torch, "xh": xh}
    exec(compile(source, name, "exec"), namespace)
    return next(v for k, v in namespace.items() if k.startswith("my_") and callable(v))


@pytest.fixture(scope="module")
def dog(model):
    return xh.preprocess(model, xh.test_image_path("dog"))


def test_every_graded_cell_has_wrong_solutions_and_each_has_a_message():
    checks.assert_wrong_solutions_cover_the_graded_cells(NOTEBOOK, nb04.WRONG_SOLUTIONS,
                                                         MESSAGES)


def test_smoothgrad_accepts_the_notebooks_solution_and_other_correct_ones(model, dog, capsys):
    nb04.check_smoothgrad(_function(_solution_source(SMOOTHGRAD_ID), "solution"), model, dog, 235)

    def one_copy_at_a_time(model, x, target, n, sigma):          # a loop, torch.randn
        total = torch.zeros_like(x)
        for _ in range(n):
            noisy = (x + sigma * torch.randn_like(x)).requires_grad_(True)
            (grad,) = torch.autograd.grad(model(noisy)[0, target], noisy)
            total += grad.abs()
        return total / n

    def with_the_package(model, x, target, n, sigma):            # captum's way of drawing
        return xh.smoothgrad(model, x, target, n_samples=n, sigma=sigma)

    nb04.check_smoothgrad(one_copy_at_a_time, model, dog, 235, seed=3)
    nb04.check_smoothgrad(with_the_package, model, dog, 235, sigma=0.3)
    assert capsys.readouterr().out.count("Correct.") == 3


def test_smoothgrads_statistic_is_calibrated():
    """The test statistic of correct answers: mean about 1, none near the threshold 2 (a false
    alarm would fail a right answer); a 10 % wrong sigma is already outside."""
    net, x = nb04._smooth_net(), nb04._smooth_input()
    expected = nb04._noisy_gradient_moments(net, x, 1, 0.5)
    generator = torch.Generator().manual_seed(11)
    runs, n = 40, 200
    noisy = x + 0.5 * torch.randn(runs * n, *x.shape[1:], generator=generator)
    estimates = nb04._gradients(net, noisy, 1).abs().view(runs, n, *x.shape[1:]).mean(1)
    values = torch.tensor([nb04._misfit(e, expected, n) for e in estimates])
    assert 0.8 < float(values.mean()) < 1.25 and float(values.max()) < 1.8
    biased = nb04._gradients(net, x + 0.25 * torch.randn(n, *x.shape[1:], generator=generator),
                             1).abs().mean(0)
    assert nb04._misfit(biased, expected, n) > 5


@pytest.mark.parametrize("index", range(len(nb04.WRONG_SOLUTIONS[SMOOTHGRAD_ID])))
def test_smoothgrad_rejects_each_wrong_solution_with_its_message(model, dog, index):
    wrong = _function(nb04.WRONG_SOLUTIONS[SMOOTHGRAD_ID][index], f"wrong {index}")
    with pytest.raises(ExerciseError, match=MESSAGES[SMOOTHGRAD_ID][index]):
        nb04.check_smoothgrad(wrong, model, dog, 235)


def test_smoothgrad_rejects_the_clean_saliency_and_a_stub(model, dog):
    def no_noise(model, x, target, n, sigma):
        x = x.clone().requires_grad_(True)
        return torch.autograd.grad(model(x)[0, target], x)[0].abs()

    with pytest.raises(ExerciseError, match="clean image"):
        nb04.check_smoothgrad(no_noise, model, dog, 235)
    with pytest.raises(ExerciseError, match="return"):
        nb04.check_smoothgrad(lambda *args: None, model, dog, 235)


def test_integrated_gradients_accepts_the_notebooks_solution_and_the_package(model, dog, capsys):
    black = torch.full_like(dog, -1.0)
    solution = _function(_solution_source(IG_ID), "solution")
    nb04.check_integrated_gradients(solution, model, dog, 235, black)

    def with_the_package(model, x, target, baseline, n_points):
        attr = xh.integrated_gradients(model, x, target, baseline, n_steps=n_points,
                                       method="riemann_trapezoid")
        return attr, float(xh.convergence_delta(model, attr, x, target, baseline))

    nb04.check_integrated_gradients(with_the_package, model, dog, 235, black, n_points=17)
    assert capsys.readouterr().out.count("Correct.") == 2


@pytest.mark.parametrize("index", range(len(nb04.WRONG_SOLUTIONS[IG_ID])))
def test_integrated_gradients_rejects_each_wrong_solution_with_its_message(model, dog, index):
    wrong = _function(nb04.WRONG_SOLUTIONS[IG_ID][index], f"wrong {index}")
    with pytest.raises(ExerciseError, match=MESSAGES[IG_ID][index]):
        nb04.check_integrated_gradients(wrong, model, dog, 235, torch.full_like(dog, -1.0))


def test_integrated_gradients_rejects_a_path_from_zero_and_gradient_times_input(model, dog):
    def from_zero(model, x, target, baseline, n_points):
        attr = xh.integrated_gradients(model, x, target, 0.0, n_steps=n_points,
                                       method="riemann_trapezoid")
        return attr, 0.0

    def gradient_times_input(model, x, target, baseline, n_points):
        x_in = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(x_in)[0, target], x_in)
        return (x - baseline) * grad, 0.0

    black = torch.full_like(dog, -1.0)
    with pytest.raises(ExerciseError, match="starts at 0"):
        nb04.check_integrated_gradients(from_zero, model, dog, 235, black)
    with pytest.raises(ExerciseError, match="only the gradient at x"):
        nb04.check_integrated_gradients(gradient_times_input, model, dog, 235, black)
    with pytest.raises(ExerciseError, match="two things"):
        nb04.check_integrated_gradients(lambda *a: torch.zeros(1), model, dog, 235, black)


def test_quiz_answers_are_spread_over_positions():
    positions = [q.correct for q in nb04.QUESTIONS.values()]
    assert len(positions) >= 3 and len(set(positions)) >= 3
    for question in nb04.QUESTIONS.values():
        assert 0 <= question.correct < len(question.options) and question.why
