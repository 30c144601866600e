"""Train a small classifier on tensors in memory: the loop the notebooks' own models share.

Used for the digits CNN (notebook 07), the shapes CNNs and the fine-tuned EfficientNet head
(notebook 09). Plain PyTorch: Adam, cross-entropy, shuffled mini-batches, a fixed seed.
"""
from __future__ import annotations

import copy
from dataclasses import replace

import torch
from torch import nn

from ..core.config import device_of
from ..core.layers import get_layer
from ..core.models import model_spec
from ..core.modes import eval_mode

__all__ = ["fit_classifier", "accuracy", "fine_tune_head"]


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
    """Fraction of ``x`` classified as ``y`` (in eval mode, without gradients; every module
    keeps its own mode afterwards).

    Example:
        >>> accuracy(nn.Identity(), torch.eye(3), torch.arange(3))
        1.0
    """
    with eval_mode(model), torch.inference_mode():
        predicted = torch.cat([model(batch).argmax(1) for batch in x.split(batch_size)])
    return float((predicted == y).float().mean())


def fine_tune_head(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *,
                   epochs: int = 40, seed: int = 0, lr: float = 1e-2,
                   batch_size: int = 16) -> nn.Module:
    """Transfer learning with a frozen backbone: a copy of ``model`` whose final dense layer is
    replaced by a new one for ``labels.max() + 1`` classes, trained on the backbone's features.

    The features (the classifier's inputs) are computed once, so training takes seconds. The
    copy keeps the CAM layer of the original's ``ModelSpec``; CAM methods work on it unchanged.

    Args:
        model: A classifier with a ``ModelSpec`` (e.g. ``load_model()``); left unchanged.
        images: Preprocessed training images (N, 3, H, W).
        labels: (N,) class ids 0..K-1.

    Example:
        >>> two_class = fine_tune_head(model, x_train, y_train)        # doctest: +SKIP
        >>> GradCAM(two_class)(x_test, target=1)                       # doctest: +SKIP
    """
    spec = model_spec(model)
    classifier = get_layer(model, spec.classifier)
    features = []
    handle = classifier.register_forward_pre_hook(lambda m, inputs: features.append(inputs[0]))
    try:
        with eval_mode(model), torch.inference_mode():
            for batch in images.split(32):
                model(batch.to(device_of(model)))
    finally:
        handle.remove()
    features = torch.cat(features).cpu()
    num_classes = int(labels.max()) + 1
    torch.manual_seed(seed)
    head = fit_classifier(nn.Linear(features.shape[1], num_classes), features, labels.cpu(),
                          epochs=epochs, seed=seed, batch_size=batch_size, lr=lr)
    tuned = copy.deepcopy(model).eval()
    parent_name, _, child = spec.classifier.rpartition(".")
    parent = get_layer(tuned, parent_name) if parent_name else tuned
    setattr(parent, child, head.to(device_of(model)))
    tuned.xai_spec = replace(spec, name=f"{spec.name}_fine_tuned", num_classes=num_classes)
    return tuned
