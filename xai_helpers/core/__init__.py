"""What every notebook needs, taught in notebook 00: settings, photos, preprocessing, models,
layers, hooks, targets, labels, fonts and pictures.

- ``config``         fast mode (``XAI_FAST``), seeding, file locations, a model's device
- ``images``         load any photo as upright RGB, with clear errors; the bundled test photos
- ``preprocessing``  a model's input recipe and its inverse; CHW <-> HWC
- ``inputs``         the model input checked at the door (type, shape, channels, finite values)
- ``modes``          eval mode for every module while explaining, each module's own mode back
- ``targets``        what to explain (class ids, one per image, or a score function), checked
- ``layers``         find layers by name (with suggestions), list conv layers and their shapes
- ``hooks``          record activations / gradients with hooks that always clean up
- ``models``         load EfficientNet-Lite0 offline, or torchvision models, with metadata
- ``folding``        BatchNorm folded into the convolution before it (faster copies, LRP)
- ``batching``       the batch size measured fastest on this machine, kept between sessions
- ``labels``         ImageNet names in English and Chinese, readable top-k tables
- ``fonts``          the bundled CJK font for matplotlib and PIL
- ``viz``            heatmap overlays, "Pred Class / Show Class" labels, comparison grids

Import them from the package itself: ``import xai_helpers as xh; xh.load_model()``.
"""
