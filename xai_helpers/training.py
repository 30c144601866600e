"""Train a small classifier on tensors in memory: the loop the notebooks' own models share.

Used for the digits CNN (notebook 07), the shapes CNNs and the fine-tuned EfficientNet head
(notebook 09). Plain PyTorch: Adam, cross-entropy, shuffled mini-batches, a fixed seed.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["fit_classifier", "accuracy"]


def fit_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int,
                   seed: int = 0, batch_size: int = 64, lr: float = 3e-3,
                   weight_decay: float = 0.0) -> nn.Module:
    """Train ``model`` in place on ``(x, y)`` with Adam; returns it in eval mode.

    Example:
        >>> net = fit_classifier(nn.Linear(2, 2), torch.randn(64, 2), torch.randint(0, 2, (64,)),
        ...                      epochs=1)
    """
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(y), generator=generator).split(batch_size):
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimiser.step()
    return model.eval()


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> float:
    """Fraction of ``x`` classified as ``y`` (eval mode, no gradients).

    Example:
        >>> accuracy(nn.Identity(), torch.eye(3), torch.arange(3))
        1.0
    """
    model.eval()
    with torch.inference_mode():
        predicted = torch.cat([model(batch).argmax(1) for batch in x.split(batch_size)])
    return float((predicted == y).float().mean())
