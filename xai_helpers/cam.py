"""Class activation maps: CAM and the Grad-CAM family, all from one small pipeline.

Every method here explains a class score :math:`y^c` with a feature map :math:`A \\in
\\mathbb{R}^{K \\times h \\times w}` of one layer (the *target layer*). The pipeline is shared:

1. forward pass, a hook records :math:`A` (:class:`~xai_helpers.hooks.LayerRecorder`);
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

import difflib
import warnings
from contextlib import contextmanager
from typing import Callable, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from .config import device_of
from .hooks import LayerRecorder
from .labels import check_class_id
from .layers import get_layer, layer_name
from .models import inference_copy, model_spec

__all__ = [
    "Target", "eval_mode", "select_scores", "normalise_maps", "BaseCAM", "CAM", "GradCAM",
    "GradCAMPlusPlus", "XGradCAM", "HiResCAM", "GradCAMElementWise", "LayerCAM", "ScoreCAM",
    "EigenCAM", "EigenGradCAM", "CAM_METHODS", "cam_method",
]

#: What to explain: ``None`` (each image's top class), one class id for the whole batch, one id
#: per image, or a function ``logits (N, C) -> scores (N,)``.
Target = Union[None, int, Sequence[int], torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]


@contextmanager
def eval_mode(model: nn.Module):
    """Put ``model`` in eval mode inside the ``with`` block and restore its mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def select_scores(logits: torch.Tensor, target: Target) -> tuple[torch.Tensor, torch.Tensor | None]:
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
            raise ValueError(f"A target function must map logits {tuple(logits.shape)} to one "
                             f"score per image, shape ({n},).")
        return scores, None
    if target is None:
        classes = logits.argmax(dim=1)
    elif isinstance(target, (list, tuple)) or (isinstance(target, torch.Tensor)
                                               and target.ndim == 1):
        ids = [check_class_id(t, num_classes) for t in target]
        if len(ids) != n:
            raise ValueError(f"Got {len(ids)} target classes for a batch of {n} images; give one "
                             "class per image, or a single class id for all of them.")
        classes = torch.tensor(ids, device=logits.device)
    else:
        classes = torch.full((n,), check_class_id(target, num_classes), device=logits.device)
    return logits.gather(1, classes[:, None])[:, 0], classes


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


