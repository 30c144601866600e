"""Score every method on the same images and targets, and lay the scores out in one table.

:func:`evaluate_methods` runs :func:`xai_helpers.methods.explain` for each method and applies
the metrics of :mod:`xai_helpers.metrics`: localisation against the true object masks,
faithfulness (deletion / insertion AUC, average drop / increase in confidence), complexity
(sparseness) and runtime. :func:`sanity_scores` adds the model-randomisation check.
:func:`results_table` turns the numbers into a pandas table with English or Chinese headers.

Taught in ``notebooks/09_evaluating_explanations.ipynb``.
"""
from __future__ import annotations

import time
from typing import Iterable, Sequence

import pandas as pd
import torch
from torch import nn

from ..core.config import language
from ..core.targets import class_ids
from ..registry import METHODS, explain
from .metrics import (
    average_drop_increase,
    deletion_curve,
    energy_in_mask,
    insertion_curve,
    pointing_game,
    sparseness,
)
from .sanity import cascading_randomisation, randomisation_similarity

__all__ = ["COLUMNS", "evaluate_methods", "sanity_scores", "results_table"]

#: Result columns: key -> (English header, Chinese header, higher is better?)
COLUMNS = {
    "pointing": ("pointing game ↑", "指向游戏 ↑", True),
    "energy": ("energy in mask ↑", "掩码内能量 ↑", True),
    "deletion": ("deletion AUC ↓", "删除曲线 AUC ↓", False),
    "insertion": ("insertion AUC ↑", "插入曲线 AUC ↑", True),
    "drop": ("average drop ↓", "平均置信度下降 ↓", False),
    "increase": ("increase in confidence ↑", "置信度上升比例 ↑", True),
    "sparseness": ("sparseness (Gini)", "稀疏度 (Gini)", None),
    "seconds": ("seconds / image ↓", "每张耗时 (秒) ↓", False),
    "randomised": ("similarity after randomisation ↓", "随机化后相似度 ↓", False),
}


def evaluate_methods(model: nn.Module, images: torch.Tensor, masks: torch.Tensor, targets,
                     methods: Sequence[str] = tuple(METHODS), *, curve_steps: int = 16,
                     baseline: float = 0.0, settings: dict | None = None,
                     progress=None) -> dict[str, dict[str, float]]:
    """All metrics for every method on the same images and targets.

    Args:
        model: The classifier (with a ``ModelSpec``).
        images: Preprocessed batch (N, 3, H, W).
        masks: (N, H, W) bool object masks.
        targets: (N,) class ids to explain (usually the true labels).
        methods: Names from :data:`xai_helpers.methods.METHODS`.
        curve_steps: Steps of the deletion / insertion curves.
        baseline: Value that replaces deleted pixels (in the model's input space).
        settings: Method settings passed to :func:`explain` (e.g. ``{"num_samples": 300}``).
        progress: Optional callable ``progress(method_name)`` called before each method.

    Returns:
        ``{method: {column key: mean over images}}`` (keys of :data:`COLUMNS` except
        ``"randomised"``).
    """
    settings = settings or {}
    targets = class_ids(model, images, targets)
    results = {}
    for name in methods:
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        maps = explain(name, model, images, targets, **settings)
        seconds = (time.perf_counter() - start) / len(images)
        drop, increase = average_drop_increase(model, images, maps, targets)
        deletion, insertion = [], []
        for i in range(len(images)):
            one, target = images[i:i + 1], int(targets[i])
            deletion.append(deletion_curve(model, one, target, maps[i], curve_steps,
                                           baseline).auc)
            insertion.append(insertion_curve(model, one, target, maps[i], curve_steps,
                                             baseline).auc)
        results[name] = {
            "pointing": float(pointing_game(maps, masks).float().mean()),
            "energy": float(energy_in_mask(maps, masks).mean()),
            "deletion": float(torch.tensor(deletion).mean()),
            "insertion": float(torch.tensor(insertion).mean()),
            "drop": float(drop.mean()),
            "increase": float(increase.float().mean()),
            "sparseness": float(sparseness(maps).mean()),
            "seconds": seconds,
        }
    return results


def sanity_scores(model: nn.Module, images: torch.Tensor, targets,
                  methods: Iterable[str], settings: dict | None = None,
                  layers: list[str] | None = None) -> pd.DataFrame:
    """Cascading model randomisation: mean rank correlation with the original maps after
    re-initialising each layer from the top down (rows: layers, columns: methods)."""
    settings = settings or {}
    methods = list(methods)
    targets = class_ids(model, images, targets)
    originals = {name: explain(name, model, images, targets, **settings) for name in methods}
    rows = {}
    for layer, randomised in cascading_randomisation(model, layers):
        rows[layer] = {name: float(randomisation_similarity(
            originals[name], explain(name, randomised, images, targets, **settings)).mean())
            for name in methods}
    return pd.DataFrame.from_dict(rows, orient="index")


def results_table(results: dict[str, dict[str, float]], lang: str | None = None,
                  sort_by: str | None = "energy") -> pd.DataFrame:
    """The scores as a table, one row per method, headers in English or Chinese.

    Args:
        results: From :func:`evaluate_methods` (optionally with a ``"randomised"`` entry).
        lang: ``"en"`` or ``"zh"`` (method names get their Chinese name too, where it differs);
            ``None``: the workbook's language (:func:`~xai_helpers.set_language`).
        sort_by: A key of :data:`COLUMNS`; sorted best first (``None``: as given).
    """
    frame = pd.DataFrame.from_dict(results, orient="index")
    if sort_by is not None:
        if sort_by not in frame.columns:
            raise ValueError(f"sort_by must be one of {list(frame.columns)}, not {sort_by!r}.")
        higher_is_better = COLUMNS[sort_by][2]
        frame = frame.sort_values(sort_by, ascending=higher_is_better is False)
    lang = language(lang)
    column = 1 if lang == "zh" else 0
    frame = frame.rename(columns={key: COLUMNS[key][column] for key in frame.columns})
    if lang == "zh":
        frame.index = [f"{name} {METHODS[name].name_zh}"
                       if name in METHODS and METHODS[name].name_zh != name else name
                       for name in frame.index]
    frame.index.name = "方法" if lang == "zh" else "method"
    return frame.round(3)
