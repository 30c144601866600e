"""Checkers for the coding exercises, one module per notebook (``nbNN_*.py``).

The notebooks import them as ``from xai_helpers.exercises import check_...``. Each checker runs
the learner's code on inputs it makes itself, compares with the package's implementation and,
when they differ, names the usual mistake (a missing ReLU, a forgotten normalisation, a sum
instead of a mean, a flipped sign …) without showing the answer.
"""
from .feedback import ExerciseError
from .nb00_setup import check_preprocess
from .nb01_cam import check_cam_from_features
from .nb02_grad_cam import check_xgradcam_weights
from .nb03_guided import check_deconv_relu
from .nb04_gradients import check_smoothgrad
from .nb05_lime import check_lime_kernel
from .nb06_igos import check_total_variation
from .nb07_lrp import check_epsilon_rule
from .nb08_video import check_smoothing
from .nb09_evaluation import check_pointing_game

__all__ = ["ExerciseError", "check_preprocess", "check_cam_from_features",
           "check_xgradcam_weights", "check_deconv_relu", "check_smoothgrad",
           "check_lime_kernel", "check_total_variation", "check_epsilon_rule", "check_smoothing",
           "check_pointing_game"]
