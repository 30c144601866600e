"""Our path from a photo to probabilities vs the plain model call, one image, same run.

- plain model call: ``model(x)`` under ``torch.no_grad()`` on an already prepared tensor
  (the reference: the least any path can cost).
- ``xh.predict``: the same tensor through our helper (inference mode + softmax).
- ``xh.preprocess`` + ``xh.predict``: from a decoded photo, including resize/crop/normalise.
"""
import torch

import xai_helpers as xh

from .timing import best_time, report


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


if __name__ == "__main__":
    main()
