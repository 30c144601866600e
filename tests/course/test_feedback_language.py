"""Feedback in the learner's language: every checker message and every quiz question has a
Chinese version, and the workbook's language picks which one the learner sees.

Read from the source (AST) so that a message on a rarely taken branch is covered too: a new
``ExerciseError("...")`` without ``zh=`` or a ``Question`` without ``zh`` fails here.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import xai_helpers as xh
from xai_helpers.course import feedback
from xai_helpers.course.exercises import NOTEBOOK_MODULES
from xai_helpers.course.quiz import QUESTIONS, answer

HAN = re.compile(r"[\u4e00-\u9fff]")
MODULES = [Path(module.__file__) for module in NOTEBOOK_MODULES] + [Path(feedback.__file__)]


def _calls(path: Path, name: str):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == name:
            yield node


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_every_checker_message_has_a_chinese_version(path):
    missing = [node.lineno for node in _calls(path, "ExerciseError")
               if node.args and not any(k.arg == "zh" for k in node.keywords)]
    assert not missing, f"{path.name}: ExerciseError without zh= on lines {missing}"


@pytest.mark.parametrize("question_id", sorted(QUESTIONS))
def test_every_quiz_question_has_a_chinese_version(question_id):
    question = QUESTIONS[question_id]
    assert question.zh is not None, f"{question_id}: add zh=(prompt, options, why)"
    prompt, options, why = question.zh
    assert len(options) == len(question.options), "the same options, in the same order"
    assert HAN.search(prompt) and HAN.search(why)


def test_the_language_setting_chooses_the_feedback():
    question_id = next(iter(QUESTIONS))
    right = QUESTIONS[question_id].correct
    try:
        xh.set_language("zh")
        assert answer(question_id, right)[1].startswith("答对了")
        assert str(feedback.ExerciseError("Wrong sign.", zh="符号反了。")) == "符号反了。"
        assert answer(question_id, right, lang="en")[1].startswith("Right.")
    finally:
        xh.set_language("en")
    assert str(feedback.ExerciseError("Wrong sign.", zh="符号反了。")) == "Wrong sign."
    assert answer(question_id, right)[1].startswith("Right.")


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="lang must be one of"):
        xh.set_language("fr")
    with pytest.raises(ValueError, match="lang must be one of"):
        answer(next(iter(QUESTIONS)), 0, lang="de")
