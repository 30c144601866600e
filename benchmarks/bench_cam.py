"""CAM speed, measured against the references in the same run (EfficientNet-Lite0, dog.jpg).

Grad-CAM: ours vs pytorch-grad-cam vs torchcam, with the model's own forward + backward as the
floor (a Grad-CAM needs one of each). Goal: ours within 1.1x of forward + backward.
Score-CAM: ours vs pytorch-grad-cam, same layer (_head_act, 1280 channels) and target, on
dog.jpg (the hardest bundled photo: 859 distinct masks) and chelsea.png (398).
Goal: ours at least 2x faster. One run each (tens of seconds); Grad-CAM rows: best of 10.
Ablation-CAM: ours vs pytorch-grad-cam at pytorch-grad-cam's settings (every channel of
_head_act ablated, its batch of 32), dog.jpg. Goal: ours at least 2x faster. Theirs runs the
whole network once per ablated channel; ours runs only the layers after the ablated one.
"""
import contextlib
import io
import time

import pytorch_grad_cam as pgc
import torch
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torchcam.methods import GradCAM as TorchcamGradCAM

import xai_helpers as xh

from .timing import best_time, report

TARGET = 235  # German shepherd


def main() -> None:
    model = xh.load_model()
    x = xh.preprocess(model, xh.test_image_path("dog"))
    layer = xh.get_layer(model, model.xai_spec.cam_layer)

    def forward_backward():
        model(x)[0, TARGET].backward()
        model.zero_grad(set_to_none=True)

    ours = xh.GradCAM(model)
    reference = pgc.GradCAM(model=model, target_layers=[layer])
    targets = [ClassifierOutputTarget(TARGET)]
    rows = [("model forward + backward", best_time(forward_backward)),
            ("ours: xh.GradCAM", best_time(lambda: ours(x, TARGET)))]
    rows.append(("pytorch-grad-cam GradCAM",
                 best_time(lambda: reference(input_tensor=x, targets=targets))))
    reference.activations_and_grads.release()
    with TorchcamGradCAM(model, model.xai_spec.cam_layer) as extractor:
        rows.append(("torchcam GradCAM", best_time(lambda: extractor(TARGET, model(x)))))
    model.zero_grad(set_to_none=True)
    report("Grad-CAM, 1 image", rows, reference="model forward + backward")

    # the batch-size probe runs once per model and session (1-2.5 s here): done before timing,
    # so the rows below compare the methods, as a second call would see them
    start = time.perf_counter()
    chosen = xh.best_batch_size(model, example=x)
    print(f"\nBatch-size probe: batch {chosen} chosen in {time.perf_counter() - start:.1f} s "
          "(once per model and session; not in the times below)")
    for name, target in [("dog", TARGET), ("chelsea", 282)]:
        photo = xh.preprocess(model, xh.test_image_path(name))
        start = time.perf_counter()
        ours_score = xh.ScoreCAM(model)(photo, target)
        ours_seconds = time.perf_counter() - start
        with contextlib.redirect_stderr(io.StringIO()):        # their progress bars
            with pgc.ScoreCAM(model=model, target_layers=[layer]) as reference:
                start = time.perf_counter()
                theirs = reference(input_tensor=photo, targets=[ClassifierOutputTarget(target)])
                their_seconds = time.perf_counter() - start
        agreement = float((ours_score.cpu() - torch.from_numpy(theirs)).abs().max())
        report(f"Score-CAM, {name}, 1280 channels",
               [("pytorch-grad-cam ScoreCAM (batch 16)", their_seconds),
                (f"ours: xh.ScoreCAM (batch {chosen})", ours_seconds)],
               reference="pytorch-grad-cam ScoreCAM (batch 16)")
        print(f"  speed-up {their_seconds / ours_seconds:.2f}x; "
              f"max |ours - theirs| = {agreement:.1e}")

    targets = [ClassifierOutputTarget(TARGET)]
    start = time.perf_counter()
    ours_ablation = xh.AblationCAM(model)(x, TARGET)
    ours_seconds = time.perf_counter() - start
    with contextlib.redirect_stderr(io.StringIO()):
        with pgc.AblationCAM(model=model, target_layers=[layer]) as reference:
            start = time.perf_counter()
            theirs = reference(input_tensor=x, targets=targets)
            their_seconds = time.perf_counter() - start
    agreement = float((ours_ablation.cpu() - torch.from_numpy(theirs)).abs().max())
    report("Ablation-CAM, dog, 1280 channels",
           [("pytorch-grad-cam AblationCAM (batch 32)", their_seconds),
            ("ours: xh.AblationCAM (batch 32)", ours_seconds)],
           reference="pytorch-grad-cam AblationCAM (batch 32)")
    print(f"  speed-up {their_seconds / ours_seconds:.2f}x (goal >= 2x); "
          f"max |ours - theirs| = {agreement:.1e}")

if __name__ == "__main__":
    main()
