"""The nbgrader round trip, with the real tool (nbgrader 0.9.6, a development dependency), as a
teacher runs it (docs/teaching.md, "Handing out with nbgrader"):

1. a throwaway course gets **every** notebook as one assignment's source, and
   ``nbgrader generate_assignment`` must accept them and release exactly our student copies
   (``exercises/``: solutions stubbed, hidden tests removed), with every check cell in the
   gradebook at its points;
2. ``nbgrader autograde`` grades, for each graded exercise of the notebooks in ``AUTOGRADED``,
   three kinds of student: the reference solution (full marks, and the whole notebook runs
   without an error under nbgrader), the untouched stub (zero) and every realistic wrong
   implementation registered in ``xai_helpers.course.exercises.WRONG_SOLUTIONS`` (zero, rejected
   by the checker itself: an ``ExerciseError`` whose message reaches the feedback);
3. ``nbgrader generate_feedback`` writes the HTML feedback for each of them.

Size: autograde executes the submitted notebook once per student (fast mode, like the other
notebook tests), so CI autogrades a representative subset (``AUTOGRADED``), generation covers
all notebooks. Notebook 01 (the issue's hand-run case; its check uses the lesson's feature maps
and weights, so it only works in the executed notebook) is submitted whole, by two students:
the solution and its first wrong solution. Notebook 06 (two exercises, pure functions
of their arguments) is submitted by the solution, the stub and two wrong solutions per exercise
(every one of them is rejected by its checker in tests/course), as a student
who cleared the lesson's code cells would hand it in (``TRIMMED``: the setup cell, the exercise
cells and the prose stay; nbgrader grades what is left). Whole notebooks cost about 22 s per
submission here, trimmed ones a few seconds. ``XAI_NBGRADER_ALL=1`` autogrades every notebook
that has a graded exercise, whole, with every wrong solution (several times longer). Every
graded exercise of every notebook must have a wrong solution (``STRICT_WRONG_SOLUTIONS``).
"""
from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import xai_helpers as xh
from xai_helpers.course.exercises import WRONG_SOLUTIONS

sys.path.insert(0, str(xh.REPO_ROOT / "tools"))
from make_exercises import EXERCISES_DIR, NOTEBOOKS_DIR, student_notebook  # noqa: E402

NBGRADER = Path(sys.executable).parent / "nbgrader"
ASSIGNMENT = "workbook"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
AUTOGRADED = ("01_cam_from_scratch", "06_igos")
TRIMMED = ("06_igos",)             # submitted without the lesson's code cells
STRICT_WRONG_SOLUTIONS = True
TIMEOUT = 600                      # seconds per cell (nbgrader's default, 30, is too short
                                   # for some full-mode cells; docs/teaching.md says so too)
_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def exercises(notebook) -> list[tuple[dict, dict]]:
    """(solution cell, check cell) pairs: each graded check cell and the solution cell
    before it."""
    pairs, solution = [], None
    for cell in notebook.cells:
        meta = _nbgrader(cell)
        if meta.get("solution") and cell.cell_type == "code":
            solution = cell
        elif meta.get("grade") and cell.cell_type == "code":
            assert solution is not None, f"check cell {meta.get('grade_id')} has no solution cell"
            pairs.append((solution, cell))
            solution = None
    return pairs


def _graded_exercises() -> dict[str, list[tuple[dict, dict]]]:
    return {path.stem: exercises(nbformat.read(path, as_version=4)) for path in NOTEBOOKS}


def _autograded() -> list[str]:
    graded = [name for name, pairs in _graded_exercises().items() if pairs]
    if _every_submission():
        return graded
    missing = [name for name in AUTOGRADED if name not in graded]
    assert not missing, f"AUTOGRADED names notebooks without a graded exercise: {missing}"
    return list(AUTOGRADED)


