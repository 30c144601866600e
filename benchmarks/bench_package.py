"""The package's own costs: import time, and how fast the explorer answers a control.

Import: ``import xai_helpers`` against ``import torch`` alone, each in fresh interpreters
(best of 5). Goal: at most 0.3 s more than torch. Names load lazily, so a plain import pays
almost nothing; the first ``xh.GradCAM`` pays for what it uses.

Explorer: the time from a control change to the new PNG in the picture widget, for the CAM
family on EfficientNet-Lite0 (224x224), median over repeated changes, as a ratio to one forward
pass measured in the same run. Goals: class, method and layer changes at most 150 ms (median);
opacity and language at most 50 ms (no model call at all).
"""
import statistics
import subprocess
import sys
import time

import torch

import xai_helpers as xh

from .timing import best_time


def _import_seconds(statement: str, repeats: int = 5) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(repeats))


def _median_ms(explorer, control, values) -> float:
    seconds = []
    for value in values:
        start = time.perf_counter()
        control.value = value
        seconds.append(time.perf_counter() - start)
    return 1000 * statistics.median(seconds)


def main() -> None:
    torch_alone = _import_seconds("import torch")
    package = _import_seconds("import torch; import xai_helpers")
    first_use = _import_seconds("import xai_helpers as xh; xh.GradCAM")
    print("\nImport (fresh interpreter, best of 5)")
    print(f"  import torch                           {torch_alone * 1000:7.0f} ms")
    print(f"  import torch; import xai_helpers       {package * 1000:7.0f} ms   "
          f"+{(package - torch_alone) * 1000:.0f} ms (goal <= +300 ms)")
    print(f"  import xai_helpers as xh; xh.GradCAM   {first_use * 1000:7.0f} ms   "
          "(first use loads what Grad-CAM needs)")

    model = xh.load_model()
    x = xh.preprocess(model, xh.test_image_path("dog"))
    with torch.inference_mode():
        forward = best_time(lambda: model(x))
    explorer = xh.CAMExplorer(model, xh.test_image_path("dog"),
                              layers=["_blocks.10", "_blocks.13", "_blocks.15", "_head_act"])
    classes = [value for _, value in explorer.class_select.options]
    rows = {
        "class (new: backward to the layer only)": _median_ms(
            explorer, explorer.class_select, classes[1:] + classes[:1]),
        "method (CAM family, same class)": _median_ms(
            explorer, explorer.method_select, ["Grad-CAM++", "LayerCAM", "HiResCAM", "Grad-CAM",
                                               "XGrad-CAM"]),
        "layer (a new forward pass)": _median_ms(
            explorer, explorer.layer_select, ["_blocks.15", "_blocks.13", "_blocks.10",
                                              "_head_act"]),
        "opacity (redraw only)": _median_ms(explorer, explorer.alpha, [0.3, 0.6, 0.4, 0.8, 0.5]),
        "language (redraw only)": _median_ms(explorer, explorer.lang, ["zh", "en", "zh", "en"]),
    }
    print(f"\nCAM explorer: control change -> new picture (median; one forward pass "
          f"{forward * 1000:.0f} ms)")
    for name, ms in rows.items():
        goal = 50 if name.startswith(("opacity", "language")) else 150
        print(f"  {name:42s} {ms:6.0f} ms   {ms / (forward * 1000):5.2f}x forward   "
              f"goal <= {goal} ms: {'met' if ms <= goal else 'NOT met'}")
