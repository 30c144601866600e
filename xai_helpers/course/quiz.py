"""Quick quizzes on the classic misconceptions, with instant feedback.

``quiz("no_grad", "bgr")`` shows the questions as ipywidgets (pick an answer, press Check, read
why). ``answer("no_grad", 1)`` gives the same feedback as a function, for scripts and tests.
Every question comes from a mistake this workbook shows happening (the notebook is named).
"""
from __future__ import annotations

import ipywidgets as widgets

from .exercises import NOTEBOOK_MODULES
from .feedback import Question

__all__ = ["Question", "QUESTIONS", "answer", "quiz"]

#: Every question, by id, in notebook order (each notebook's module holds its own).
QUESTIONS: dict[str, Question] = {
    key: question for module in NOTEBOOK_MODULES
    for key, question in getattr(module, "QUESTIONS", {}).items()}


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
