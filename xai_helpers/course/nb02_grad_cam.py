"""Notebook 02 · Grad-CAM internals: the coding exercise's checker."""
from __future__ import annotations

import torch
from torch import nn

from .feedback import ExerciseError, Question, as_tensor, check_shape, close, passed

__all__ = ["check_xgradcam_weights", "QUESTIONS"]


def check_xgradcam_weights(cam_class: type, model: nn.Module, x: torch.Tensor, target: int,
                           layer: str) -> None:
    """Notebook 02: a BaseCAM subclass implementing XGrad-CAM's channel weights."""
    from ..cam.gradient import GradCAM, GradCAMPlusPlus, XGradCAM

    mine = as_tensor(cam_class(model, layer)(x, target), "XGrad-CAM map")
    expected = XGradCAM(model, layer)(x, target)
    check_shape(mine, expected.shape, "map")
    if close(mine, expected):
        return passed()
    if close(mine, GradCAM(model, layer)(x, target)):
        raise ExerciseError("These are Grad-CAM's weights (the mean gradient). XGrad-CAM weighs "
                            "each gradient by the activation's share A / ΣA of its channel.")
    if close(mine, GradCAMPlusPlus(model, layer)(x, target)):
        raise ExerciseError("These are Grad-CAM++'s weights; XGrad-CAM's are simpler.")
    raise ExerciseError("Compare your weights with the formula: a sum over positions of "
                        "gradient × A / ΣA, one number per channel (shape (N, K)).")


#: Quick-quiz questions of this notebook (``xh.quiz(...)`` shows them).
QUESTIONS: dict[str, Question] = {
    "layergradcam_relu": Question(
        "captum's LayerGradCam(model, layer).attribute(x, target=c) returns a map with negative "
        "values. Is it broken?",
        ("Yes: Grad-CAM maps are never negative",
         "No: captum applies no ReLU unless you pass relu_attributions=True",
         "No: the negative values come from the upsampling"),
        1, "Grad-CAM's paper applies a ReLU to keep positive evidence; captum's LayerGradCam "
           "leaves it off by default (relu_attributions=False). Pass True to match the paper.",
        "02_grad_cam_internals"),
    "no_grad": Question(
        "You compute Grad-CAM inside `with torch.no_grad():` and get an error (or an all-zero "
        "map). Why?",
        ("The model must be in train mode for gradients",
         "no_grad stops autograd from recording the forward pass, so there is no gradient to "
         "take", "Grad-CAM needs a GPU"),
        1, "Gradient methods need the graph of the forward pass. Run them outside no_grad / "
           "inference_mode (eval mode is fine: it only changes dropout and BatchNorm).",
        "02_grad_cam_internals"),
}
