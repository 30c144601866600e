"""CAM speed, measured against the references in the same run (EfficientNet-Lite0, dog.jpg).

Grad-CAM: ours vs pytorch-grad-cam vs torchcam, with the model's own forward + backward as the
floor (a Grad-CAM needs one of each). Goal: ours within 1.1x of forward + backward.
Score-CAM: ours vs pytorch-grad-cam, same layer (_head_act, 1280 channels) and target, on
dog.jpg (the hardest bundled photo: 859 distinct masks) and chelsea.png (398).
Goal: ours at least 2x faster. Best of two interleaved runs each (tens of seconds); Grad-CAM
rows: best of 10. Ours scores the masked images with ``xh.inference_copy`` (BatchNorm folded
into the convolutions, channels_last); pytorch-grad-cam runs the model as given.
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

from .timing import alternate, best_time, once, report

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

    # the batch-size probe runs once per model on this machine (later sessions read its result
    # from the user cache folder): timed here as on first use, then as a new session sees it
    # (a second copy of the model), before the methods are timed
    xh.set_batch_size(model, None)                   # forget any earlier measurement
    start = time.perf_counter()
    chosen = xh.best_batch_size(model, example=x)
    first_use = time.perf_counter() - start
    later = xh.load_model()
    start = time.perf_counter()
    xh.best_batch_size(later, example=x)
    next_session = time.perf_counter() - start
    print(f"\nBatch-size probe: batch {chosen}, measured in {first_use:.2f} s on first use; a "
          f"new session reads it from {xh.cache_file()} in {next_session * 1000:.0f} ms")
    for name, target in [("dog", TARGET), ("chelsea", 282)]:
        photo = xh.preprocess(model, xh.test_image_path(name))

        def ours_once():
            return xh.ScoreCAM(model)(photo, target)

        def theirs_once():
            with contextlib.redirect_stderr(io.StringIO()):        # their progress bars
                with pgc.ScoreCAM(model=model, target_layers=[layer]) as reference:
                    return reference(input_tensor=photo,
                                     targets=[ClassifierOutputTarget(target)])

        # two rounds, the order swapped in the second: the machine's speed drifts by 10-20 %
        # within a minute, and a slow moment should not fall on one side only
        maps = {}
        pairs = alternate(lambda: once(lambda: maps.update(ours=ours_once())),
                          lambda: once(lambda: maps.update(theirs=theirs_once())), rounds=2)
        ours_times, their_times = (list(times) for times in zip(*pairs))
        ours_score, theirs = maps["ours"], maps["theirs"]
        agreement = float((ours_score.cpu() - torch.from_numpy(theirs)).abs().max())
        report(f"Score-CAM, {name}, 1280 channels (best of 2 interleaved runs)",
               [("pytorch-grad-cam ScoreCAM (batch 16)", min(their_times)),
                (f"ours: xh.ScoreCAM (batch {chosen})", min(ours_times))],
               reference="pytorch-grad-cam ScoreCAM (batch 16)")
        print(f"  speed-up {min(their_times) / min(ours_times):.2f}x (goal >= 2x; per round: "
              + ", ".join(f"{t / o:.2f}x" for o, t in zip(ours_times, their_times))
              + f"); max |ours - theirs| = {agreement:.1e}")

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
