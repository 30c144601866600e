"""Video pipeline vs the model's own throughput on the same frames, in one run, and where the
time goes.

Reference: the model alone, per frame, at its best batch size (any of 1-16, measured in this
run): a ``channels_last`` forward pass for CAM, a forward + backward for Grad-CAM, on frames
already decoded and preprocessed. The pipeline adds decoding, resizing, colouring, labels and
H.264 encoding, overlapped on threads. Goals: pipeline >= 0.85x the model's frames/s, and at
least the clip's own 20 frames/s (1280x720). The breakdown times each stage alone, per frame,
and adds up the CPU work a frame needs: on 2 cores that sum bounds what any overlap can reach.
"""
from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import xai_helpers as xh
from xai_helpers.video.explain import FrameExplainer, LabelPainter, explain_video, render_frame
from xai_helpers.video.files import SAMPLE_VIDEO, VideoWriter, read_frames

from .timing import best_time

FRAMES = 120


def _per_frame(fn, count: int) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / count


def main() -> None:
    torch.set_num_threads(2)
    model = xh.load_model()
    frames = list(read_frames(SAMPLE_VIDEO, stop=FRAMES))
    explainers = {name: FrameExplainer(model, name) for name in ("CAM", "Grad-CAM")}
    x = explainers["CAM"].batch(frames)
    batch = xh.best_batch_size(model, example=x[:1])
    timings = xh.batch_timings(model, patience=10.0, repeats=3, example=x[:1])
    fast = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)

    def model_alone(backward: bool):
        def run():
            for b in x.split(batch):
                if backward:
                    b = b.detach().requires_grad_(True)
                    torch.autograd.grad(fast(b).max(dim=1).values.sum(), b)
                else:
                    with torch.inference_mode():
                        fast(b)
        return run

    print(f"\nVideo pipeline, {FRAMES} frames of {SAMPLE_VIDEO.name} (1280x720, 20 frames/s); "
          f"batch size {batch} (per-image forward ms by batch: "
          + ", ".join(f"{size}: {seconds * 1000:.1f}" for size, seconds in timings.items()) + ")")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for method, backward, label in [("CAM", False, "forward"),
                                        ("Grad-CAM", True, "forward+backward")]:
            model_seconds = best_time(model_alone(backward), repeats=3, warmup=1)

            def pipeline():
                return explain_video(SAMPLE_VIDEO, Path(folder) / "out.mp4", model,
                                     method=method, max_frames=FRAMES, overwrite=True,
                                     progress=False)

            pipeline_seconds = best_time(pipeline, repeats=3, warmup=1)
            model_fps, pipeline_fps = FRAMES / model_seconds, FRAMES / pipeline_seconds
            results[method] = (model_seconds / FRAMES, pipeline_fps)
            print(f"  {method:9s} model {label:17s} {model_fps:6.1f} frames/s   pipeline "
                  f"{pipeline_fps:6.1f} frames/s   ratio {pipeline_fps / model_fps:4.2f}x "
                  f"(goal >= 0.85x: {'met' if pipeline_fps >= 0.85 * model_fps else 'NOT met'}; "
                  f">= 20 frames/s: {'met' if pipeline_fps >= 20 else 'NOT met'})")

        # where the time goes: each stage alone, per frame
        decode = _per_frame(lambda: list(read_frames(SAMPLE_VIDEO, stop=FRAMES)), FRAMES)
        explainer = explainers["CAM"]
        resize = _per_frame(lambda: [explainer.batch(frames[i:i + batch])
                                     for i in range(0, FRAMES, batch)], FRAMES)
        maps = explainer.explain(x[:batch])
        paint = LabelPainter("en")

        def draw():
            for frame in frames:
                picture = render_frame(frame, maps.maps[0], 0.5)
                paint(picture, int(maps.predicted[0]), int(maps.shown[0]),
                      float(maps.probability[0]))
        drawing = _per_frame(draw, FRAMES)
        pictures = [render_frame(frame, maps.maps[0], 0.5) for frame in frames]

        def encode():
            with VideoWriter(Path(folder) / "encode.mp4", 20, overwrite=True) as writer:
                for picture in pictures:
                    writer.write(np.ascontiguousarray(picture))
        encoding = _per_frame(encode, FRAMES)
    threads = torch.get_num_threads()
    print(f"  where the time goes, per frame, each stage alone: decode {decode * 1000:.1f} ms, "
          f"resize + normalise {resize * 1000:.1f} ms, colour + label {drawing * 1000:.1f} ms, "
          f"encode (x264 ultrafast) {encoding * 1000:.1f} ms; model (on {threads} threads) "
          + ", ".join(f"{m} {s * 1000:.1f} ms" for m, (s, _) in results.items()))
    for method, (model_frame, fps) in results.items():
        cpu = decode + resize + drawing + encoding + threads * model_frame
        bound = 2 / cpu
        print(f"  {method}: CPU work per frame {cpu * 1000:.0f} core-ms -> at most "
              f"{bound:.1f} frames/s on 2 cores ({bound * model_frame:.2f}x the model alone); "
              f"measured {fps:.1f} frames/s")