def _run(args, cwd, timeout=1800):
    # nbgrader runs `alembic` (its gradebook's migrations) from PATH: the environment's bin/,
    # as after `source .venv/bin/activate` (docs/teaching.md)
    env = {**os.environ, "XAI_FAST": "1",
           "PATH": os.pathsep.join([str(NBGRADER.parent), os.environ.get("PATH", "")])}
    finished = subprocess.run([str(NBGRADER), *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout)
    assert finished.returncode == 0, (f"nbgrader {' '.join(args)} failed:\n"
                                      f"{finished.stdout[-3000:]}\n{finished.stderr[-6000:]}")
    return finished.stdout + finished.stderr


def _every_submission() -> bool:
    return os.environ.get("XAI_NBGRADER_ALL", "").lower() in ("1", "true", "yes")


def _students(name: str, source) -> dict[str, dict[str, str]]:
    """Student id -> {solution grade_id: the cell source that student submits} for one
    notebook ("stub" submits nothing: the released cell as it is)."""
    pairs = exercises(source)
    solution = {_nbgrader(s)["grade_id"]: _MARKERS.sub("", s.source) for s, _ in pairs}
    students = {"solution": solution, "stub": {}}
    most = max((len(WRONG_SOLUTIONS.get(gid, [])) for gid in solution), default=0)
    if not _every_submission():
        # every wrong solution is rejected by its checker in tests/course; here two per
        # exercise (one for a whole notebook) show that nbgrader carries the rejection through
        most = min(most, 2 if name in TRIMMED else 1)
    if name not in TRIMMED and not _every_submission():
        del students["stub"]                # stubs score 0: shown on the trimmed notebooks
    for k in range(most):
        students[f"wrong{k + 1}"] = {
            gid: (WRONG_SOLUTIONS[gid][k] if k < len(WRONG_SOLUTIONS.get(gid, []))
                  else solution[gid]) for gid in solution}
    return students


def _trimmed(cells):
    """The cells a student who cleared the lesson's code hands in: prose, the setup cell (the
    first code cell: imports) and every nbgrader cell."""
    setup = next(i for i, c in enumerate(cells) if c.cell_type == "code")
    return [c for i, c in enumerate(cells)
            if c.cell_type != "code" or i == setup or _nbgrader(c)]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course with all notebooks as one assignment, generated, then autograded for the
    students of ``_students`` and given feedback."""
    if not NBGRADER.exists():
        pytest.fail("nbgrader is not installed in this environment: run `make setup` "
                    "(it is a development dependency)")
    root = tmp_path_factory.mktemp("course")
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'xai-workbook'\n"
        f"c.Execute.timeout = {TIMEOUT}\n")
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for path in NOTEBOOKS:
        shutil.copy(path, source / path.name)
    log = _run(["generate_assignment", ASSIGNMENT, "--force"], root)
    release = root / "release" / ASSIGNMENT
    expected = {}
    for name in _autograded():
        source_nb = nbformat.read(source / f"{name}.ipynb", as_version=4)
        released = nbformat.read(release / f"{name}.ipynb", as_version=4)
        for student, answers in _students(name, source_nb).items():
            submission = nbformat.from_dict(released)
            if name in TRIMMED and not _every_submission():
                submission.cells = _trimmed(submission.cells)
            for cell in submission.cells:
                gid = _nbgrader(cell).get("grade_id")
                if gid in answers:
                    cell.source = answers[gid]
            folder = root / "submitted" / student / ASSIGNMENT
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(submission, folder / f"{name}.ipynb")
            expected[(student, name)] = answers
    log += _run(["autograde", ASSIGNMENT, "--force"], root)
    log += _run(["generate_feedback", ASSIGNMENT, "--force"], root)
    return root, expected, log


def test_generate_assignment_releases_our_student_copies(course):
    """nbgrader strips solutions and hidden tests exactly as tools/make_exercises.py does (that
    the committed exercises/ are up to date is tests/course/test_student_copies.py's job)."""
    root, _, _ = course
    release = root / "release" / ASSIGNMENT
    assert sorted(p.name for p in release.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        released = nbformat.read(release / path.name, as_version=4)
        ours = student_notebook(nbformat.read(path, as_version=4))
        theirs = [(c.cell_type, c.source.rstrip("\n")) for c in released.cells]
        mine = [(c.cell_type, c.source.rstrip("\n")) for c in ours.cells]
        assert theirs == mine, (f"{path.name}: nbgrader's release differs from "
                                f"tools/make_exercises.py's student copy ({EXERCISES_DIR.name}/)")
        assert "BEGIN HIDDEN TESTS" not in nbformat.writes(released)
        assert "BEGIN SOLUTION" not in nbformat.writes(released)


def test_every_check_cell_is_in_the_gradebook(course):
    from nbgrader.api import Gradebook

    root, _, _ = course
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for name, pairs in _graded_exercises().items():
            for _, check in pairs:
                meta = _nbgrader(check)
                cell = gradebook.find_grade_cell(meta["grade_id"], name, ASSIGNMENT)
                assert cell.max_score == meta["points"] > 0


def _plain(text: str) -> str:
    """Text as a reader sees it: without HTML tags and entities, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


def _check_output_error(autograded: Path, grade_id: str):
    notebook = nbformat.read(autograded, as_version=4)
    cell = next(c for c in notebook.cells if _nbgrader(c).get("grade_id") == grade_id)
    return next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)


def test_autograde_scores_and_feedback(course):
    """Solution: full marks and no error anywhere; stub: zero; each wrong solution: zero,
    rejected by the checker (ExerciseError), its message in the HTML feedback."""
    from nbgrader.api import Gradebook

    root, expected, _ = course
    problems = []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for (student, name), answers in expected.items():
            source = nbformat.read(root / "source" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
            autograded = root / "autograded" / student / ASSIGNMENT / f"{name}.ipynb"
            feedback = root / "feedback" / student / ASSIGNMENT / f"{name}.html"
            assert feedback.exists(), f"no feedback for {student}/{name}"
            page = feedback.read_text(encoding="utf-8")
            for solution, check in exercises(source):
                sid, cid = _nbgrader(solution)["grade_id"], _nbgrader(check)["grade_id"]
                points = _nbgrader(check)["points"]
                score = gradebook.find_grade(cid, name, ASSIGNMENT, student).score
                wrong = student.startswith("wrong") and answers[sid] != \
                    _students(name, source)["solution"][sid]
                if student == "solution" or (student.startswith("wrong") and not wrong):
                    if score != points:
                        problems.append(f"{student}/{cid}: {score} of {points}, expected full "
                                        f"marks: {_check_output_error(autograded, cid)}")
                    continue
                if score != 0:
                    problems.append(f"{student}/{cid}: {score} of {points}, expected 0")
                error = _check_output_error(autograded, cid)
                if student == "stub":
                    if error is None:
                        problems.append(f"stub/{cid}: the untouched stub raised no error in "
                                        "the check cell")
                    continue
                if error is None or error.ename != "ExerciseError":
                    problems.append(f"{student}/{cid}: the wrong solution must be rejected by "
                                    f"the checker's ExerciseError, got "
                                    f"{error and (error.ename, error.evalue)}")
                elif not error.evalue.strip() or _plain(error.evalue) not in _plain(page):
                    problems.append(f"{student}/{cid}: the checker's message "
                                    f"{error.evalue!r} is not in the feedback {feedback.name}")
            if student == "solution":
                notebook = nbformat.read(autograded, as_version=4)
                failed = [(i, o.ename, o.evalue) for i, c in enumerate(notebook.cells)
                          for o in c.get("outputs", []) if o.output_type == "error"]
                if failed:
                    problems.append(f"solution/{name}: cells fail under nbgrader: {failed}")
            if not re.search(r"Score:\s*[\d.]+\s*/\s*[\d.]+", page):
                problems.append(f"{student}/{name}: the feedback shows no score")
    assert not problems, "\n".join(problems)


def test_wrong_solutions_name_real_solution_cells():
    """A key that names no solution cell (a typo, a renamed exercise) would never be graded."""
    solution_ids = {_nbgrader(s)["grade_id"] for pairs in _graded_exercises().values()
                    for s, _ in pairs}
    unknown = sorted(set(WRONG_SOLUTIONS) - solution_ids)
    assert not unknown, f"WRONG_SOLUTIONS names no solution cell: {unknown}"
    for gid, sources in WRONG_SOLUTIONS.items():
        assert sources and all(isinstance(s, str) and s.strip() for s in sources), gid


def test_every_graded_exercise_has_a_wrong_solution():
    notebook_of = {_nbgrader(s)["grade_id"]: name for name, pairs in _graded_exercises().items()
                   for s, _ in pairs}
    missing = sorted(gid for gid in notebook_of if not WRONG_SOLUTIONS.get(gid))
    autograded_missing = [gid for gid in missing if notebook_of[gid] in _autograded()]
    if missing and not STRICT_WRONG_SOLUTIONS:
        pytest.skip(f"graded exercises without a wrong solution in WRONG_SOLUTIONS "
                    f"({len(missing)}; autograded here: {autograded_missing}): "
                    + ", ".join(missing))
    assert not missing, f"graded exercises without a wrong solution: {missing}"
