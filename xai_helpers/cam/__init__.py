"""Class activation maps: CAM and the Grad-CAM family, all on one small pipeline.

- ``base``        the shared pipeline (:class:`BaseCAM`) and per-map normalisation
- ``activation``  methods without gradients: CAM, Score-CAM, Eigen-CAM
- ``gradient``    gradient-weighted methods: Grad-CAM, Grad-CAM++, XGrad-CAM, HiResCAM,
                  Grad-CAM-ElementWise, LayerCAM, EigenGrad-CAM

Import them from the package itself: ``import xai_helpers as xh; xh.GradCAM(model)``.
"""
