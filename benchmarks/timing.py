"""A tiny timer: the best of several repeats, after warm-up (the minimum is the least noisy
estimate of what the code costs; everything above it is other work on the machine)."""
from __future__ import annotations

import time
from typing import Callable

import torch


def best_time(fn: Callable[[], object], repeats: int = 10, warmup: int = 2) -> float:
    """Seconds taken by the fastest of ``repeats`` calls of ``fn``."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def once(fn: Callable[[], object]) -> float:
    """Seconds taken by one call of ``fn`` (for runs long enough that one is a measurement)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(measure_a, measure_b, rounds: int = 3, between=None
              ) -> list[tuple[float, float]]:
    """``rounds`` pairs of measurements (seconds) from ``measure_a`` and ``measure_b``, the
    order swapped every other round so that a slow moment of the machine does not always fall
    on the same side; ``between()``, if given, runs after each round (other contenders)."""
    pairs = []
    for index in range(rounds):
        if index % 2 == 0:
            a = measure_a()
            pairs.append((a, measure_b()))
        else:
            b = measure_b()
            pairs.append((measure_a(), b))
        if between is not None:
            between()
    return pairs


def interleaved_best(fns: dict[str, Callable[[], object]], rounds: int = 5,
                     warmup: int = 1) -> dict[str, float]:
    """Seconds taken by the fastest call of each function, the functions called in turn in each
    round: on a machine whose speed drifts, a slow moment then slows every contender alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def report(title: str, rows: list[tuple[str, float]], reference: str) -> None:
    """Print times and each row's ratio to the ``reference`` row."""
    base = dict(rows)[reference]
    print(f"\n{title}")
    for name, seconds in rows:
        print(f"  {name:48s} {seconds * 1000:8.1f} ms   {seconds / base:5.2f}x {reference}")
