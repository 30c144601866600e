"""The package's shape: one flat public API that loads lazily, families that only import
downwards, and features that say clearly which optional package they need."""
import ast
import json
import re
import subprocess
import sys
import textwrap

import pytest

import xai_helpers as xh

PACKAGE = xh.REPO_ROOT / "xai_helpers"
#: Lower families first; a module may import only from its own family or lower ones.
ORDER = ["core", "cam", "attribution", "registry", "evaluation", "datasets", "widgets", "video",
         "course"]
ALLOWED_UPWARDS = {("datasets", "core")}          # (importer, imported) that are fine anyway


def _family(path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0].removesuffix(".py") if len(parts) > 1 or parts[0] == "registry.py" else ""


def _notebook_names() -> set[str]:
    names = set()
    for folder in ("notebooks", "exercises"):
        for path in sorted((xh.REPO_ROOT / folder).glob("*.ipynb")):
            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                if cell["cell_type"] == "code":
                    names |= set(re.findall(r"\bxh\.([A-Za-z_]\w*)", "".join(cell["source"])))
    return names


def test_every_name_the_notebooks_use_resolves():
    used = _notebook_names()
    assert len(used) > 50
    missing = sorted(name for name in used if not hasattr(xh, name))
    assert not missing, f"notebooks use xh.{missing} which the package does not export"


def test_every_exported_name_resolves_and_modules_agree_with_the_table():
    for name in xh.__all__:
        assert getattr(xh, name) is not None or name == "Target", name
    from xai_helpers import _MODULES

    for module_name, names in _MODULES.items():
        module = __import__(f"xai_helpers.{module_name}", fromlist=["__all__"])
        missing = set(names) - set(module.__all__)
        assert not missing, f"{module_name} does not list {missing} in __all__"
    assert "exercises" not in xh.__all__
    from xai_helpers.exercises import check_cam_from_features  # the notebooks' import

    assert callable(check_cam_from_features)
    with pytest.raises(AttributeError, match="no attribute 'GradCam'"):
        xh.GradCam


def test_families_only_import_downwards():
    """core < cam < attribution < registry < evaluation, datasets < widgets < video < course."""
    for path in sorted(PACKAGE.rglob("*.py")):
        family = _family(path)
        if family not in ORDER:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level > 0 and node.module:
                depth = len(path.relative_to(PACKAGE).parts) - 1
                target = node.module.split(".")[0] if node.level > depth else family
                if target in ORDER and (family, target) not in ALLOWED_UPWARDS:
                    assert ORDER.index(target) <= ORDER.index(family), \
                        f"{path.relative_to(PACKAGE)} imports {node.module} (a higher family)"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300, cwd=xh.REPO_ROOT)


def test_import_is_light_and_loads_nothing_heavy():
    result = _run("""
        import sys
        import xai_helpers as xh
        print(sorted(m for m in ("torch", "av", "mmcv", "zennit", "cv2", "ipywidgets",
                                 "sklearn", "pandas", "matplotlib", "captum") if m in sys.modules))
        print(xh.__version__)
        """)
    assert result.returncode == 0, result.stderr
    loaded, version = result.stdout.split("\n")[:2]
    assert loaded == "[]" and re.fullmatch(r"\d+\.\d+.*", version)


BLOCKER = """
import importlib.abc, sys
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"av", "mmcv", "mmengine", "zennit"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Missing())
"""


def test_notebooks_00_to_07_work_without_the_video_and_lrp_packages():
    """With PyAV, mmcv and zennit missing, everything notebooks 00-07 call from xh still works
    (a CAM, gradients, LIME, I-GOS, LRP from scratch …) and the video / zennit features say
    which package they need."""
    result = _run(BLOCKER + """
import torch
import xai_helpers as xh
model = xh.load_model(device="cpu")
x = xh.preprocess(model, xh.test_image_path("dog"))
xh.GradCAM(model)(x, 235); xh.integrated_gradients(model, x, 235, n_steps=2)
xh.guided_grad_cam(model, x, 235); xh.explain("LIME", model, x, 235, num_samples=8)
xh.igos(model, x, 235, iterations=1, ig_steps=2)
net = xh.digits_cnn(); xh.lrp(net, torch.rand(1, 1, 8, 8), 3)
for name in ("explain_video", "VideoWriter", "canonize_efficientnet"):
    try:
        getattr(xh, name)
    except ImportError as error:
        print(error)
try:
    xh.explain("LRP", model, x, 235)
except ImportError as error:
    print(error)
""")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4, lines
    assert "PyAV" in lines[0] or "mmcv" in lines[0]
    assert "zennit" in lines[2] and "zennit" in lines[3]
    assert all("make setup" in line or "pip install" in line for line in lines)
