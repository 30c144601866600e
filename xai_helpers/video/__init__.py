"""Videos: read them, explain every frame, write the result (``notebooks/08_video_and_webcam_cam``).

- ``files``    read with mmcv, stream H.264 mp4 files with PyAV, never half-written
- ``explain``  the frame explainer, temporal smoothing, fast overlays and the threaded pipeline
- ``__main__`` the command line: ``python -m xai_helpers.video IN.mp4 OUT.mp4 --method gradcam``
"""
from .explain import (
    CamSmoother,
    FrameExplainer,
    FrameExplanation,
    LabelPainter,
    VideoResult,
    explain_video,
    render_frame,
)
from .files import SAMPLE_VIDEO, VideoError, VideoInfo, VideoWriter, read_frames, video_info

__all__ = ["SAMPLE_VIDEO", "VideoError", "VideoInfo", "video_info", "read_frames", "VideoWriter",
           "CamSmoother", "FrameExplainer", "FrameExplanation", "render_frame", "LabelPainter",
           "VideoResult", "explain_video"]
