"""CAM methods that weigh the feature map without gradients: by the classifier's weights (CAM),
by the score of the input masked with each channel (Score-CAM, and its smoothed and integrated
variants SS-CAM and IS-CAM), by the score lost when a channel is switched off (Ablation-CAM), or
by the feature map's principal component (Eigen-CAM).

Taught in ``notebooks/01_cam_from_scratch.ipynb`` and ``notebooks/02_grad_cam_internals.ipynb``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.batching import best_batch_size
from ..core.layers import LayerRef, get_layer
from ..core.models import inference_copy, model_spec
from .base import BaseCAM, first_component

__all__ = ["CAM", "ScoreCAM", "EigenCAM", "AblationCAM", "SSCAM", "ISCAM"]


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
        batch_size = self.batch_size or best_batch_size(self.model, example=x[:1])

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

    def cam_image(self, A, grads, *, x, classes, target, eigen_smooth=False):
        return first_component(A, A.sum(dim=1))


class AblationCAM(BaseCAM):
    """Ablation-CAM: weight each channel by how much the score falls when it is switched off.

    :math:`w_k = \\frac{y^c - y^c_k}{y^c}`, where :math:`y^c_k` is the target score with
    channel :math:`A_k` set to zero (the map is then :math:`\\mathrm{ReLU}(\\sum_k w_k A_k)`).
    No gradients: one (partial) forward pass per channel.

    Desai & Ramaswamy, "Ablation-CAM: Visual Explanations for Deep Convolutional Network via
    Gradient-free Localization", WACV 2020.

    Speed: a hook on the layer hands the rest of the network a batch of copies of :math:`A`,
    each with one channel zeroed, so the layers *before* it need not see the real image again:
    they run on one copy of it, or on a small blank image (the layer's output is replaced
    anyway) — whichever the network accepts and gives the same scores as the image repeated,
    checked on the first batch. Channels that are zero everywhere are skipped (ablating them
    changes nothing: their weight is 0). pytorch-grad-cam runs the whole network on every
    copy.

    pytorch-grad-cam sets an ablated channel to 0 only when the layer's smallest value is 0
    (after a ReLU); otherwise to that minimum minus 1e7. Here it is always 0, as in the paper:
    the two agree after a ReLU (tested), not on layers with negative values.

    Args:
        batch_size: Ablated copies per forward pass.
    """

    display_name = "Ablation-CAM"
    uses_gradients = False

    def __init__(self, model: nn.Module, layer: LayerRef | None = None, batch_size: int = 32):
        super().__init__(model, layer)
        self.batch_size = batch_size

    def channel_weights(self, A, grads, *, x, classes, target):
        n, k = A.shape[:2]
        fast = inference_copy(self.model, keep=(self.current_layer,))   # hooked: not folded
        module = get_layer(fast.model, self.current_layer)
        replacement: list[torch.Tensor] = []                # empty: the layer's own output
        handle = module.register_forward_hook(
            lambda m, inputs, output: replacement[0] if replacement else None)
        weights = torch.zeros(n, k, device=A.device)
        feed = None                                         # how to run the layers before
        try:
            with torch.inference_mode():
                for i in range(n):
                    replacement.clear()
                    original = self._score(fast(x[i:i + 1]), classes, target, i)
                    active = A[i].flatten(1).ne(0).any(dim=1).nonzero()[:, 0]
                    for chunk in active.split(self.batch_size):
                        ablated = A[i:i + 1].repeat(len(chunk), 1, 1, 1)
                        ablated[torch.arange(len(chunk)), chunk] = 0.0
                        replacement[:] = [ablated.contiguous(memory_format=torch.channels_last)]
                        if feed is None:
                            feed, logits = self._cheapest_feed(fast, x[i:i + 1], len(chunk))
                        else:
                            logits = fast(feed(x[i:i + 1], len(chunk)))
                        scores = self._score(logits, classes, target, i)
                        weights[i, chunk] = (original - scores) / original
        finally:
            handle.remove()
        return weights

    @staticmethod
    def _cheapest_feed(fast, image, copies):
        """How to feed the layers before the ablated one, chosen on the first batch: the image
        once (if the rest of the network takes a larger batch than its input), a small blank
        image (the layer's output is replaced anyway), or — the safe fallback, checked against
        — the image repeated. Returns ``(feed, logits of the first batch)``."""
        repeated = fast(image.expand(copies, -1, -1, -1))
        small = max(32, image.shape[-1] // 4)
        candidates = [lambda img, b: img,
                      lambda img, b: img.new_zeros(b, img.shape[1], small, small)]
        for feed in candidates:
            try:
                logits = fast(feed(image, copies))
            except RuntimeError:
                continue
            if logits.shape == repeated.shape and torch.allclose(logits, repeated, atol=1e-4,
                                                                 rtol=1e-4):
                return feed, logits
        return (lambda img, b: img.expand(b, -1, -1, -1)), repeated

    @staticmethod
    def _score(logits, classes, target, i):
        if classes is None:
            return target(logits)
        return logits[:, classes[i]]


def _torchcam_masks(A: torch.Tensor, size) -> torch.Tensor:
    """torchcam's Score-CAM masks: each channel min-max scaled at the layer's resolution
    (``(A - min) / (max(A - min) + 1e-8)``), then upsampled bilinearly to the input."""
    low = A.flatten(2).amin(2)[..., None, None]
    shifted = A - low
    scaled = shifted / (shifted.flatten(2).amax(2)[..., None, None] + 1e-8)
    return F.interpolate(scaled, size=size, mode="bilinear", align_corners=False)


class _ScoreVariant(BaseCAM):
    """What SS-CAM and IS-CAM share (torchcam's Score-CAM base): a channel's weight is the
    softmax, over channels, of the mean rise of the target logit when the input is masked by
    that channel, :math:`y^c(\\text{masked}) - y^c(x)`."""

    uses_gradients = False

    def __init__(self, model: nn.Module, layer: LayerRef | None = None, n_samples: int = 10,
                 batch_size: int | None = None):
        super().__init__(model, layer)
        self.n_samples, self.batch_size = n_samples, batch_size

    def sample_masks(self, masks: torch.Tensor, sample: int) -> torch.Tensor:
        """The masks (N, K, H, W) that multiply the input in one sample."""
        raise NotImplementedError

    def channel_weights(self, A, grads, *, x, classes, target):
        n, k = A.shape[:2]
        masks = _torchcam_masks(A, x.shape[-2:])                      # (N, K, H, W)
        fast = inference_copy(self.model)
        batch_size = self.batch_size or best_batch_size(self.model, example=x[:1])
        rows = torch.arange(n, device=A.device).repeat_interleave(k)
        baseline = self._scores(self.logits, classes, target, torch.arange(n, device=A.device))
        total = torch.zeros(n * k, device=A.device)
        with torch.inference_mode():
            for sample in range(self.n_samples):
                flat = self.sample_masks(masks, sample).flatten(0, 1)      # (N * K, H, W)
                for chunk in torch.arange(n * k, device=A.device).split(batch_size):
                    inputs = flat[chunk][:, None] * x[rows[chunk]]
                    scores = self._scores(fast(inputs), classes, target, rows[chunk])
                    total[chunk] += scores - baseline[rows[chunk]]
        return (total / self.n_samples).view(n, k).softmax(dim=1)

    @staticmethod
    def _scores(logits, classes, target, rows):
        if classes is None:
            return target(logits)
        return logits.gather(1, classes[rows.to(classes.device)][:, None])[:, 0]


class SSCAM(_ScoreVariant):
    """SS-CAM: Score-CAM whose masks are smoothed with noise, averaged over samples.

    For each of :math:`N` samples, Gaussian noise :math:`\\delta \\sim \\mathcal N(0,
    \\sigma^2)` is added to every upsampled channel mask at input resolution; the input
    :math:`(M_k + \\delta) \\odot x` is scored and :math:`w_k = \\mathrm{softmax}_k \\frac1N
    \\sum_n \\big(y^c((M_k + \\delta_n) \\odot x) - y^c(x)\\big)`.

    Wang, Naidu, Mardziel, Hu, "SS-CAM: Smoothed Score-CAM for Sharper Visual Feature
    Localization", arXiv:2006.14255, 2020. Follows torchcam's ``SSCAM`` (its defaults:
    35 samples, σ = 2; tested equal with the same seed: the noise is drawn on the CPU, one
    (N, K, H, W) draw per sample, as torchcam draws it). Cost: K × N forward passes.
    """

    display_name = "SS-CAM"

    def __init__(self, model: nn.Module, layer: LayerRef | None = None, n_samples: int = 35,
                 sigma: float = 2.0, batch_size: int | None = None):
        super().__init__(model, layer, n_samples, batch_size)
        self.sigma = sigma

    def sample_masks(self, masks, sample):
        noise = torch.randn(masks.shape) * self.sigma                # CPU generator, as torchcam
        return masks + noise.to(masks.device)


class ISCAM(_ScoreVariant):
    """IS-CAM: Score-CAM with the masked input integrated along a path of growing intensity.

    Sample :math:`i = 1 \\dots N` scores :math:`c_i\\,(M_k \\odot x)` with the cumulative
    coefficient :math:`c_i = \\sum_{j=1}^{i} j/N = i(i+1)/(2N)` (0.1 … 5.5 for N = 10), and
    :math:`w_k = \\mathrm{softmax}_k \\frac1N \\sum_i \\big(y^c(c_i M_k \\odot x) - y^c(x)\\big)`.

    Naidu, Ghosh, Maurya, Kundu, "IS-CAM: Integrated Score-CAM for axiomatic-based
    explanations", arXiv:2010.03023, 2020. Follows torchcam's ``ISCAM`` (tested equal); its
    docstring writes the coefficient as :math:`\\sum_{j=0}^{i-1} j/N`, one index lower than
    what its code computes. Cost: K × N forward passes.
    """

    display_name = "IS-CAM"

    def sample_masks(self, masks, sample):
        return (sample + 1) * (sample + 2) / (2 * self.n_samples) * masks
