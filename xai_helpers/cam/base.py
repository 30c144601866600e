"""The CAM pipeline every method shares: hooks, target score, gradients, the method's step,
ReLU, upsampling, normalisation.

Every method here explains a class score :math:`y^c` with a feature map :math:`A \\in
\\mathbb{R}^{K \\times h \\times w}` of one layer (the *target layer*). The pipeline is shared:

1. forward pass, a hook records :math:`A` (:class:`~xai_helpers.core.hooks.LayerRecorder`);
2. pick the target score :math:`y^c` per image (a class id, one id per image, or a function);
3. if the method needs them, gradients :math:`\\partial y^c / \\partial A` with
   ``torch.autograd.grad`` (no ``.grad`` accumulation, no ``zero_grad``);
4. **the method's own step**: channel weights :math:`w_k` (then :math:`\\sum_k w_k A_k`) or a
   per-position map — one small function per method, one equation of its paper;
5. ReLU → bilinear upsampling to the input size → min-max normalisation to [0, 1].

The model's train/eval mode is restored and every hook removed when a call ends, even after an
error. Everything is torch in, torch out, on the model's device.

Taught in ``notebooks/01_cam_from_scratch.ipynb`` and ``notebooks/02_grad_cam_internals.ipynb``.
"""
from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ..core.config import device_of
from ..core.hooks import LayerRecorder
from ..core.inputs import check_batch
from ..core.layers import LayerRef, layer_name
from ..core.models import model_spec
from ..core.modes import eval_mode
from ..core.targets import Target, select_scores

__all__ = ["normalise_maps", "first_component", "BaseCAM"]


