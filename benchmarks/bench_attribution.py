"""Attribution speed vs captum at identical settings, and vs the floor, in one run.

Floor for a perturbation method = (number of forward passes) x (best per-image forward time,
measured here: channels_last, inference mode, batches of 8). Goals (issue): within 1.3x of the
floor and at least 2x faster than captum.
Occlusion: window 15, stride 8 (784 passes), dog.jpg. captum is timed with its default
perturbations_per_eval=1 and with 16 (its fastest setting here).
Integrated Gradients: 50 Gauss-Legendre points; captum with its default internal batch (all
points at once) and with 4.
"""
import time

import torch
from captum.attr import IntegratedGradients, Occlusion

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


if __name__ == "__main__":
    main()
