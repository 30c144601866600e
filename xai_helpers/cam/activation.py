"""CAM methods that weigh the feature map without gradients: by the classifier's weights (CAM),
by the score of the input masked with each channel (Score-CAM), or by its principal component
(Eigen-CAM).

Taught in ``notebooks/01_cam_from_scratch.ipynb`` and ``notebooks/02_grad_cam_internals.ipynb``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.batching import best_batch_size
from ..core.layers import LayerRef, get_layer
from ..core.models import inference_copy, model_spec
from .base import BaseCAM

__all__ = ["CAM", "ScoreCAM", "EigenCAM", "first_component"]


class CAM(BaseCAM):
    """CAM: the classifier's weights for class c are the channel weights.

    :math:`L^c = \\sum_k w^c_k A_k` where :math:`w^c` is row c of the final linear layer.
    Needs a network ending in global average pooling + one linear layer, with ``layer`` the map
    that is pooled (``model.xai_spec.cam_layer``).

    Zhou et al., "Learning Deep Features for Discriminative Localization", CVPR 2016, Sec. 2.
    """

    display_name = "CAM"
    uses_gradients = False

    def __init__(self, model: nn.Module, layer: LayerRef | None = None,
                 classifier: LayerRef | None = None):
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


class ScoreCAM(BaseCAM):
    """Score-CAM: weight each channel by the score the model gives the input *masked* by it.

    Each channel :math:`A_k`, upsampled to the input and min-max scaled to [0, 1], masks the
    input: :math:`x \\odot M_k`. Its weight is the target score of that masked input, with a
    softmax over channels: :math:`w_k = \\mathrm{softmax}_k\\, y^c(x \\odot M_k)`. No gradients,
    but one forward pass per channel (1280 for EfficientNet-Lite0), here batched.

    Wang et al., "Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural
    Networks", CVPR Workshops 2020.

    Speed: the forward passes run under ``torch.inference_mode`` on a ``channels_last`` copy
    of the model (:func:`~xai_helpers.core.models.inference_copy`; your model is untouched),
    in batches of the size measured fastest on this machine
    (:func:`~xai_helpers.core.batching.best_batch_size`), and channels with the same
    normalised map (all the flat ones, for a start) share one forward pass.

    Args:
        batch_size: Masked inputs per forward pass (``None``: measured for this machine,
            :func:`~xai_helpers.best_batch_size`).
    """

    display_name = "Score-CAM"
    uses_gradients = False

    def __init__(self, model: nn.Module, layer: LayerRef | None = None,
                 batch_size: int | None = None):
        super().__init__(model, layer)
        self.batch_size = batch_size

    def channel_weights(self, A, grads, *, x, classes, target):
        n, k = A.shape[:2]
        scores = torch.empty(n, k, device=A.device)
        fast_model = inference_copy(self.model)
        batch_size = self.batch_size or best_batch_size(self.model, tuple(x.shape[1:]))

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
                for start, chunk in zip(range(0, len(first), batch_size),
                                        first.split(batch_size)):
                    masks = F.interpolate(A[i:i + 1, chunk], size=x.shape[-2:], mode="bilinear",
                                          align_corners=True)[0]            # (b, H, W)
                    masks = masks - masks.flatten(1).min(1).values[:, None, None]
                    masks = masks / (masks.flatten(1).max(1).values[:, None, None] + 1e-8)
                    distinct[start:start + len(chunk)] = score(x[i] * masks[:, None], i)
                scores[i] = distinct[group]
        return scores.softmax(dim=1)


def first_component(maps: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
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

    display_name = "Eigen-CAM"
    uses_gradients = False

    def cam_image(self, A, grads, *, x, classes, target):
        return first_component(A, A.sum(dim=1))
