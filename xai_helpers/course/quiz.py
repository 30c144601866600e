"""Quick quizzes on the classic misconceptions, with instant feedback.

``quiz("no_grad", "bgr")`` shows the questions as ipywidgets (pick an answer, press Check, read
why). ``answer("no_grad", 1)`` gives the same feedback as a function, for scripts and tests.
Every question comes from a mistake this workbook shows happening (the notebook is named).
"""
from __future__ import annotations

import ipywidgets as widgets

from ..core.config import language
from .exercises import NOTEBOOK_MODULES
from .feedback import Question

__all__ = ["Question", "QUESTIONS", "answer", "quiz"]

#: Every question, by id, in notebook order (each notebook's module holds its own).
QUESTIONS: dict[str, Question] = {
    key: question for module in NOTEBOOK_MODULES
    for key, question in getattr(module, "QUESTIONS", {}).items()}


_WORDS = {"en": {"right": "Right. ", "wrong": "Not quite. ", "check": "Check",
                "pick": "Pick an answer first."},
          "zh": {"right": "答对了。", "wrong": "还不对。", "check": "检查",
                 "pick": "请先选择一个答案。"}}


def answer(question_id: str, choice: int, lang: str | None = None) -> tuple[bool, str]:
    """Check one answer: ``(correct, feedback)``, in ``lang`` (default: the workbook's
    language, :func:`xai_helpers.set_language`).

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
    words = _WORDS[language(lang)]
    return correct, words["right" if correct else "wrong"] + question.text(lang)[2]


def quiz(*question_ids: str, lang: str | None = None) -> widgets.VBox:
    """The questions as widgets: options, a Check button, feedback on the spot, in ``lang``
    (default: the workbook's language).

    Example:
        >>> quiz("no_grad", "bgr")        # doctest: +SKIP
    """
    unknown = [q for q in question_ids if q not in QUESTIONS]
    if unknown:
        raise ValueError(f"Unknown question(s) {unknown}; choose from {list(QUESTIONS)}.")
    words = _WORDS[language(lang)]
    boxes = []
    for question_id in question_ids or tuple(QUESTIONS):
        prompt, options, _ = QUESTIONS[question_id].text(lang)
        choices = widgets.RadioButtons(options=[(text, i) for i, text in enumerate(options)],
                                       value=None, layout=widgets.Layout(width="auto"))
        feedback = widgets.HTML()
        button = widgets.Button(description=words["check"], button_style="info")

        def check(_, choices=choices, feedback=feedback, question_id=question_id):
            if choices.value is None:
                feedback.value = f"<i>{words['pick']}</i>"
                return
            correct, text = answer(question_id, choices.value, lang)
            colour = "green" if correct else "firebrick"
            feedback.value = f"<span style='color:{colour}'>{text}</span>"

        button.on_click(check)
        boxes.append(widgets.VBox([widgets.HTML(f"<b>{prompt}</b>"), choices,
                                   widgets.HBox([button, feedback])]))
    return widgets.VBox(boxes)
