"""ImageNet class names in English and Chinese, and readable top-k predictions.

The 1000 ImageNet classes are numbered 0–999 in the order every torchvision-style classifier
uses. ``data/imagenet_class_index.csv`` holds, per class, its WordNet id, English name and
simplified Chinese name (sources and the reviewed corrections are in ``data/README.md``).

Taught in ``notebooks/00_setup_and_tour.ipynb``.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import pandas as pd
import torch

from .config import DATA_DIR, LANGUAGES, language
from .models import predict
from .targets import check_class_id

__all__ = ["LANGS", "NUM_CLASSES", "imagenet_label", "imagenet_labels",
           "search_classes", "search_class_ids", "top_k"]

LANGS = LANGUAGES
NUM_CLASSES = 1000


@lru_cache(maxsize=1)
def _class_table() -> pd.DataFrame:
    path = DATA_DIR / "imagenet_class_index.csv"
    if not path.exists():
        raise FileNotFoundError(f"The label file {path} is missing; restore it with "
                                "`git checkout -- data/imagenet_class_index.csv`.")
    return pd.read_csv(path, dtype={"id": int, "wnid": str, "en": str, "zh": str},
                       keep_default_na=False).set_index("id")


def _check_lang(lang: str | None) -> str:
    return language(lang)


def imagenet_label(class_id: int, lang: str | None = None) -> str:
    """The name of ImageNet class ``class_id`` in English (``"en"``) or Chinese (``"zh"``).

    Example:
        >>> imagenet_label(281), imagenet_label(281, lang="zh")
        ('tabby', '虎斑猫')
    """
    return str(_class_table().at[check_class_id(class_id), _check_lang(lang)])


def imagenet_labels(lang: str | None = None) -> list[str]:
    """All 1000 class names in one language, indexed by class id.

    Example:
        >>> imagenet_labels("en")[967]
        'espresso'
    """
    return _class_table()[_check_lang(lang)].tolist()


def search_classes(query: str, limit: int = 10) -> pd.DataFrame:
    """Classes whose English or Chinese name contains ``query`` (case-insensitive), best first:
    exact names, then names that end with it (the head noun: 虎斑猫 "tabby cat" for 猫),
    then names that start with it, then the rest; ties in class order.

    Example:
        >>> search_classes("猫").index[:3].tolist()
        [281, 282, 283]
    """
    table = _class_table()
    q = query.strip().lower()
    en, zh = table["en"].str.lower(), table["zh"]
    hits = table[en.str.contains(q, regex=False) | zh.str.contains(q, regex=False)]
    if hits.empty:
        return hits
    en, zh = en[hits.index], zh[hits.index]
    rank = pd.Series(3, index=hits.index)
    rank[en.str.startswith(q) | zh.str.startswith(q)] = 2
    rank[en.str.endswith(q) | zh.str.endswith(q)] = 1
    rank[(en == q) | (zh == q)] = 0
    order = sorted(hits.index, key=lambda class_id: (rank[class_id], class_id))
    return hits.loc[order].head(limit)


def search_class_ids(query: str, default: Sequence[int], limit: int = 30) -> list[int]:
    """What a class search box should offer: ``default`` (e.g. the top 5) for an empty query,
    otherwise the ids of :func:`search_classes`.

    Example:
        >>> search_class_ids("", [281, 282]), search_class_ids("espresso", [])
        ([281, 282], [967, 550])
    """
    if not query.strip():
        return list(default)
    return search_classes(query, limit=limit).index.tolist()


def top_k(model: torch.nn.Module, x: torch.Tensor, k: int = 5) -> pd.DataFrame:
    """The model's ``k`` most probable classes for each image, with names in both languages.

    Args:
        model: An ImageNet classifier.
        x: A preprocessed batch (N, 3, H, W) or one image (3, H, W).
        k: How many classes per image.

    Returns:
        A DataFrame with columns ``image``, ``rank``, ``class_id``, ``en``, ``zh``,
        ``probability`` (softmax, so each image's probabilities over all classes sum to 1).

    Example:
        >>> top_k(model, x, k=3)          # doctest: +SKIP
           image  rank  class_id       en     zh  probability
        0      0     1       282  tiger cat  虎纹猫       0.41
    """
    probs = predict(model, x)
    if not 1 <= k <= probs.shape[1]:
        raise ValueError(f"k must be between 1 and {probs.shape[1]}, got {k}.")
    values, indices = probs.topk(k, dim=1)
    table = _class_table()
    rows = []
    for image, (p_row, i_row) in enumerate(zip(values.tolist(), indices.tolist())):
        for rank, (p, i) in enumerate(zip(p_row, i_row), start=1):
            rows.append({"image": image, "rank": rank, "class_id": i,
                         "en": table.at[i, "en"], "zh": table.at[i, "zh"], "probability": p})
    return pd.DataFrame(rows)
