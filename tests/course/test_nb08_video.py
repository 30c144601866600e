"""Notebook 08's checker: the notebook's own solution passes (hidden tests included), another
correct implementation passes, and every realistic wrong solution in ``WRONG_SOLUTIONS`` is
rejected with its own message; the quiz questions are well formed."""
import pytest
import torch

import xai_helpers as xh
from xai_helpers.course import nb08_video as nb08
from xai_helpers.exercises import ExerciseError

import checks
from checks import graded_cell

NOTEBOOK = xh.REPO_ROOT / "notebooks" / "08_video_and_webcam_cam.ipynb"
SOLUTION_ID = "08_video_and_webcam_cam-solution"

#: What the checker must say about each wrong solution, in WRONG_SOLUTIONS' order.
MESSAGES = ["previous \\*smoothed\\* map", "weights are swapped", "first smoothed map",
            "changed the maps it was given"]


def _cell(grade_id: str) -> str:
    return graded_cell(NOTEBOOK, grade_id)


def _run(source: str) -> dict:
    namespace = {"torch": torch, "xh": xh}
    exec(compile(source, "cell", "exec"), namespace)
    return namespace


def test_every_graded_cell_has_wrong_solutions_with_a_message():
    checks.assert_wrong_solutions_cover_the_graded_cells(
        NOTEBOOK, nb08.WRONG_SOLUTIONS, {SOLUTION_ID: MESSAGES})


def test_the_notebooks_solution_passes_its_check_cell(capsys):
    namespace = _run(_cell(SOLUTION_ID))
    exec(compile(_cell("08_video_and_webcam_cam-check"), "check", "exec"), namespace)
    assert capsys.readouterr().out.strip().endswith("Correct.")


def test_another_correct_implementation_passes(capsys):
    def vectorised(maps, weight):            # the closed form: S_t = Σ_s c_ts M_s
        T = len(maps)
        t, s = torch.arange(T)[:, None], torch.arange(T)[None, :]
        c = torch.where(s <= t, weight * (1 - weight) ** (t - s).clamp(min=0), 0.0)
        c[:, 0] = (1 - weight) ** torch.arange(T).float()          # S_0 = M_0
        return torch.einsum("ts,shw->thw", c.float(), maps)

    nb08.check_smoothing(vectorised)
    assert capsys.readouterr().out.strip().endswith("Correct.")


@pytest.mark.parametrize("index", range(len(MESSAGES)))
def test_each_wrong_solution_is_rejected_with_its_message(index):
    wrong = _run(nb08.WRONG_SOLUTIONS[SOLUTION_ID][index])["my_smooth"]
    with pytest.raises(ExerciseError, match=MESSAGES[index]):
        nb08.check_smoothing(wrong)


def test_normalising_each_smoothed_map_is_named():
    def normalised(maps, weight):
        out = xh.CamSmoother(weight)(maps.clone())
        low = out.flatten(1).min(1).values[:, None, None]
        high = out.flatten(1).max(1).values[:, None, None]
        return (out - low) / (high - low)

    with pytest.raises(ExerciseError, match="do not min-max normalise"):
        nb08.check_smoothing(normalised)


def test_the_synthetic_frames_flicker_and_smoothing_removes_it():
    """The checker's maps are what the exercise is about: the peak jumps every frame, and the
    smoothed maps change less from frame to frame than the raw ones."""
    maps = nb08.flickering_maps()
    peaks = maps.flatten(1).argmax(1)
    assert (peaks[1:] != peaks[:-1]).all()
    smoothed = xh.CamSmoother(0.3)(maps)
    assert (smoothed[1:] - smoothed[:-1]).abs().mean() < 0.5 * (maps[1:] - maps[:-1]).abs().mean()


def test_quiz_questions_are_well_formed_and_vary_the_answer_position():
    positions = {q.correct for q in nb08.QUESTIONS.values()}
    assert len(nb08.QUESTIONS) >= 2 and len(positions) >= 2
    for question in nb08.QUESTIONS.values():
        assert 0 <= question.correct < len(question.options)
        assert question.zh is not None and len(question.zh[1]) == len(question.options)


def test_label_text_scales_with_the_frame_height():
    from xai_helpers.video.explain import label_font_size

    assert label_font_size(720) == 40 and label_font_size(1080) == 60
    assert label_font_size(100) == 14                      # never below 14 px


def test_stage_seconds_times_every_stage_of_the_pipeline():
    """Section 2.1's breakdown: every stage timed, per frame, positive; the model's stages named
    by their method."""
    from xai_helpers.video.explain import stage_seconds

    frames = list(xh.read_frames(xh.SAMPLE_VIDEO, stop=2))
    seconds = stage_seconds(xh.load_model(), frames, batch_size=2)
    assert list(seconds) == ["squash", "CAM", "Grad-CAM", "draw", "encode"]
    assert all(0 < value < 10 for value in seconds.values())
    with pytest.raises(ValueError, match="at least one frame"):
        stage_seconds(xh.load_model(), [])
