"""Notebook 03 · Guided Grad-CAM: the coding exercise's checker."""
from __future__ import annotations

import torch

from .feedback import ExerciseError, Question, close, passed

__all__ = ["check_deconv_relu", "QUESTIONS"]


def check_deconv_relu(deconv: type) -> None:
    """Notebook 03: the deconvnet ReLU rule as an autograd.Function."""
    x = torch.tensor([-1.0, 2.0, -3.0, 7.0], requires_grad=True)
    g = torch.tensor([5.0, -4.0, 3.0, 2.0])
    out = deconv.apply(x)
    if not close(out, x.detach().clamp(min=0)):
        raise ExerciseError("The forward pass must stay a ReLU: max(x, 0).")
    (result,) = torch.autograd.grad(out, x, g)
    if close(result, g.clamp(min=0)):
        return passed()
    if close(result, g * (x.detach() > 0)):
        raise ExerciseError("That is the ordinary ReLU gradient (it looks at the forward input). "
                            "The deconvnet rule looks only at the gradient's own sign.")
    if close(result, g.clamp(min=0) * (x.detach() > 0)):
        raise ExerciseError("That is guided backprop (both signs). The deconvnet rule ignores the "
                            "forward input.")
    raise ExerciseError(f"Got {result.tolist()}: pass positive gradients back, block negative "
                        "ones.")


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "guided_class": Question(
        "Guided backprop maps for 'dog' and 'cat' on the same photo look almost identical. "
        "Why?",
        ("A bug in the guided ReLU", "Guided backprop is barely class-discriminative: it mostly "
         "reconstructs image edges", "The two classes share the same weights"),
        1, "Zeroing negative gradients at every ReLU makes the map depend little on the class "
           "(and on the upper layers). Guided Grad-CAM multiplies it by a class-specific CAM.",
        "03_guided_grad_cam"),
}
