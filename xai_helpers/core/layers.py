"""Finding layers by name, and listing the convolution layers a CAM method could use.

CAM-style methods need a *target layer*: the convolutional feature map to explain. Layers are
named by their dotted path in ``model.named_modules()`` (``"layer4"``, ``"features.29"``,
``"_blocks.15"``). A typo gets the closest real names back.

Taught in ``notebooks/00_setup_and_tour.ipynb``.
"""
from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Union

import torch
from torch import nn

from .config import device_of
from .inputs import input_channels
from .modes import eval_mode

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LayerRef", "get_layer", "layer_name", "list_conv_layers"]

#: A layer of a model: its dotted name (``"_blocks.15"``, ``"layer4.1"``) or the module itself.
LayerRef = Union[str, nn.Module]


def get_layer(model: nn.Module, layer: LayerRef) -> nn.Module:
    """The sub-module of ``model`` called ``layer`` (a dotted name), or ``layer`` itself if it is
    already one of the model's modules.

    Args:
        model: The network.
        layer: A dotted name such as ``"layer4.1.conv2"`` or a module of ``model``.

    Raises:
        ValueError: The name does not exist; the message lists the closest real names.

    Example:
        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        >>> get_layer(model, "0")
        Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))
    """
    if isinstance(layer, nn.Module):
        if not any(module is layer for module in model.modules()):
            raise ValueError(f"The given {type(layer).__name__} is not part of this "
                             f"{type(model).__name__}; pass one of its own layers.")
        return layer
    if not isinstance(layer, str):
        raise TypeError(f"A layer is a dotted name or an nn.Module, not {type(layer).__name__}.")
    modules = dict(model.named_modules())
    if layer in modules and layer != "":
        return modules[layer]
    names = [name for name in modules if name]
    close = difflib.get_close_matches(layer, names, n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(repr(n) for n in close)}?" if close else ""
    raise ValueError(
        f"{type(model).__name__} has no layer named {layer!r}.{hint} "
        "See every name with [n for n, _ in model.named_modules()] or list_conv_layers(model)."
    )


def layer_name(model: nn.Module, layer: LayerRef) -> str:
    """The dotted name of ``layer`` inside ``model`` (the inverse of :func:`get_layer`).

    Example:
        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        >>> layer_name(model, model[1])
        '1'
    """
    module = get_layer(model, layer)
    return next(name for name, m in model.named_modules() if m is module)


def list_conv_layers(model: nn.Module, input_size: tuple[int, int] = (224, 224)) -> "pd.DataFrame":
    """Every ``nn.Conv2d`` of ``model`` with the shape of its output feature map.

    Runs one forward pass on a zero image to measure the shapes. Deeper layers have fewer,
    coarser positions (7×7 at the end of an ImageNet CNN) but more class-specific features:
    that trade-off is what choosing a CAM target layer is about.

    Args:
        model: The network (left unchanged: the probe runs in eval mode, so BatchNorm
            statistics do not move, and every module gets its own mode back).
        input_size: (H, W) of the probe image.

    Returns:
        A DataFrame with columns ``layer``, ``type``, ``channels``, ``height``, ``width``,
        in forward order.

    Example:
        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU())
        >>> list_conv_layers(model, (32, 32)).iloc[0].tolist()
        ['0', 'Conv2d', 8, 15, 15]
    """
    import pandas as pd

    shapes: dict[str, tuple[int, ...]] = {}                # filled in forward order

    def record(name):
        def hook(module, inputs, output) -> None:       # returns nothing: keeps the output
            shapes.setdefault(name, tuple(output.shape))
        return hook

    handles = [module.register_forward_hook(record(name))
               for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    probe = torch.zeros(1, input_channels(model) or 3, *input_size, device=device_of(model))
    try:
        with eval_mode(model), torch.inference_mode():     # BatchNorm statistics untouched
            model(probe)
    finally:
        for handle in handles:
            handle.remove()
    rows = [{"layer": name, "type": type(get_layer(model, name)).__name__, "channels": shape[1],
             "height": shape[2], "width": shape[3]} for name, shape in shapes.items()]
    return pd.DataFrame(rows, columns=["layer", "type", "channels", "height", "width"])
