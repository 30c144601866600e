"""Quick quizzes on the classic misconceptions, with instant feedback.

``quiz("no_grad", "bgr")`` shows the questions as ipywidgets (pick an answer, press Check, read
why). ``answer("no_grad", 1)`` gives the same feedback as a function, for scripts and tests.
Every question comes from a mistake this workbook shows happening (the notebook is named).
"""
from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets

__all__ = ["Question", "QUESTIONS", "answer", "quiz"]


@dataclass(frozen=True)
class Question:
    """A multiple-choice question: ``options[correct]`` is right; ``why`` explains it."""

    prompt: str
    options: tuple[str, ...]
    correct: int
    why: str
    notebook: str


QUESTIONS: dict[str, Question] = {
    "layergradcam_relu": Question(
        "captum's LayerGradCam(model, layer).attribute(x, target=c) returns a map with negative "
        "values. Is it broken?",
        ("Yes: Grad-CAM maps are never negative",
         "No: captum applies no ReLU unless you pass relu_attributions=True",
         "No: the negative values come from the upsampling"),
        1, "Grad-CAM's paper applies a ReLU to keep positive evidence; captum's LayerGradCam "
           "leaves it off by default (relu_attributions=False). Pass True to match the paper.",
        "02_grad_cam_internals"),
    "no_grad": Question(
        "You compute Grad-CAM inside `with torch.no_grad():` and get an error (or an all-zero "
        "map). Why?",
        ("The model must be in train mode for gradients",
         "no_grad stops autograd from recording the forward pass, so there is no gradient to "
         "take", "Grad-CAM needs a GPU"),
        1, "Gradient methods need the graph of the forward pass. Run them outside no_grad / "
           "inference_mode (eval mode is fine: it only changes dropout and BatchNorm).",
        "02_grad_cam_internals"),
    "bgr": Question(
        "You overlay a heatmap with OpenCV's applyColorMap and show it with matplotlib: hot "
        "regions come out blue. What happened?",
        ("The map is inverted: use 1 - cam", "OpenCV returns BGR; matplotlib expects RGB",
         "matplotlib's jet differs from OpenCV's jet"),
        1, "OpenCV (and mmcv) work in BGR. Convert with cv2.cvtColor(..., cv2.COLOR_BGR2RGB) or "
           "reverse the last axis before plotting (pytorch-grad-cam: use_rgb=True).",
        "08_video_and_webcam_cam"),
    "baseline_space": Question(
        "Your model normalises inputs with mean = std = 0.5. Which Integrated Gradients "
        "baseline is a black picture?",
        ("torch.zeros_like(x)", "torch.full_like(x, -1.0)", "torch.full_like(x, 0.5)"),
        1, "Baselines live in the model's input space: black pixel 0 becomes (0 - 0.5) / 0.5 = "
           "-1. A zero tensor there is a grey picture.",
        "04_captum_occlusion_and_gradients"),
    "ig_input_term": Question(
        "Your Integrated Gradients attributions do not add up to f(x) - f(baseline). What is "
        "the most likely bug?",
        ("Too many integration steps", "The averaged gradients were not multiplied by "
         "(x - baseline)", "The model is in eval mode"),
        1, "IG = (x - x') × average gradient along the path. Without the (x - x') factor the "
           "attributions lose completeness (and their units).",
        "04_captum_occlusion_and_gradients"),
    "guided_class": Question(
        "Guided backprop maps for 'dog' and 'cat' on the same photo look almost identical. "
        "Why?",
        ("A bug in the guided ReLU", "Guided backprop is barely class-discriminative: it mostly "
         "reconstructs image edges", "The two classes share the same weights"),
        1, "Zeroing negative gradients at every ReLU makes the map depend little on the class "
           "(and on the upper layers). Guided Grad-CAM multiplies it by a class-specific CAM.",
        "03_guided_grad_cam"),
}


def answer(question_id: str, choice: int) -> tuple[bool, str]:
    """Check one answer: ``(correct, feedback)``.

    Example:
        >>> answer("baseline_space", 0)[0], answer("baseline_space", 1)[0]
        (False, True)
    """
    if question_id not in QUESTIONS:
        raise ValueError(f"Unknown question {question_id!r}; choose from {list(QUESTIONS)}.")
    question = QUESTIONS[question_id]
    if not 0 <= choice < len(question.options):
        raise ValueError(f"choice must be 0..{len(question.options) - 1}, got {choice}.")
    correct = choice == question.correct
    return correct, ("Right. " if correct else "Not quite. ") + question.why


def quiz(*question_ids: str) -> widgets.VBox:
    """The questions as widgets: options, a Check button, feedback on the spot.

    Example:
        >>> quiz("no_grad", "bgr")        # doctest: +SKIP
    """
    boxes = []
    for question_id in question_ids or tuple(QUESTIONS):
        question = QUESTIONS[question_id]
        choices = widgets.RadioButtons(options=[(text, i) for i, text in
                                                enumerate(question.options)],
                                       value=None, layout=widgets.Layout(width="auto"))
        feedback = widgets.HTML()
        button = widgets.Button(description="Check", button_style="info")

        def check(_, choices=choices, feedback=feedback, question_id=question_id):
            if choices.value is None:
                feedback.value = "<i>Pick an answer first.</i>"
                return
            correct, text = answer(question_id, choices.value)
            colour = "green" if correct else "firebrick"
            feedback.value = f"<span style='color:{colour}'>{text}</span>"

        button.on_click(check)
        boxes.append(widgets.VBox([widgets.HTML(f"<b>{question.prompt}</b>"), choices,
                                   widgets.HBox([button, feedback])]))
    return widgets.VBox(boxes)
