"""What every exercise checker shares: the error a wrong answer raises, and small comparisons.

A checker runs the learner's code on inputs of its own, compares with the package's
implementation and, when they differ, tests the answer against the usual mistakes to say *what*
is wrong — never the answer itself. It raises :class:`ExerciseError` (an ``AssertionError``, so
nbgrader and pytest count it as a failed check) or prints a short confirmation.

Feedback comes in the workbook's language (:func:`xai_helpers.set_language`): a message is
written in English with its Chinese version beside it, ``ExerciseError("…", zh="…")``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core.config import language

__all__ = ["Question", "ExerciseError", "close", "as_tensor", "check_shape", "passed", "normalise"]


class ExerciseError(AssertionError):
    """Your answer is not right yet; the message says what to look at.

    Args:
        message: The English message.
        zh: The same message in Chinese, shown when the workbook's language is ``"zh"``.
    """

    def __init__(self, message: str, zh: str | None = None):
        self.english, self.chinese = message, zh
        super().__init__(zh if zh is not None and language() == "zh" else message)


def close(a, b, atol=1e-5) -> bool:
    a, b = torch.as_tensor(a).float(), torch.as_tensor(b).float()
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=atol, rtol=1e-4))


def as_tensor(result, what: str) -> torch.Tensor:
    if result is None:
        raise ExerciseError(f"Your {what} returned None: did you forget `return`?",
                            zh=f"你的{what}返回了 None：是不是忘了 `return`？")
    if not isinstance(result, torch.Tensor):
        raise ExerciseError(f"Your {what} should return a torch tensor, not "
                            f"{type(result).__name__}.",
                            zh=f"你的{what}应返回 torch 张量，而不是 {type(result).__name__}。")
    return result.detach()


def check_shape(result: torch.Tensor, expected: tuple, what: str) -> None:
    if tuple(result.shape) != tuple(expected):
        raise ExerciseError(f"Your {what} has shape {tuple(result.shape)}; expected "
                            f"{tuple(expected)}.",
                            zh=f"你的{what}形状为 {tuple(result.shape)}，应为 {tuple(expected)}。")


def passed(message: str = "Correct.", zh: str = "正确。") -> None:
    print(zh if language() == "zh" else message)


def normalise(m: torch.Tensor) -> torch.Tensor:
    return (m - m.min()) / (m.max() - m.min()).clamp_min(1e-12)


@dataclass(frozen=True)
class Question:
    """A multiple-choice question: ``options[correct]`` is right; ``why`` explains it.
    ``zh`` holds the Chinese ``(prompt, options, why)``, shown when the language is ``"zh"``."""

    prompt: str
    options: tuple[str, ...]
    correct: int
    why: str
    notebook: str
    zh: tuple[str, tuple[str, ...], str] | None = None

    def text(self, lang: str | None = None) -> tuple[str, tuple[str, ...], str]:
        """``(prompt, options, why)`` in ``lang`` (default: the workbook's language); English
        when there is no Chinese version."""
        if language(lang) == "zh" and self.zh is not None:
            return self.zh
        return self.prompt, self.options, self.why
