"""Our path from a photo to probabilities vs the plain model call, one image, same run.

- plain model call: ``model(x)`` under ``torch.no_grad()`` on an already prepared tensor
  (the reference: the least any path can cost).
- ``xh.predict``: the same tensor through our helper (inference mode + softmax).
- ``xh.preprocess`` + ``xh.predict``: from a decoded photo, including resize/crop/normalise.

Then the copy perturbation methods run, per image at batch 1, 4 and 16, interleaved rounds:
the model as given, a channels_last copy, and ``xh.inference_copy`` (channels_last with every
BatchNorm folded into its convolution: 49 pairs in EfficientNet-Lite0).
"""
import copy

import torch

import xai_helpers as xh

from .timing import best_time, interleaved_best, report


def main() -> None:
    model = xh.load_model()
    image = xh.load_image(xh.test_image_path("chelsea"))
    x = xh.preprocess(model, image)

    def plain():
        with torch.no_grad():
            return model(x)

    rows = [
        ("plain model(x), no_grad", best_time(plain)),
        ("xh.predict(model, x)", best_time(lambda: xh.predict(model, x))),
        ("xh.preprocess + xh.predict (from a photo)",
         best_time(lambda: xh.predict(model, xh.preprocess(model, image)))),
    ]
    report(f"Forward pass, EfficientNet-Lite0, 1 image, {xh.device_of(model)}", rows,
           reference="plain model(x), no_grad")

    channels_last = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)
    folded = xh.inference_copy(model)
    for size in (1, 4, 16):
        batch = x.expand(size, -1, -1, -1).contiguous()
        layout = batch.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            best = interleaved_best({
                "model as given": lambda: model(batch),
                "channels_last copy": lambda: channels_last(layout),
                "xh.inference_copy (BatchNorm folded, channels_last)": lambda: folded(layout),
            })
        report(f"Forward pass per image, batch {size} (best of 5 interleaved rounds)",
               [(name, seconds / size) for name, seconds in best.items()],
               reference="model as given")


if __name__ == "__main__":
    main()
