"""Small data sets and models the workbook trains itself, offline, in seconds.

- ``shapes``    generated photos with exact object masks (and a Clever-Hans variant), small CNNs
- ``digits``    scikit-learn's bundled digits and a VGG-style CNN without biases (for LRP)
- ``training``  the training loop they share; fine-tuning a new head on a frozen backbone

Import them from the package itself: ``import xai_helpers as xh; xh.make_shapes``.
"""
