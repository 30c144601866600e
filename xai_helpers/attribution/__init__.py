"""Attributions on the input pixels, and the methods that need more than one pass.

- ``gradients``  saliency, SmoothGrad (and NoiseTunnel's variants), Integrated Gradients,
                 GradientSHAP
- ``guided``     Guided Backprop and Guided Grad-CAM on a patched copy of the model
- ``occlusion``  sliding-window occlusion, batched on a fast copy of the model
- ``lime``       LIME over superpixels: sampling, kernel, weighted ridge
- ``igos``       I-GOS: a mask optimised with integrated gradients
- ``relevance``  Layer-wise Relevance Propagation written out rule by rule
- ``canonize``   EfficientNet-Lite0 rewritten for LRP, and zennit's composites on it

Import them from the package itself: ``import xai_helpers as xh; xh.integrated_gradients``.
"""
