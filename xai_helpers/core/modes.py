"""Explaining a model must never change it: one guard for the train/eval mode of every module.

``model.eval()`` sets every module's ``training`` flag to False; ``model.train(old)`` afterwards
sets every module to the *root's* old flag. A model whose BatchNorm is frozen (eval) inside a
network in train mode — common when fine-tuning — would come back with that BatchNorm switched
to training, and its running statistics would then change on the next forward pass.
:func:`eval_mode` remembers each module's own flag and puts each one back.

Every method of the workbook runs its forward passes inside this guard: in eval mode, dropout
is off and BatchNorm uses (and never updates) its running statistics.

Taught in ``notebooks/00_setup_and_tour.ipynb``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn

__all__ = ["eval_mode"]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every module of ``model`` in eval mode inside the ``with`` block; afterwards (also
    after an error) give every module back its own ``training`` flag.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2).eval()).train()
        >>> net[1].training = False                  # a frozen BatchNorm in a training model
        >>> with eval_mode(net):
        ...     [m.training for m in net.modules()]
        [False, False, False]
        >>> [m.training for m in net.modules()]
        [True, True, False]
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training
