"""A small VGG-style CNN on handwritten digits, trained offline in seconds.

The 1797 8×8 digit images of scikit-learn (``sklearn.datasets.load_digits``, bundled with the
package, no download) are small enough to train a convolutional network on a laptop CPU in a
few seconds, and simple enough to check relevance propagation layer by layer. The network has
no biases, so LRP's relevance is conserved exactly (biases would absorb some of it).

Taught in ``notebooks/07_lrp.ipynb``.
"""
from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn

from .training import accuracy, fit_classifier

__all__ = ["digits_tensors", "digits_cnn", "train_digits_cnn"]


def digits_tensors(test_fraction: float = 0.25, seed: int = 0):
    """The digits as ``(x_train, y_train, x_test, y_test)``; x is (N, 1, 8, 8) in [0, 1].

    Example:
        >>> x_train, y_train, x_test, y_test = digits_tensors()
        >>> tuple(x_train.shape[1:]), float(x_train.max())
        ((1, 8, 8), 1.0)
    """
    data = load_digits()
    x = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(data.target)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    cut = int(len(y) * (1 - test_fraction))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def digits_cnn() -> nn.Sequential:
    """conv-relu-conv-relu-pool-conv-relu-pool-dense-relu-dense, without biases (~24k weights)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.ReLU(),
        nn.MaxPool2d(2),                                          # 8x8 -> 4x4
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.ReLU(),
        nn.MaxPool2d(2),                                          # 4x4 -> 2x2
        nn.Flatten(),
        nn.Linear(128, 64, bias=False), nn.ReLU(),
        nn.Linear(64, 10, bias=False),
    )


def train_digits_cnn(epochs: int = 30, seed: int = 0, batch_size: int = 64,
                     lr: float = 3e-3) -> tuple[nn.Sequential, float]:
    """Train :func:`digits_cnn` with Adam; returns ``(model in eval mode, test accuracy)``."""
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = digits_tensors(seed=seed)
    model = fit_classifier(digits_cnn(), x_train, y_train, epochs=epochs, seed=seed,
                           batch_size=batch_size, lr=lr)
    return model, accuracy(model, x_test, y_test)
