"""Video pipeline vs the model's own throughput on the same frames, in one run.

The reference is what the model alone costs per frame: its forward pass (for CAM) or forward +
backward (for Grad-CAM), on the same frames, already decoded and preprocessed, in batches of
the same size. The pipeline adds decoding, resizing, colouring, labels and H.264 encoding.
Goal: pipeline frames/s >= 0.85x the model's (overhead <= 15%).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import torch

import xai_helpers as xh
from xai_helpers.video import SAMPLE_VIDEO, FrameExplainer, explain_video, read_frames

from .timing import best_time

FRAMES, BATCH = 120, 8


def main() -> None:
    torch.set_num_threads(2)
    model = xh.load_model()
    frames = list(read_frames(SAMPLE_VIDEO, stop=FRAMES))
    x = FrameExplainer(model, "CAM").batch(frames).contiguous()     # plain layout: the model's own
    batches = list(x.split(BATCH))

    def forward():
        with torch.inference_mode():
            for b in batches:
                model(b)

    def forward_backward():
        for b in batches:
            b = b.detach().requires_grad_(True)
            logits = model(b)
            torch.autograd.grad(logits.max(dim=1).values.sum(), b)

    print(f"\nVideo pipeline, {FRAMES} frames of {SAMPLE_VIDEO.name} (1280x720), "
          f"batches of {BATCH}")
    with tempfile.TemporaryDirectory() as folder:
        for method, reference, label in [("CAM", forward, "forward"),
                                         ("Grad-CAM", forward_backward, "forward+backward")]:
            model_seconds = best_time(reference, repeats=3, warmup=1)

            def pipeline():
                return explain_video(SAMPLE_VIDEO, Path(folder) / "out.mp4", model, method=method,
                                     max_frames=FRAMES, batch_size=BATCH, overwrite=True,
                                     progress=False)

            pipeline_seconds = best_time(pipeline, repeats=3, warmup=1)
            model_fps, pipeline_fps = FRAMES / model_seconds, FRAMES / pipeline_seconds
            print(f"  {method:9s} model {label:17s} {model_fps:6.1f} frames/s   pipeline "
                  f"{pipeline_fps:6.1f} frames/s   ratio {pipeline_fps / model_fps:4.2f}x "
                  f"(goal >= 0.85x)")
