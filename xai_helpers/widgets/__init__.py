"""Interactive explorers for JupyterLab, built from plain ipywidgets.

- ``base``          what both explorers share: image, class list and search, layers, rendering,
                    and the cache that makes CAM controls answer at once
- ``explorer``      :class:`Explorer`: every method, any image and model, comparisons
- ``cam_explorer``  :class:`CAMExplorer`: the CAM family on one image (notebooks 01 and 02)

Import them from the package itself: ``import xai_helpers as xh; xh.Explorer("dog")``.
"""
