"""Course assignments: nbgrader-style notebooks, generated student copies that are up to date,
leak nothing and fail their checks until the learner writes the code; quizzes answer."""
import re
import sys

import nbformat
import pytest
import torch

import xai_helpers as xh
from xai_helpers import exercises as ex

sys.path.insert(0, str(xh.REPO_ROOT / "tools"))
from make_exercises import (  # noqa: E402  (a repository tool, not package code)
    EXERCISES_DIR,
    NOTEBOOKS_DIR,
    student_source,
    write_all,
)

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


def _cells(path, kind):
    notebook = nbformat.read(path, as_version=4)
    return [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get(kind)]


def test_student_copies_are_up_to_date():
    assert write_all(check=True) == [], "run: python tools/make_exercises.py"
    assert sorted(p.name for p in EXERCISES_DIR.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_every_notebook_has_a_graded_coding_exercise(path):
    solutions, checks = _cells(path, "solution"), _cells(path, "grade")
    assert solutions and checks
    for cell in checks:
        meta = cell.metadata["nbgrader"]
        assert meta["locked"] and meta["points"] > 0 and meta["grade_id"].endswith("-check")
        assert "from xai_helpers.exercises import check_" in cell.source
        assert "### BEGIN HIDDEN TESTS" in cell.source
    text = nbformat.read(path, as_version=4).cells
    exercises = next(c.source for c in text if c.source.startswith("## Exercises")
                     or "## Exercises" in c.source)
    numbered = re.findall(r"^\d+\. ", exercises.split("## Exercises", 1)[1], re.MULTILINE)
    assert len(numbered) >= 3, f"{path.name}: at least three exercises"


def test_no_solution_or_hidden_test_leaks_into_the_student_copies():
    for path in NOTEBOOKS:
        student = (EXERCISES_DIR / path.name).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in student and "HIDDEN TESTS" not in student
        assert '"outputs": []' in student or '"cell_type": "code"' not in student
        cells = nbformat.read(path, as_version=4).cells
        taught = "\n".join(c.source for c in cells if "BEGIN SOLUTION" not in c.source)
        for cell in cells:
            for solution in SOLUTION.findall(cell.source):
                for line in solution.splitlines():
                    line = line.strip()
                    # long lines only ("return m" is no leak), and not lines the notebook
                    # itself shows in its teaching cells (notebook 04 builds SmoothGrad in the
                    # open before asking for it as a function)
                    if len(line) > 12 and line not in taught:
                        assert line not in student, f"{path.name} leaks: {line}"


def test_student_source_keeps_indentation_and_drops_hidden_tests():
    source = ("class A:\n    def f(self):\n        ### BEGIN SOLUTION\n        return 1\n"
              "        ### END SOLUTION\nprint(1)\n### BEGIN HIDDEN TESTS\nassert 0\n"
              "### END HIDDEN TESTS\nprint(2)")
    assert student_source(source) == ("class A:\n    def f(self):\n        # YOUR CODE HERE\n"
                                      "        raise NotImplementedError()\nprint(1)\nprint(2)")


def _namespace():
    from torch import nn
    from torchvision.transforms.v2 import functional as TF

    return {"torch": torch, "xh": xh, "nn": nn, "TF": TF}


@pytest.fixture(scope="module")
def context(model):
    return {"model": model, "x": xh.preprocess(model, xh.test_image_path("dog"))}


def _features():
    """Seeded features and weights whose class-1 map has positive evidence."""
    generator = torch.Generator().manual_seed(0)
    A, W = torch.rand(6, 4, 4, generator=generator), torch.randn(3, 6, generator=generator)
    W[1, 0] = 3.0
    return A, W


CHECKERS = {
    "00": ("my_preprocess", lambda f, c: ex.check_my_preprocess(f)),
    "01": ("class_difference_map",
           lambda f, c: ex.check_class_difference(f, *_features(), 1, 2)),
    "02": ("MyGradCAMPlusPlus", lambda f, c: ex.check_gradcam_pp_weights(
        f, c["model"], c["x"], 235, "_blocks.15")),
    "03": ("DeconvReLU", lambda f, c: ex.check_deconv_relu(f)),
    "04": ("my_smoothgrad", lambda f, c: ex.check_smoothgrad(f, c["model"], c["x"], 235)),
    "05": ("lime_kernel", lambda f, c: ex.check_lime_kernel(
        f, torch.randint(0, 2, (20, 9), generator=torch.Generator().manual_seed(0)).float())),
    "06": ("my_total_variation", lambda f, c: ex.check_total_variation(f)),
    "07": ("my_epsilon_rule", lambda f, c: ex.check_epsilon_rule(f, torch.randn(5, 7))),
    "08": ("my_smooth", lambda f, c: ex.check_smoothing(f)),
    "09": ("my_pointing_game", lambda f, c: ex.check_pointing_game(f)),
}


@pytest.mark.parametrize("key", sorted(CHECKERS))
def test_solutions_pass_and_stubs_fail_the_checker(key, context, capsys):
    name, run_check = CHECKERS[key]
    path = next(p for p in NOTEBOOKS if p.name.startswith(key))
    solution = _cells(path, "solution")[0].source
    student = _cells(EXERCISES_DIR / path.name, "solution")[0].source
    solved, stubbed = _namespace(), _namespace()
    exec(compile(solution, f"{path.name}:solution", "exec"), solved)
    exec(compile(student, f"{path.name}:stub", "exec"), stubbed)
    run_check(solved[name], context)                                # the answer passes
    assert capsys.readouterr().out.strip().endswith(("Correct.", "matches.", "orientations."))
    with pytest.raises(NotImplementedError):                         # the stub does not
        run_check(stubbed[name], context)


def test_quiz_gives_instant_feedback():
    for question_id, question in xh.QUESTIONS.items():
        right, why = xh.answer(question_id, question.correct)
        wrong, _ = xh.answer(question_id, (question.correct + 1) % len(question.options))
        assert right and not wrong and why.startswith("Right.")
        assert (NOTEBOOKS_DIR / f"{question.notebook}.ipynb").exists()
    box = xh.quiz("bgr")
    choices, (button, feedback) = box.children[0].children[1], box.children[0].children[2].children
    button.click()
    assert "Pick an answer" in feedback.value
    choices.value = 0
    button.click()
    assert "Not quite" in feedback.value
    with pytest.raises(ValueError, match="Unknown question"):
        xh.answer("nope", 0)


@pytest.mark.parametrize("key", sorted(CHECKERS))
def test_student_check_cells_fail_on_the_stubs(key, context):
    """The check cell of each student copy, run as a student would after leaving the stub."""
    from types import SimpleNamespace

    from torch import nn

    path = EXERCISES_DIR / next(p.name for p in NOTEBOOKS if p.name.startswith(key))
    stub = _cells(path, "solution")[0].source
    check = _cells(path, "grade")[0].source
    namespace = {**_namespace(), "model": context["model"], "x": context["x"], "c": 235,
                 "A": torch.rand(6, 7, 7), "W": torch.randn(1000, 6),
                 "samples": SimpleNamespace(masks=torch.ones(5, 8))}
    if key == "07":
        namespace["model"] = [None] * 9 + [nn.Linear(128, 64, bias=False)]
    exec(compile(stub, f"{path.name}:stub", "exec"), namespace)
    with pytest.raises(NotImplementedError):
        exec(compile(check, f"{path.name}:check", "exec"), namespace)


def test_the_teachers_guide_lists_every_graded_exercise():
    """docs/teaching.md's exercise table names each checker a check cell calls, and the quiz
    count it states is the real one."""
    guide = (xh.REPO_ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    graded = sum(len(_cells(path, "grade")) for path in NOTEBOOKS)
    assert f"{graded} graded coding exercises" in " ".join(guide.split())
    for path in NOTEBOOKS:
        for cell in _cells(path, "grade"):
            for checker in re.findall(r"import (check_\w+)", cell.source):
                assert f"`{checker}`" in guide, f"docs/teaching.md does not list {checker}"
    assert f"{len(xh.QUESTIONS)} quiz questions" in guide