def normalise_maps(maps: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Min-max normalise each map of a (N, H, W) batch to [0, 1] (a flat map becomes 0).

    Divides by the range itself (not range + eps), so the result does not depend on the
    map's overall scale; ``eps`` only guards the division for flat maps.

    Example:
        >>> normalise_maps(torch.tensor([[[2.0, 4.0], [6.0, 10.0]]])).tolist()
        [[[0.0, 0.25], [0.5, 1.0]]]
    """
    low = maps.flatten(1).min(dim=1).values[:, None, None]
    shifted = maps - low
    return shifted / shifted.flatten(1).max(dim=1).values.clamp_min(eps)[:, None, None]


def first_component(maps: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Project each image's (K, h, w) maps on their first principal component; the sign is
    chosen so that the projection correlates positively with ``reference`` (N, h, w).

    (An SVD's sign is arbitrary; pytorch-grad-cam leaves it to LAPACK, so its map can come out
    inverted — and then zeroed by the ReLU.)
    """
    n, k, h, w = maps.shape
    flat = maps.flatten(2).transpose(1, 2)                        # (N, hw, K): positions x channels
    centred = flat - flat.mean(dim=1, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    projection = (centred @ vh[:, 0, :, None])[..., 0]            # (N, hw)
    ref = reference.flatten(1)
    sign = torch.sign(((projection - projection.mean(1, keepdim=True))
                       * (ref - ref.mean(1, keepdim=True))).sum(1))
    sign[sign == 0] = 1
    return (projection * sign[:, None]).view(n, h, w)


class BaseCAM:
    """The shared CAM pipeline; a method overrides :meth:`channel_weights`,
    :meth:`weighted_activations` or :meth:`cam_image`.

    Args:
        model: The classifier.
        layer: Target layer: dotted name or module, or a list of them (maps are fused by
            averaging their normalised upsampled maps). Default: ``model.xai_spec.cam_layer``.

    Call it with a preprocessed batch ``x`` (N, 3, H, W) and a :data:`Target`:
    ``cam = GradCAM(model)(x, target=281)`` gives (N, H, W) maps in [0, 1]. After a call,
    ``.logits`` and ``.classes`` hold the model output and the explained class ids.

    Example:
        >>> cam = GradCAM(model)(x, target=None)        # doctest: +SKIP
        >>> cam.shape, float(cam.min()), float(cam.max())  # doctest: +SKIP
        (torch.Size([1, 224, 224]), 0.0, 1.0)
    """

    #: The method's name in tables, galleries and the explorer.
    display_name = "BaseCAM"
    #: Whether the method needs :math:`\\partial y^c / \\partial A`.
    uses_gradients = True

    def __init__(self, model: nn.Module, layer: LayerRef | list[LayerRef] | None = None):
        self.model = model
        if layer is None:
            layer = model_spec(model).cam_layer
        layers = list(layer) if isinstance(layer, (list, tuple)) else [layer]
        self.layers = [layer_name(model, item) for item in layers]
        self.logits: torch.Tensor | None = None
        self.classes: torch.Tensor | None = None
        self.current_layer = self.layers[0]

    def __repr__(self) -> str:
        layers = self.layers if len(self.layers) > 1 else self.layers[0]
        return f"{type(self).__name__}(layer={layers!r})"

    # -- the method's own step: override one of these ----------------------------------------
    def channel_weights(self, A: torch.Tensor, grads: torch.Tensor | None, *, x: torch.Tensor,
                        classes: torch.Tensor | None, target: Target) -> torch.Tensor:
        """One weight per channel, shape (N, K). The equation that defines the method."""
        raise NotImplementedError(f"{type(self).__name__} must define channel_weights, "
                                  "weighted_activations or cam_image")

    def weighted_activations(self, A: torch.Tensor, grads: torch.Tensor | None, *,
                             x: torch.Tensor, classes: torch.Tensor | None,
                             target: Target) -> torch.Tensor:
        """Each channel's contribution to the map, (N, K, h, w): by default
        :math:`w_k A_k`. Methods that weigh every position (HiResCAM, LayerCAM) override this."""
        weights = self.channel_weights(A, grads, x=x, classes=classes, target=target)
        return weights[:, :, None, None] * A

    def cam_image(self, A: torch.Tensor, grads: torch.Tensor | None, *, x: torch.Tensor,
                  classes: torch.Tensor | None, target: Target,
                  eigen_smooth: bool = False) -> torch.Tensor:
        """The raw map (N, h, w) before ReLU: :math:`\\sum_k w_k A_k`, or with ``eigen_smooth``
        the first principal component of the weighted channels (pytorch-grad-cam's option;
        its sign chosen to agree with the plain sum)."""
        weighted = self.weighted_activations(A, grads, x=x, classes=classes, target=target)
        if eigen_smooth:
            return first_component(weighted, weighted.sum(dim=1))
        return weighted.sum(dim=1)

    # -- the shared pipeline ----------------------------------------------------------------
    def __call__(self, x: torch.Tensor, target: Target = None, *, size="input",
                 relu: bool = True, normalise: bool = True, aug_smooth: bool = False,
                 eigen_smooth: bool = False) -> torch.Tensor:
        """Compute the maps.

        Args:
            x: Preprocessed batch (N, 3, H, W) (a single (3, H, W) image is accepted).
            target: What to explain, see :data:`Target`.
            size: ``"input"`` (upsample to x's H×W), ``None`` (keep the layer's h×w) or (H, W).
            relu: Keep only positive evidence (the papers' ReLU).
            normalise: Min-max normalise each map to [0, 1].
            aug_smooth: Average the maps of six versions of ``x`` — flipped or not, times 0.9,
                1 or 1.1 — after flipping the maps back (pytorch-grad-cam's test-time
                augmentation: steadier maps, six times the cost).
            eigen_smooth: Keep only the first principal component of the weighted channels
                (pytorch-grad-cam's option: less noise, sometimes less detail).

        Returns:
            A (N, H, W) tensor on the model's device.
        """
        x = self._check_input(x)
        if aug_smooth:
            return self._augmented(x, target, size=size, relu=relu, normalise=normalise,
                                   eigen_smooth=eigen_smooth)
        raw = self._raw_maps(x, target, eigen_smooth)
        out_size = tuple(x.shape[-2:]) if size == "input" else size
        maps = [self._finish(cam, out_size, relu, normalise) for cam in raw]
        if len(maps) == 1:
            return maps[0]
        fused = torch.stack(maps).mean(dim=0)  # multi-layer fusion
        return normalise_maps(fused) if normalise else fused

    def _forward(self, x: torch.Tensor, target: Target, gradients: bool | None = None):
        """One forward (and, for gradient methods, backward) pass with the layers recorded:
        ``(activations, gradients, logits, classes)``, one activation / gradient per layer."""
        gradients = self.uses_gradients if gradients is None else gradients
        with eval_mode(self.model):
            with LayerRecorder(self.model, self.layers, detach=not gradients) as recorder:
                if gradients:
                    with torch.enable_grad():
                        # requires_grad on x lets gradients flow even if the weights are frozen
                        logits = self.model(x.detach().requires_grad_(True))
                        scores, classes = select_scores(logits, target)
                        feature_maps = [recorder.activations[name] for name in self.layers]
                        grads = torch.autograd.grad(scores.sum(), feature_maps)
                else:
                    with torch.no_grad():
                        logits = self.model(x)
                        scores, classes = select_scores(logits, target)
                    feature_maps = [recorder.activations[name] for name in self.layers]
                    grads = [None] * len(self.layers)
            for name in self.layers:
                if recorder.modified_in_place(name):
                    warnings.warn(
                        f"The output of layer {name!r} was changed in place by a later operation "
                        "(typically nn.ReLU(inplace=True)), so the map explains that operation's "
                        "output. Choose the following activation module as the layer to say so "
                        "explicitly.", stacklevel=4)
        return [A.detach() for A in feature_maps], list(grads), logits.detach(), classes

    def _raw_maps(self, x: torch.Tensor, target: Target,
                  eigen_smooth: bool = False) -> list[torch.Tensor]:
        """The raw map of each layer, (N, h, w) before ReLU, from one :meth:`_forward`."""
        feature_maps, grads, self.logits, self.classes = self._forward(x, target)
        maps = []
        with eval_mode(self.model):          # methods that run the model again (Score-CAM)
            for name, A, g in zip(self.layers, feature_maps, grads):
                self.current_layer = name    # for methods that act on the layer (Ablation-CAM)
                maps.append(self.cam_image(A, g, x=x, classes=self.classes, target=target,
                                           eigen_smooth=eigen_smooth))
        return maps

    #: pytorch-grad-cam's default augmentations, in its order: (flip, factor).
    AUGMENTATIONS = ((False, 0.9), (False, 1.0), (False, 1.1), (True, 0.9), (True, 1.0),
                     (True, 1.1))

    def _augmented(self, x, target, **options) -> torch.Tensor:
        maps, plain = [], None
        for flip, factor in self.AUGMENTATIONS:
            seen = x * factor if factor != 1.0 else x
            seen = seen.flip(-1) if flip else seen
            out = self(seen, target, **options)
            maps.append(out.flip(-1) if flip else out)
            if not flip and factor == 1.0:
                plain = (self.logits, self.classes)
        self.logits, self.classes = plain
        return torch.stack(maps).mean(dim=0)

    @staticmethod
    def _finish(cam: torch.Tensor, size, relu: bool, normalise: bool) -> torch.Tensor:
        if relu:
            cam = torch.relu(cam)
        if size is not None and tuple(cam.shape[-2:]) != tuple(size):
            cam = F.interpolate(cam[:, None], size=tuple(size), mode="bilinear",
                                align_corners=False)[:, 0]
        return normalise_maps(cam) if normalise else cam

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        x = check_batch(x, self.model)
        if self.uses_gradients and torch.is_inference_mode_enabled():
            raise RuntimeError(f"{type(self).__name__} needs gradients, which "
                               "torch.inference_mode() forbids; call it outside that block.")
        return x.to(device_of(self.model))
