"""Rebuild the committed shapes CNNs: ``python data/make_shapes_models.py`` (about 6 minutes).

Three variants of ``xai_helpers.shapes.shapes_cnn``, all trained on 3000 generated images
(``make_shapes(3000, seed=0, ...)``) and reported on 600 fresh ones (seed 1):

- ``clean``: no marker in the images;
- ``spurious``: the corner marker's colour gives the class away (``cue="class"``): the "Clever
  Hans" model, accurate with the marker, near chance without it;
- ``random_labels``: labels shuffled before training (the data-randomisation sanity check).
"""
import time

import torch

from xai_helpers import DATA_DIR, make_shapes, shapes_accuracy, train_shapes_cnn

VARIANTS = {
    "clean": dict(cue="none", shuffle_labels=False, epochs=20),
    "spurious": dict(cue="class", shuffle_labels=False, epochs=8),
    "random_labels": dict(cue="none", shuffle_labels=True, epochs=20),
}


def main() -> None:
    torch.set_num_threads(2)
    for name, settings in VARIANTS.items():
        start = time.perf_counter()
        train = make_shapes(3000, seed=0, cue=settings["cue"])
        model = train_shapes_cnn(train, epochs=settings["epochs"], seed=0,
                                 shuffle_labels=settings["shuffle_labels"])
        torch.save(model.state_dict(), DATA_DIR / f"shapes_cnn_{name}.pt")
        scores = {cue: shapes_accuracy(model, make_shapes(600, seed=1, cue=cue))
                  for cue in ("none", "class", "random")}
        print(f"{name:14s} {time.perf_counter() - start:5.0f} s  test accuracy "
              + "  ".join(f"cue={cue}: {acc:.3f}" for cue, acc in scores.items()))


if __name__ == "__main__":
    main()