class BaseCAM:
    """The shared CAM pipeline; a method overrides :meth:`channel_weights` or :meth:`cam_image`.

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

    #: Whether the method needs :math:`\\partial y^c / \\partial A`.
    uses_gradients = True

    def __init__(self, model: nn.Module, layer=None):
        self.model = model
        if layer is None:
            layer = model_spec(model).cam_layer
        layers = list(layer) if isinstance(layer, (list, tuple)) else [layer]
        self.layers = [layer_name(model, item) for item in layers]
        self.logits: torch.Tensor | None = None
        self.classes: torch.Tensor | None = None

    def __repr__(self) -> str:
        layers = self.layers if len(self.layers) > 1 else self.layers[0]
        return f"{type(self).__name__}(layer={layers!r})"

    # -- the method's own step: override one of these two ------------------------------------
    def channel_weights(self, A: torch.Tensor, grads: torch.Tensor | None, *, x: torch.Tensor,
                        classes: torch.Tensor | None, target: Target) -> torch.Tensor:
        """One weight per channel, shape (N, K). The equation that defines the method."""
        raise NotImplementedError(f"{type(self).__name__} must define channel_weights or "
                                  "cam_image")

    def cam_image(self, A: torch.Tensor, grads: torch.Tensor | None, *, x: torch.Tensor,
                  classes: torch.Tensor | None, target: Target) -> torch.Tensor:
        """The raw map (N, h, w) before ReLU: by default :math:`\\sum_k w_k A_k`."""
        weights = self.channel_weights(A, grads, x=x, classes=classes, target=target)
        return (weights[:, :, None, None] * A).sum(dim=1)

    # -- the shared pipeline ----------------------------------------------------------------
    def __call__(self, x: torch.Tensor, target: Target = None, *, size="input",
                 relu: bool = True, normalise: bool = True) -> torch.Tensor:
        """Compute the maps.

        Args:
            x: Preprocessed batch (N, 3, H, W) (a single (3, H, W) image is accepted).
            target: What to explain, see :data:`Target`.
            size: ``"input"`` (upsample to x's H×W), ``None`` (keep the layer's h×w) or (H, W).
            relu: Keep only positive evidence (the papers' ReLU).
            normalise: Min-max normalise each map to [0, 1].

        Returns:
            A (N, H, W) tensor on the model's device.
        """
        x = self._check_input(x)
        with eval_mode(self.model):
            with LayerRecorder(self.model, self.layers,
                               detach=not self.uses_gradients) as recorder:
                if self.uses_gradients:
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
                        "explicitly.", stacklevel=2)
            # hooks are gone here: methods that run the model again (Score-CAM) do not refire them
            self.logits, self.classes = logits.detach(), classes
            raw = [self.cam_image(A.detach(), g, x=x, classes=classes, target=target)
                   for A, g in zip(feature_maps, grads)]
        out_size = tuple(x.shape[-2:]) if size == "input" else size
        maps = [self._finish(cam, out_size, relu, normalise) for cam in raw]
        if len(maps) == 1:
            return maps[0]
        fused = torch.stack(maps).mean(dim=0)  # multi-layer fusion
        return normalise_maps(fused) if normalise else fused

    @staticmethod
    def _finish(cam: torch.Tensor, size, relu: bool, normalise: bool) -> torch.Tensor:
        if relu:
            cam = torch.relu(cam)
        if size is not None and tuple(cam.shape[-2:]) != tuple(size):
            cam = F.interpolate(cam[:, None], size=tuple(size), mode="bilinear",
                                align_corners=False)[:, 0]
        return normalise_maps(cam) if normalise else cam

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__} takes a preprocessed tensor, not "
                            f"{type(x).__name__}; use xh.preprocess(model, image).")
        if x.ndim == 3:
            x = x.unsqueeze(0)
        if x.ndim != 4:
            raise ValueError(f"Expected a batch (N, 3, H, W), got shape {tuple(x.shape)}.")
        if self.uses_gradients and torch.is_inference_mode_enabled():
            raise RuntimeError(f"{type(self).__name__} needs gradients, which "
                               "torch.inference_mode() forbids; call it outside that block.")
        return x.to(device_of(self.model))


class CAM(BaseCAM):
    """CAM: the classifier's weights for class c are the channel weights.

    :math:`L^c = \\sum_k w^c_k A_k` where :math:`w^c` is row c of the final linear layer.
    Needs a network ending in global average pooling + one linear layer, with ``layer`` the map
    that is pooled (``model.xai_spec.cam_layer``).

    Zhou et al., "Learning Deep Features for Discriminative Localization", CVPR 2016, Sec. 2.
    """

    uses_gradients = False

    def __init__(self, model: nn.Module, layer=None, classifier: str | nn.Module | None = None):
        super().__init__(model, layer)
        if classifier is None:
            classifier = model_spec(model).classifier
        fc = get_layer(model, classifier)
        if not isinstance(fc, nn.Linear):
            raise ValueError(f"CAM needs the final nn.Linear as classifier, "
                             f"got {type(fc).__name__}.")
        self.fc_weight = fc.weight

    def channel_weights(self, A, grads, *, x, classes, target):
        if classes is None:
            raise ValueError("CAM explains a class; give a class id, not a target function.")
        if self.fc_weight.shape[1] != A.shape[1]:
            raise ValueError(f"The classifier reads {self.fc_weight.shape[1]} features but the "
                             f"layer has {A.shape[1]} channels: CAM needs the pooled layer.")
        return self.fc_weight[classes].detach()


class GradCAM(BaseCAM):
    """Grad-CAM: channel weight = spatial mean of the gradient.

    :math:`w^c_k = \\frac{1}{hw}\\sum_{i,j} \\partial y^c / \\partial A_{k,ij}`,
    :math:`L^c = \\mathrm{ReLU}(\\sum_k w^c_k A_k)`.

    Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
    Localization", ICCV 2017, Eq. 1 and 2.
    """

    def channel_weights(self, A, grads, *, x, classes, target):
        return grads.mean(dim=(2, 3))


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++: positive gradients weighted per position by :math:`\\alpha`.

    :math:`\\alpha_{ij} = \\frac{g_{ij}^2}{2 g_{ij}^2 + \\sum_{ab} A_{ab}\\, g_{ij}^3}`,
    :math:`w_k = \\sum_{ij} \\alpha_{ij}\\, \\mathrm{ReLU}(g_{ij})` with :math:`g = \\partial y^c /
    \\partial A_k` (the closed form for an exponential score).

    Chattopadhyay et al., "Grad-CAM++: Improved Visual Explanations for Deep Convolutional
    Networks", WACV 2018, Eq. 19.
    """

    def channel_weights(self, A, grads, *, x, classes, target):
        g2 = grads ** 2
        alpha = g2 / (2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g2 * grads + 1e-6)
        alpha = torch.where(grads != 0, alpha, torch.zeros_like(alpha))
        return (alpha * torch.relu(grads)).sum(dim=(2, 3))


class XGradCAM(BaseCAM):
    """XGrad-CAM: gradients averaged with the activations as weights.

    :math:`w_k = \\sum_{ij} \\frac{A_{k,ij}}{\\sum_{ab} A_{k,ab}}
    \\frac{\\partial y^c}{\\partial A_{k,ij}}`.

    Fu et al., "Axiom-based Grad-CAM: Towards Accurate Visualization and Explanation of CNNs",
    BMVC 2020.
    """

    def channel_weights(self, A, grads, *, x, classes, target):
        return (grads * A / (A.sum(dim=(2, 3), keepdim=True) + 1e-7)).sum(dim=(2, 3))


class HiResCAM(BaseCAM):
    """HiResCAM: gradient times activation at every position, summed over channels.

    :math:`L^c = \\sum_k \\frac{\\partial y^c}{\\partial A_k} \\odot A_k` (no spatial averaging,
    so the map shows exactly which positions raised the score).

    Draelos & Carin, "Use HiResCAM instead of Grad-CAM for faithful explanations of
    convolutional neural networks", arXiv:2011.08891, 2020.
    """

    def cam_image(self, A, grads, *, x, classes, target):
        return (grads * A).sum(dim=1)


class GradCAMElementWise(BaseCAM):
    """Grad-CAM-ElementWise: like HiResCAM, but the ReLU is applied per channel and position.

    :math:`L^c = \\sum_k \\mathrm{ReLU}(\\partial y^c / \\partial A_k \\odot A_k)`
    (the variant in pytorch-grad-cam, after Draelos & Carin 2020).
    """

    def cam_image(self, A, grads, *, x, classes, target):
        return torch.relu(grads * A).sum(dim=1)


class LayerCAM(BaseCAM):
    """LayerCAM: every position weighted by its own positive gradient.

    :math:`L^c = \\mathrm{ReLU}\\big(\\sum_k \\mathrm{ReLU}(\\partial y^c / \\partial A_k)
    \\odot A_k\\big)`;
    works on shallow layers too, where Grad-CAM's averaged weights fail.

    Jiang et al., "LayerCAM: Exploring Hierarchical Class Activation Maps for Localization",
    IEEE Transactions on Image Processing 30, 2021.
    """

    def cam_image(self, A, grads, *, x, classes, target):
        return (torch.relu(grads) * A).sum(dim=1)


class ScoreCAM(BaseCAM):
    """Score-CAM: weight each channel by the score the model gives the input *masked* by it.

    Each channel :math:`A_k`, upsampled to the input and min-max scaled to [0, 1], masks the
    input: :math:`x \\odot M_k`. Its weight is the target score of that masked input, with a
    softmax over channels: :math:`w_k = \\mathrm{softmax}_k\\, y^c(x \\odot M_k)`. No gradients,
    but one forward pass per channel (1280 for EfficientNet-Lite0), here batched.

    Wang et al., "Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural
    Networks", CVPR Workshops 2020.

    Speed: the forward passes run under ``torch.inference_mode`` on a ``channels_last`` copy
    of the model (:func:`~xai_helpers.models.inference_copy`; your model is untouched),
    in small batches (on a 2-core CPU, 8 images per batch beat 16 or 64), and channels with
    the same normalised map (all the flat ones, for a start) share one forward pass.

    Args:
        batch_size: Masked inputs per forward pass.
    """

    uses_gradients = False

    def __init__(self, model: nn.Module, layer=None, batch_size: int = 8):
        super().__init__(model, layer)
        self.batch_size = batch_size

    def channel_weights(self, A, grads, *, x, classes, target):
        n, k = A.shape[:2]
        scores = torch.empty(n, k, device=A.device)
        fast_model = inference_copy(self.model)

        def score(batch: torch.Tensor, i: int) -> torch.Tensor:
            logits = fast_model(batch)
            return target(logits) if classes is None else logits[:, classes[i]]

        with torch.inference_mode():
            for i in range(n):
                # Channels whose maps are equal after min-max scaling give the same mask, so the
                # same masked image and score: run each distinct mask once. Flat channels all
                # scale to 0 (a blank image); with ReLU6 that is often half of the channels.
                maps = A[i].flatten(1)
                low, high = maps.amin(1, keepdim=True), maps.amax(1, keepdim=True)
                scaled = torch.where(high > low, (maps - low) / (high - low), 0.0)
                _, group = torch.unique(scaled, dim=0, return_inverse=True)
                first = torch.full((int(group.max()) + 1,), k, device=A.device)
                first = first.scatter_reduce(0, group, torch.arange(k, device=A.device), "amin")
                distinct = torch.empty(len(first), device=A.device)
                for start, chunk in zip(range(0, len(first), self.batch_size),
                                        first.split(self.batch_size)):
                    masks = F.interpolate(A[i:i + 1, chunk], size=x.shape[-2:], mode="bilinear",
                                          align_corners=True)[0]            # (b, H, W)
                    masks = masks - masks.flatten(1).min(1).values[:, None, None]
                    masks = masks / (masks.flatten(1).max(1).values[:, None, None] + 1e-8)
                    distinct[start:start + len(chunk)] = score(x[i] * masks[:, None], i)
                scores[i] = distinct[group]
        return scores.softmax(dim=1)


def _first_component(maps: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Project each image's (K, h, w) maps on their first principal component; the sign is
    chosen so that the projection correlates positively with ``reference`` (N, h, w)."""
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


class EigenCAM(BaseCAM):
    """Eigen-CAM: the first principal component of the feature map (class-agnostic).

    The (hw × K) matrix of centred activations is decomposed with an SVD; the map is its
    projection on the first right-singular vector. An SVD's sign is arbitrary; we pick the sign
    that makes the map agree with the summed activations (pytorch-grad-cam leaves it to LAPACK).

    Muhammad & Yeasin, "Eigen-CAM: Class Activation Map using Principal Components",
    IJCNN 2020.
    """

    uses_gradients = False

    def cam_image(self, A, grads, *, x, classes, target):
        return _first_component(A, A.sum(dim=1))


class EigenGradCAM(BaseCAM):
    """EigenGrad-CAM: Eigen-CAM on gradient × activation, so it follows the class
    (the variant in pytorch-grad-cam)."""

    def cam_image(self, A, grads, *, x, classes, target):
        weighted = grads * A
        return _first_component(weighted, weighted.sum(dim=1))


#: Every from-scratch method by display name, for galleries and widgets.
CAM_METHODS: dict[str, type[BaseCAM]] = {
    "CAM": CAM, "Grad-CAM": GradCAM, "Grad-CAM++": GradCAMPlusPlus, "XGrad-CAM": XGradCAM,
    "HiResCAM": HiResCAM, "Grad-CAM-ElementWise": GradCAMElementWise, "LayerCAM": LayerCAM,
    "Score-CAM": ScoreCAM, "Eigen-CAM": EigenCAM, "EigenGrad-CAM": EigenGradCAM,
}


def _method_key(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "").replace(" ", "")


def cam_method(name: str) -> type[BaseCAM]:
    """A CAM class by name, forgiving about case and dashes: ``"gradcam"`` = ``"Grad-CAM"``.

    Raises:
        ValueError: Unknown name; the message lists the close matches and all names.

    Example:
        >>> cam_method("gradcam++").__name__
        'GradCAMPlusPlus'
    """
    by_key = {_method_key(key): method for key, method in CAM_METHODS.items()}
    if _method_key(name) in by_key:
        return by_key[_method_key(name)]
    close = difflib.get_close_matches(_method_key(name), list(by_key), n=3, cutoff=0.5)
    suggestion = f" Did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"Unknown CAM method {name!r}.{suggestion} "
                     f"Choose one of: {', '.join(CAM_METHODS)}.")
