"""xai_helpers: the small, tested helper package behind the XAI Workbook notebooks.

Modules, one job each:

- ``config``        fast mode (``XAI_FAST``), seeding, file locations, a model's device
- ``images``        load any photo as upright RGB, with clear errors; bundled test photos
- ``preprocessing`` a model's input recipe and its inverse; CHW <-> HWC
- ``models``        load the offline EfficientNet-Lite0 or torchvision models, with metadata
- ``layers``        find layers by name (with suggestions), list conv layers and shapes
- ``hooks``         record activations / gradients with hooks that always clean up
- ``labels``        ImageNet names in English and Chinese, readable top-k tables
- ``fonts``         the bundled CJK font for matplotlib and PIL
- ``viz``           heatmap overlays, "Pred Class / Show Class" labels, comparison grids
- ``cam``           CAM and the Grad-CAM family on one pipeline (one small override each)
- ``guided``        Guided Backprop and Guided Grad-CAM on a patched copy of the model
- ``widgets``       the ipywidgets CAM explorer (class / layer / method / opacity)
- ``explorer``      one canvas for every method: image / upload, model, class, layer, compare
- ``gradients``     saliency, SmoothGrad, Integrated Gradients on the input
- ``perturbation``  occlusion and LIME (batched forward passes on a fast copy of the model)
- ``metrics``       deletion / insertion, average drop / increase, pointing game, energy in the
                    mask, sparseness, rank correlation
- ``methods``       every method behind one call, ``explain(name, model, x, target)``, with costs
- ``sanity``        the model-randomisation sanity check (cascading, top layers first)
- ``shapes``        a generated data set with object masks, and small CNNs trained on it
- ``training``      the training loop the small CNNs share; fine-tuning a new head
- ``evaluation``    every method scored on the same images: one table
- ``exercises``     checkers for the coding exercises: specific feedback, never the answer
- ``assignments``   student copies in exercises/ (``python -m xai_helpers.assignments``)
- ``quiz``          multiple-choice questions on classic misconceptions, instant feedback
- ``igos``          I-GOS: a mask optimised with integrated gradients
- ``lrp``           Layer-wise Relevance Propagation (epsilon, gamma, zB rules)
- ``canonize``      EfficientNet-Lite0 rewritten for LRP (BN folded, sums made explicit), zennit
- ``digits``        a small CNN on scikit-learn's bundled digits, trained in seconds
- ``video``         read videos (mmcv), explain every frame, stream H.264 mp4 files (PyAV);
                    ``python -m xai_helpers.video`` for batch jobs
- ``webcam``        a live CAM view in the notebook, from a camera or a clip played as one
"""
from .cam import (
    CAM,
    CAM_METHODS,
    BaseCAM,
    EigenCAM,
    EigenGradCAM,
    GradCAM,
    GradCAMElementWise,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    Target,
    XGradCAM,
    cam_method,
    eval_mode,
    normalise_maps,
    select_scores,
)
from .canonize import (
    LRP_COMPOSITES,
    CanonicalEfficientNetLite0,
    CanonicalMBConv,
    canonize_efficientnet,
    fold_batchnorm,
    lrp_relevance,
    without_biases,
)
from .config import DATA_DIR, FAST, REPO_ROOT, TEST_IMG_DIR, device_of, seed_everything
from .digits import digits_cnn, digits_tensors, train_digits_cnn
from .evaluation import COLUMNS, evaluate_methods, results_table, sanity_scores
from .explorer import Explorer
from .fonts import CJK_FAMILY, cjk_font_path, pil_font, resolve_lang, use_cjk_font
from .gradients import (
    collapse_channels,
    convergence_delta,
    gradient_shap,
    input_gradients,
    integrated_gradients,
    saliency,
    smoothgrad,
)
from .guided import (
    GuidedReLU,
    GuidedReLUFunction,
    deprocess_gradients,
    guided_backprop,
    guided_copy,
    guided_grad_cam,
)
from .hooks import LayerRecorder, count_hooks
from .igos import IGOSResult, blurred_baseline, igos, total_variation
from .images import MAX_PIXELS, list_test_images, load_image, test_image_path
from .labels import (
    LANGS,
    NUM_CLASSES,
    check_class_id,
    imagenet_label,
    imagenet_labels,
    search_class_ids,
    search_classes,
    top_k,
)
from .layers import get_layer, layer_name, list_conv_layers
from .lrp import epsilon_rule, gamma_rule, lrp, stabilise, zbox_rule
from .methods import METHODS, Method, edge_map, estimate_seconds, explain, resolve_targets
from .metrics import (
    Curve,
    average_drop_increase,
    deletion_curve,
    energy_in_mask,
    insertion_curve,
    pointing_game,
    rank_correlation,
    sparseness,
)
from .models import (
    MODEL_SPECS,
    EfficientNetLite0,
    ModelSpec,
    WeightsNotFoundError,
    available_models,
    inference_copy,
    load_model,
    model_spec,
    predict,
    preprocess,
)
from .perturbation import (
    LimeSamples,
    lime_samples,
    occlusion,
    paint_superpixels,
    superpixel_means,
    superpixels,
    weighted_ridge,
    window_positions,
)
from .preprocessing import (
    EFFICIENTNET_LITE_PREPROCESSING,
    IMAGENET_PREPROCESSING,
    Preprocessing,
    chw_to_hwc,
    hwc_to_chw,
)
from .quiz import QUESTIONS, Question, answer, quiz
from .sanity import cascading_randomisation, parametric_layers, randomisation_similarity
from .shapes import (
    CUE_COLOURS,
    SHAPE_CLASSES,
    SHAPE_CLASSES_ZH,
    SHAPES_CAM_LAYER,
    SHAPES_SPEC,
    Shapes,
    load_shapes_cnn,
    make_shapes,
    shapes_accuracy,
    shapes_cnn,
    train_shapes_cnn,
)
from .training import accuracy, fine_tune_head, fit_classifier
from .video import (
    SAMPLE_VIDEO,
    CamSmoother,
    FrameExplainer,
    FrameExplanation,
    LabelPainter,
    VideoError,
    VideoInfo,
    VideoResult,
    VideoWriter,
    explain_video,
    read_frames,
    render_frame,
    video_info,
)
from .viz import (
    compare_maps,
    draw_label_band,
    label_band,
    label_image,
    overlay_heatmap,
    show_heatmap,
    show_image,
    to_rgb_array,
)
from .webcam import Camera, LiveCAMView, NoCameraError, VirtualCamera, open_camera
from .widgets import DEFAULT_EXPLORER_METHODS, CAMExplorer

