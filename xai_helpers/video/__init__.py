"""Videos and cameras (``notebooks/08_video_and_webcam_cam.ipynb``).

- ``files``     read with mmcv, stream H.264 mp4 files with PyAV, never half-written
- ``explain``   the frame explainer, temporal smoothing, fast overlays and the threaded pipeline
- ``webcam``    a live CAM view in the notebook, from a camera or a clip played as one
- ``__main__``  the command line: ``python -m xai_helpers.video IN.mp4 OUT.mp4 --method gradcam``

Import them from the package itself: ``import xai_helpers as xh; xh.explain_video(...)``.
"""
