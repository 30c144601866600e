"""xai_helpers: the small, tested helper package behind the XAI Workbook notebooks.

``import xai_helpers as xh`` gives one flat API: ``xh.load_model()``, ``xh.GradCAM(model)``,
``xh.explain("LIME", model, x)``. The code lives in families, one folder per chapter:

- ``core/``         what notebook 00 teaches: settings, photos, preprocessing, inputs, targets,
                    modes, layers, hooks, models, labels, fonts, pictures
- ``cam/``          CAM and the Grad-CAM family on one pipeline (notebooks 01–02)
- ``attribution/``  gradients, guided backprop, occlusion, LIME, I-GOS, LRP (notebooks 03–07)
- ``registry.py``   every method behind one call, ``explain(name, model, x, target)``
- ``evaluation/``   metrics, sanity checks, the evaluation table (notebook 09)
- ``datasets/``     generated shapes with masks, digits, the training loop
- ``widgets/``      the explorers (notebooks 01, 02, 10)
- ``video/``        video files, explaining every frame, the live webcam view (notebook 08)
- ``course/``       exercise checkers and quizzes

Lower families never import higher ones. Names load lazily, on first use: ``import
xai_helpers`` itself costs almost nothing, and a missing optional package (PyAV or mmcv for
video, zennit for LRP on EfficientNet) only matters when its feature is used.
"""
from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xai-helpers")
except PackageNotFoundError:                   # running from a source tree that is not installed
    __version__ = "0+unknown"