__version__ = "0.1.0"

__all__ = [
    "FAST",
    "REPO_ROOT",
    "DATA_DIR",
    "TEST_IMG_DIR",
    "seed_everything",
    "device_of",
    "CJK_FAMILY",
    "cjk_font_path",
    "use_cjk_font",
    "resolve_lang",
    "pil_font",
    "LayerRecorder",
    "count_hooks",
    "load_image",
    "test_image_path",
    "list_test_images",
    "MAX_PIXELS",
    "LANGS",
    "NUM_CLASSES",
    "imagenet_label",
    "imagenet_labels",
    "check_class_id",
    "search_classes",
    "top_k",
    "get_layer",
    "layer_name",
    "list_conv_layers",
    "ModelSpec",
    "MODEL_SPECS",
    "WeightsNotFoundError",
    "EfficientNetLite0",
    "load_model",
    "model_spec",
    "preprocess",
    "predict",
    "inference_copy",
    "Preprocessing",
    "IMAGENET_PREPROCESSING",
    "EFFICIENTNET_LITE_PREPROCESSING",
    "chw_to_hwc",
    "hwc_to_chw",
    "to_rgb_array",
    "overlay_heatmap",
    "label_image",
    "show_image",
    "show_heatmap",
    "compare_maps",
    "Target",
    "eval_mode",
    "select_scores",
    "normalise_maps",
    "BaseCAM",
    "CAM",
    "GradCAM",
    "GradCAMPlusPlus",
    "XGradCAM",
    "HiResCAM",
    "GradCAMElementWise",
    "LayerCAM",
    "ScoreCAM",
    "EigenCAM",
    "EigenGradCAM",
    "CAM_METHODS",
    "GuidedReLUFunction",
    "GuidedReLU",
    "guided_copy",
    "guided_backprop",
    "guided_grad_cam",
    "deprocess_gradients",
    "CAMExplorer",
    "DEFAULT_EXPLORER_METHODS",
    "input_gradients",
    "saliency",
    "smoothgrad",
    "integrated_gradients",
    "gradient_shap",
    "convergence_delta",
    "collapse_channels",
    "window_positions",
    "occlusion",
    "superpixels",
    "LimeSamples",
    "lime_samples",
    "weighted_ridge",
    "paint_superpixels",
    "superpixel_means",
    "Curve",
    "deletion_curve",
    "insertion_curve",
    "blurred_baseline",
    "total_variation",
    "IGOSResult",
    "igos",
    "stabilise",
    "epsilon_rule",
    "gamma_rule",
    "zbox_rule",
    "lrp",
    "digits_tensors",
    "digits_cnn",
    "train_digits_cnn",
    "fold_batchnorm",
    "CanonicalMBConv",
    "CanonicalEfficientNetLite0",
    "canonize_efficientnet",
    "without_biases",
    "LRP_COMPOSITES",
    "lrp_relevance",
    "cam_method",
    "label_band",
    "draw_label_band",
    "SAMPLE_VIDEO",
    "VideoError",
    "VideoInfo",
    "video_info",
    "read_frames",
    "VideoWriter",
    "CamSmoother",
    "FrameExplainer",
    "FrameExplanation",
    "render_frame",
    "LabelPainter",
    "VideoResult",
    "explain_video",
    "NoCameraError",
    "Camera",
    "VirtualCamera",
    "open_camera",
    "LiveCAMView",
    "pointing_game",
    "energy_in_mask",
    "average_drop_increase",
    "sparseness",
    "rank_correlation",
    "Method",
    "METHODS",
    "explain",
    "estimate_seconds",
    "edge_map",
    "resolve_targets",
    "parametric_layers",
    "cascading_randomisation",
    "randomisation_similarity",
    "SHAPE_CLASSES",
    "SHAPE_CLASSES_ZH",
    "CUE_COLOURS",
    "Shapes",
    "make_shapes",
    "shapes_cnn",
    "train_shapes_cnn",
    "load_shapes_cnn",
    "shapes_accuracy",
    "SHAPES_CAM_LAYER",
    "SHAPES_SPEC",
    "fit_classifier",
    "accuracy",
    "fine_tune_head",
    "COLUMNS",
    "evaluate_methods",
    "sanity_scores",
    "results_table",
    "Explorer",
    "available_models",
    "search_class_ids",
    "Question",
    "QUESTIONS",
    "answer",
    "quiz",
]
