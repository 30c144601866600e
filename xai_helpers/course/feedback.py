"""What every exercise checker shares: the error a wrong answer raises, and small comparisons.

A checker runs the learner's code on inputs of its own, compares with the package's
implementation and, when they differ, tests the answer against the usual mistakes to say *what*
is wrong — never the answer itself. It raises :class:`ExerciseError` (an ``AssertionError``, so
nbgrader and pytest count it as a failed check) or prints a short confirmation.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Question", "ExerciseError", "close", "as_tensor", "check_shape", "passed", "normalise"]


class ExerciseError(AssertionError):
    """Your answer is not right yet; the message says what to look at."""


def close(a, b, atol=1e-5) -> bool:
    a, b = torch.as_tensor(a).float(), torch.as_tensor(b).float()
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=atol, rtol=1e-4))


def as_tensor(result, what: str) -> torch.Tensor:
    if result is None:
        raise ExerciseError(f"Your {what} returned None: did you forget `return`?")
    if not isinstance(result, torch.Tensor):
        raise ExerciseError(f"Your {what} should return a torch tensor, not "
                            f"{type(result).__name__}.")
    return result.detach()


def check_shape(result: torch.Tensor, expected: tuple, what: str) -> None:
    if tuple(result.shape) != tuple(expected):
        raise ExerciseError(f"Your {what} has shape {tuple(result.shape)}; expected "
                            f"{tuple(expected)}.")


def passed(message: str = "Correct.") -> None:
    print(message)


def normalise(m: torch.Tensor) -> torch.Tensor:
    return (m - m.min()) / (m.max() - m.min()).clamp_min(1e-12)


@dataclass(frozen=True)
class Question:
    """A multiple-choice question: ``options[correct]`` is right; ``why`` explains it."""

    prompt: str
    options: tuple[str, ...]
    correct: int
    why: str
    notebook: str