#: Where each public name lives, family by family (the order of the notebooks).
_MODULES: dict[str, tuple[str, ...]] = {
    "core.config": ("FAST", "REPO_ROOT", "DATA_DIR", "TEST_IMG_DIR", "seed_everything",
                    "device_of", "LANGUAGES", "language", "set_language"),
    "core.images": ("ImageSource", "load_image", "test_image_path", "list_test_images",
                    "MAX_PIXELS"),
    "core.preprocessing": ("Preprocessing", "IMAGENET_PREPROCESSING",
                           "EFFICIENTNET_LITE_PREPROCESSING", "chw_to_hwc", "hwc_to_chw"),
    "core.inputs": ("check_batch", "input_channels"),
    "core.modes": ("eval_mode",),
    "core.folding": ("fold_batchnorm", "folded_copy"),
    "core.batching": ("best_batch_size", "batch_timings", "cache_file", "choose_batch_size",
                      "set_batch_size"),
    "core.targets": ("Target", "check_class_id", "select_scores", "class_ids"),
    "core.layers": ("LayerRef", "get_layer", "layer_name", "list_conv_layers"),
    "core.hooks": ("LayerRecorder", "count_hooks"),
    "core.models": ("ModelSpec", "MODEL_SPECS", "WeightsNotFoundError", "EfficientNetLite0",
                    "load_model", "available_models", "model_spec", "preprocess", "predict",
                    "inference_copy"),
    "core.labels": ("LANGS", "NUM_CLASSES", "imagenet_label", "imagenet_labels",
                    "search_classes", "search_class_ids", "top_k"),
    "core.fonts": ("CJK_FAMILY", "cjk_font_path", "use_cjk_font", "resolve_lang", "pil_font"),
    "core.viz": ("Picture", "Map", "MAP_STYLES", "SCALES", "to_rgb_array", "overlay_heatmap",
                 "label_image", "label_band", "draw_label_band", "show_image", "show_heatmap",
                 "map_limits", "compare_maps"),
    "cam.base": ("normalise_maps", "first_component", "BaseCAM"),
    "cam.activation": ("CAM", "ScoreCAM", "EigenCAM", "AblationCAM", "SSCAM", "ISCAM"),
    "cam.gradient": ("GradCAM", "GradCAMPlusPlus", "XGradCAM", "HiResCAM",
                     "GradCAMElementWise", "LayerCAM", "EigenGradCAM", "SmoothGradCAMPlusPlus",
                     "IntegratedGradCAM"),
    "cam.fullgrad": ("FullGrad", "bias_layers", "effective_bias"),
    "attribution.gradients": ("input_gradients", "saliency", "smoothgrad", "noise_tunnel",
                              "integrated_gradients", "gradient_shap", "convergence_delta",
                              "collapse_channels"),
    "attribution.paths": ("guided_integrated_gradients", "gaussian_blur",
                          "blur_integrated_gradients", "class_baselines",
                          "enhanced_integrated_gradients"),
    "attribution.guided": ("GuidedReLUFunction", "GuidedReLU", "guided_copy", "guided_backprop",
                           "guided_grad_cam", "deprocess_gradients"),
    "attribution.occlusion": ("window_positions", "occlusion"),
    "attribution.lime": ("superpixels", "LimeSamples", "lime_samples", "weighted_ridge",
                         "paint_superpixels", "superpixel_means"),
    "attribution.rise": ("rise_masks", "rise"),
    "attribution.igos": ("blurred_baseline", "total_variation", "IGOSResult", "igos"),
    "attribution.relevance": ("stabilise", "epsilon_rule", "gamma_rule", "alpha_beta_rule",
                              "zbox_rule", "lrp"),
    "attribution.canonize": ("CanonicalMBConv", "CanonicalEfficientNetLite0",
                             "canonize_efficientnet", "without_biases", "LRP_COMPOSITES",
                             "lrp_relevance"),
    "registry": ("Method", "METHODS", "CAM_METHODS", "method_named", "cam_method", "explain",
                 "estimate_seconds", "edge_map"),
    "evaluation.metrics": ("Curve", "deletion_curve", "insertion_curve", "superpixel_deletion",
                           "pointing_game",
                           "energy_in_mask", "average_drop_increase", "sparseness",
                           "rank_correlation"),
    "evaluation.sanity": ("parametric_layers", "cascading_randomisation",
                          "randomisation_similarity"),
    "evaluation.table": ("COLUMNS", "evaluate_methods", "sanity_scores", "results_table"),
    "datasets.training": ("fit_classifier", "accuracy", "fine_tune_head"),
    "datasets.shapes": ("SHAPE_CLASSES", "SHAPE_CLASSES_ZH", "CUE_COLOURS", "Shapes",
                        "make_shapes", "shapes_cnn", "train_shapes_cnn", "load_shapes_cnn",
                        "shapes_accuracy", "SHAPES_CAM_LAYER", "SHAPES_SPEC"),
    "datasets.digits": ("digits_tensors", "digits_cnn", "train_digits_cnn"),
    "widgets.cam_explorer": ("CAMExplorer", "DEFAULT_EXPLORER_METHODS"),
    "widgets.explorer": ("Explorer",),
    "video.files": ("SAMPLE_VIDEO", "VideoError", "VideoInfo", "video_info", "read_frames",
                    "check_output_path", "VideoWriter"),
    "video.explain": ("FRAME_METHODS", "CamSmoother", "FrameExplainer", "FrameExplanation",
                      "render_frame", "LabelPainter", "label_font_size", "VideoResult",
                      "explain_video", "stage_seconds"),
    "video.webcam": ("NoCameraError", "Camera", "VirtualCamera", "open_camera", "LiveCAMView"),
    "course.quiz": ("Question", "QUESTIONS", "answer", "quiz"),
}

_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = ["__version__", *_WHERE]


def __getattr__(name: str):
    """Load a public name from its module on first use (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'xai_helpers' has no attribute {name!r}")
    try:
        module = importlib.import_module(f".{_WHERE[name]}", __name__)
    except ModuleNotFoundError as error:
        from .core.optional import missing_package

        clear = missing_package(error, f"xh.{name}")
        if clear is None:
            raise
        raise clear from error
    value = getattr(module, name)
    globals()[name] = value                     # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
