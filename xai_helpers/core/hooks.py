"""Recording what happens inside a network, safely, with PyTorch hooks.

A *forward hook* is a function PyTorch calls right after a module computes its output; it is
how every CAM method gets at a hidden feature map. Hooks stay registered until removed, so a
notebook cell re-run without cleaning up silently stacks them. :class:`LayerRecorder` is a
context manager that always removes its hooks, even when an error happens inside the ``with``.

Taught in ``notebooks/00_setup_and_tour.ipynb``; used by every CAM notebook.
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from .layers import LayerRef, get_layer, layer_name

__all__ = ["LayerRecorder", "count_hooks"]


class LayerRecorder:
    """Record the outputs (and optionally the output gradients) of some layers.

    Inside the ``with`` block, each forward pass stores every chosen layer's output in
    ``recorder.activations[name]``. With ``gradients=True`` a tensor hook on that output
    also stores the gradient that flows back into it in ``recorder.gradients[name]``
    (the approach pytorch-grad-cam uses, which works with in-place ReLUs).

    Args:
        model: The network.
        layers: One dotted layer name / module, or several.
        gradients: Also record gradients during ``backward``/``torch.autograd.grad``.
        detach: Store detached outputs (saves memory when no gradient is needed).

    Attributes:
        activations: ``{name: tensor}`` from the most recent call of each layer.
        gradients: ``{name: tensor}`` from the most recent backward pass.
        calls: ``{name: int}`` how often each layer ran; more than once per forward means the
            module is reused at several places (EfficientNet's activation is).
        order: layer names in the order they first ran.
        versions: ``{name: int}`` the output's in-place version counter when it was recorded;
            see :meth:`modified_in_place`.

    Example:
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
        >>> with LayerRecorder(model, "0") as rec:
        ...     _ = model(torch.rand(1, 3, 8, 8))
        >>> tuple(rec.activations["0"].shape), count_hooks(model)
        ((1, 4, 6, 6), 0)
    """

    def __init__(self, model: nn.Module, layers: LayerRef | Iterable[LayerRef],
                 *, gradients: bool = False, detach: bool = False):
        if gradients and detach:
            raise ValueError("gradients=True needs the outputs attached to the graph; "
                             "drop detach=True.")
        if isinstance(layers, (str, nn.Module)):
            layers = [layers]
        self.model = model
        self.modules = {layer_name(model, layer): get_layer(model, layer) for layer in layers}
        self.record_gradients = gradients
        self.detach = detach
        self.activations: dict[str, torch.Tensor] = {}
        self.gradients: dict[str, torch.Tensor] = {}
        self.calls: dict[str, int] = {}
        self.order: list[str] = []
        self.versions: dict[str, int] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def __enter__(self) -> "LayerRecorder":
        try:
            for name, module in self.modules.items():
                self._handles.append(module.register_forward_hook(self._hook_for(name)))
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc_info) -> bool:
        self.remove()
        return False  # never swallow an exception raised inside the `with` block

    def remove(self) -> None:
        """Remove every hook this recorder registered (safe to call twice)."""
        while self._handles:
            self._handles.pop().remove()

    def modified_in_place(self, name: str) -> bool:
        """Whether a later operation changed layer ``name``'s recorded output in place.

        An ``nn.ReLU(inplace=True)`` right after a convolution overwrites the convolution's
        output: what was recorded is then the ReLU's output, not the convolution's.
        """
        if self.versions[name] < 0:
            return False
        return self.activations[name]._version != self.versions[name]

    def _hook_for(self, name: str):
        def hook(module: nn.Module, inputs, output: torch.Tensor) -> None:
            if name not in self.calls:
                self.order.append(name)
            self.calls[name] = self.calls.get(name, 0) + 1
            self.activations[name] = output.detach() if self.detach else output
            # inference-mode tensors have no version counter: an overwrite cannot be detected
            self.versions[name] = -1 if output.is_inference() else output._version
            if self.record_gradients and output.requires_grad:
                def save_gradient(grad: torch.Tensor) -> None:
                    self.gradients[name] = grad
                output.register_hook(save_gradient)
        return hook


def count_hooks(model: nn.Module) -> int:
    """How many forward, forward-pre and backward hooks are registered on ``model``'s modules.

    Use it to check that nothing leaked: it should be the same before and after a method runs.

    Example:
        >>> model = nn.Linear(2, 2)
        >>> handle = model.register_forward_hook(lambda m, i, o: None)
        >>> count_hooks(model)
        1
        >>> handle.remove(); count_hooks(model)
        0
    """
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks)
        + len(m._backward_hooks) + len(m._backward_pre_hooks)
        for m in model.modules()
    )
