"""``python -m xai_helpers.video IN OUT [options]``: explain every frame of a video.

Example::

    python -m xai_helpers.video data/cockatoo.mp4 out.mp4 --method gradcam --lang zh --class auto

Exit status: 0 done, 2 bad input (the message says what and how to fix it), 130 interrupted
(no output file is left behind).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..core.models import load_model
from ..core.targets import check_class_id
from .explain import FRAME_METHODS, explain_video
from .files import check_output_path


def _class_argument(value: str) -> int | None:
    if value.lower() == "auto":
        return None
    try:
        return check_class_id(int(value))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``python -m xai_helpers.video IN OUT [options]`` (``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m xai_helpers.video",
        description="Explain every frame of a video with a CAM method and write an mp4 with "
                    "the heatmap and the predicted / explained class names.")
    parser.add_argument("input", type=Path, help="input video")
    parser.add_argument("output", type=Path, help="output .mp4 (not overwritten unless asked)")
    parser.add_argument("--method", default="gradcam",
                        help=f"CAM method: {', '.join(FRAME_METHODS)}"
                             " (case and dashes optional; default gradcam)")
    parser.add_argument("--class", dest="target", type=_class_argument, default=None,
                        metavar="auto|ID", help="ImageNet id to explain, or auto (each frame's "
                                                "top class, the default)")
    parser.add_argument("--lang", choices=["en", "zh"], default="en", help="label language")
    parser.add_argument("--smooth", type=float, default=1.0, metavar="W",
                        help="temporal smoothing: weight of the newest frame in (0, 1]; 1 = off")
    parser.add_argument("--alpha", type=float, default=0.5, help="heatmap opacity (0.5)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="frames per model call (default: measured for this machine)")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--model", default="efficientnet_lite0")
    args = parser.parse_args(argv)
    try:
        check_output_path(args.output, args.overwrite)              # before loading anything
        model = load_model(args.model)
        result = explain_video(args.input, args.output, model, method=args.method,
                               target=args.target, lang=args.lang, smoothing=args.smooth,
                               alpha=args.alpha, batch_size=args.batch_size,
                               max_frames=args.max_frames, overwrite=args.overwrite)
    except (OSError, ValueError) as error:          # missing, existing, folder, permission …
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: no output written", file=sys.stderr)
        return 130
    print(f"wrote {result.path}: {result.frames} frames in {result.seconds:.1f} s "
          f"({result.fps:.1f} frames/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
