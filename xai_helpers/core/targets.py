"""What to explain, checked once: the target resolver every method shares.

A *target* says which score a method explains:

- ``None``: each image's own top class;
- one class id (an ``int``) for the whole batch;
- one class id per image (a list, tuple or 1-D tensor of length N);
- a function ``logits (N, C) -> scores (N,)``, e.g. ``lambda z: z[:, 235] - z[:, 249]`` ("dog
  rather than malamute"), for methods that differentiate a score.

Mistakes get a message that says what was wrong and how to fix it: a class id out of range, a
list of the wrong length, a float, a function that returns the wrong shape.

Taught in ``notebooks/00_setup_and_tour.ipynb``; used by every method.
"""
from __future__ import annotations

from typing import Callable, Sequence, Union

import torch
from torch import nn

from .config import device_of
from .inputs import check_batch
from .modes import eval_mode

__all__ = ["Target", "check_class_id", "select_scores", "class_ids"]

#: What to explain: ``None`` (each image's top class), one class id for the whole batch, one id
#: per image, or a function ``logits (N, C) -> scores (N,)``.
Target = Union[None, int, Sequence[int], torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]


def check_class_id(class_id, num_classes: int = 1000) -> int:
    """Return ``class_id`` as an int, or raise a clear error if it is not a valid class.

    Example:
        >>> check_class_id(torch.tensor(281))
        281
    """
    if isinstance(class_id, torch.Tensor):
        if class_id.numel() != 1:
            raise ValueError(f"Expected one class id, got a tensor of shape "
                             f"{tuple(class_id.shape)}.")
        class_id = class_id.item()
    is_integer = isinstance(class_id, int) or hasattr(class_id, "__index__")  # numpy ints too
    if isinstance(class_id, bool) or not is_integer:
        raise TypeError(f"A class id is an integer, not {type(class_id).__name__} ({class_id!r}). "
                        "Look a name up with search_classes('cat').")
    class_id = int(class_id)
    if not 0 <= class_id < num_classes:
        raise ValueError(f"Class id {class_id} is out of range: this model has {num_classes} "
                         f"classes, numbered 0 to {num_classes - 1}.")
    return class_id


def _ids(target, n: int, num_classes: int) -> list[int] | None:
    """``target`` as n validated class ids, or ``None`` for "each image's top class"."""
    if target is None:
        return None
    if isinstance(target, torch.Tensor) and target.ndim == 0:
        target = target.item()
    if isinstance(target, (list, tuple)) or isinstance(target, torch.Tensor):
        ids = [check_class_id(t, num_classes) for t in target]
        if len(ids) != n:
            raise ValueError(f"Got {len(ids)} target classes for a batch of {n} images; give one "
                             "class per image, or a single class id for all of them.")
        return ids
    return [check_class_id(target, num_classes)] * n


def select_scores(logits: torch.Tensor, target: Target
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The score to explain for each image, and its class id (``None`` for a custom function).

    Args:
        logits: Model output (N, num_classes).
        target: See :data:`Target`.

    Returns:
        ``(scores, classes)`` with shapes (N,) and (N,).

    Example:
        >>> logits = torch.tensor([[1.0, 5.0], [7.0, 2.0]])
        >>> select_scores(logits, None)[0].tolist(), select_scores(logits, [0, 0])[0].tolist()
        ([5.0, 7.0], [1.0, 7.0])
    """
    n, num_classes = logits.shape
    if callable(target):
        scores = target(logits)
        if not isinstance(scores, torch.Tensor) or scores.shape != (n,):
            shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores)
            raise ValueError(f"A target function must map logits {tuple(logits.shape)} to one "
                             f"score per image, shape ({n},); yours returned {shape}.")
        return scores, None
    ids = _ids(target, n, num_classes)
    classes = (logits.argmax(dim=1) if ids is None
               else torch.tensor(ids, device=logits.device))
    return logits.gather(1, classes[:, None])[:, 0], classes


def class_ids(model: nn.Module, x: torch.Tensor, target: Target) -> torch.Tensor:
    """One class id per image of ``x``, on the CPU: ``None`` becomes each image's top class
    (computed in eval mode, without gradients), ids are validated against the model's number
    of classes. Methods that need a class, not a function, use it (LIME, occlusion, LRP …).

    Raises:
        TypeError: A target function, which these methods cannot use, or a non-integer id.
        ValueError: An id out of range or a list of the wrong length.

    Example:
        >>> class_ids(model, x, None).tolist()            # doctest: +SKIP
        [235]
    """
    x = check_batch(x, model)
    if callable(target):
        raise TypeError("This method explains a class, not a target function; give a class "
                        "id (or one per image), or None for each image's top class.")
    spec = getattr(model, "xai_spec", None)
    if target is not None and spec is not None:
        return torch.tensor(_ids(target, len(x), spec.num_classes))
    with eval_mode(model), torch.no_grad():                # no ModelSpec: ask the model
        logits = model(x.to(device_of(model)))
    ids = _ids(target, len(x), logits.shape[1])
    return logits.argmax(dim=1).cpu() if ids is None else torch.tensor(ids)
