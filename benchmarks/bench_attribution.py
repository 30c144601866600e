"""Attribution speed vs captum at identical settings, and vs the floor, in one run.

Floor for a perturbation method = (number of forward passes) x (best per-image forward time,
measured here: channels_last, inference mode, batches of 8). Goals (issue): within 1.3x of the
floor and at least 2x faster than captum.
Occlusion: window 15, stride 8 (784 passes), dog.jpg. captum is timed with its default
perturbations_per_eval=1 and with 16 (its fastest setting here).
Integrated Gradients: 50 Gauss-Legendre points; captum with its default internal batch (all
points at once) and with 4.
LIME: 500 samples on dog.jpg's quickshift superpixels; the lime package with the same batched
classifier function (batch 8) vs xh.lime_samples + xh.weighted_ridge.
"""
import time

import numpy as np
import torch
from captum.attr import IntegratedGradients, Occlusion
from lime import lime_image

import xai_helpers as xh

from .timing import best_time, report

TARGET = 235


def once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    model = xh.load_model()
    x = xh.preprocess(model, xh.test_image_path("dog"))
    fast = xh.inference_copy(model)
    batch = x.repeat(8, 1, 1, 1).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        per_image = best_time(lambda: fast(batch), repeats=5) / 8
    passes = len(xh.window_positions(224, 15, 8)) ** 2 + 1
    rows = [("floor: passes x best per-image forward", passes * per_image),
            ("ours: xh.occlusion", once(lambda: xh.occlusion(model, x, TARGET, (15, 15), (8, 8))))]
    occlusion = Occlusion(model)
    settings = dict(sliding_window_shapes=(3, 15, 15), strides=(3, 8, 8), target=TARGET,
                    baselines=0)
    with torch.no_grad():
        rows.append(("captum Occlusion, perturbations_per_eval=16",
                     once(lambda: occlusion.attribute(x, perturbations_per_eval=16, **settings))))
        rows.append(("captum Occlusion, default (1)",
                     once(lambda: occlusion.attribute(x, **settings))))
    report(f"Occlusion 15/8, {passes} forward passes, per-image forward {per_image * 1000:.1f} ms",
           rows, reference="floor: passes x best per-image forward")
    print(f"  vs captum: {rows[3][1] / rows[1][1]:.2f}x (default), "
          f"{rows[2][1] / rows[1][1]:.2f}x (perturbations_per_eval=16)")

    ig = IntegratedGradients(model)
    rows = [("ours: xh.integrated_gradients (batch 4)",
             once(lambda: xh.integrated_gradients(model, x, TARGET, n_steps=50))),
            ("captum IntegratedGradients, default batch",
             once(lambda: ig.attribute(x, target=TARGET, n_steps=50))),
            ("captum IntegratedGradients, internal_batch_size=4",
             once(lambda: ig.attribute(x, target=TARGET, n_steps=50, internal_batch_size=4)))]
    report("Integrated Gradients, 50 points, 1 image", rows,
           reference="ours: xh.integrated_gradients (batch 4)")

    samples = 500
    picture = model.xai_spec.preprocessing.inverse(x[0])
    segments = xh.superpixels(picture, "quickshift", seed=0)
    mean = torch.tensor(model.xai_spec.preprocessing.mean).view(1, 3, 1, 1)
    std = torch.tensor(model.xai_spec.preprocessing.std).view(1, 3, 1, 1)

    def classifier_fn(images):
        batch = torch.from_numpy(np.asarray(images, dtype=np.float32)).permute(0, 3, 1, 2)
        with torch.inference_mode():
            return fast((batch - mean) / std).softmax(dim=1).numpy()

    def ours():
        drawn = xh.lime_samples(model, x, TARGET, segments, num_samples=samples, seed=0)
        return xh.weighted_ridge(drawn.masks, drawn.probabilities, drawn.weights)

    def theirs():
        explainer = lime_image.LimeImageExplainer(random_state=0)
        return explainer.explain_instance(
            picture.permute(1, 2, 0).numpy().astype(np.float64), classifier_fn, labels=(TARGET,),
            top_labels=None, num_samples=samples, batch_size=8,
            segmentation_fn=lambda image: segments.numpy(), random_seed=0)

    rows = [("floor: samples x best per-image forward", samples * per_image),
            ("ours: xh.lime_samples + weighted_ridge", once(ours)),
            ("lime explain_instance (same classifier_fn)", once(theirs))]
    report(f"LIME, {samples} samples, {int(segments.max()) + 1} superpixels", rows,
           reference="floor: samples x best per-image forward")
    print(f"  vs lime: {rows[2][1] / rows[1][1]:.2f}x")


if __name__ == "__main__":
    main()
