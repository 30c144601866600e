"""The two install routes (Makefile + constraints.txt, conda environment.yml) agree."""
import re

import tomllib
import yaml

from xai_helpers import REPO_ROOT


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)==([^\s;#]+)\s*", line)
        if match:
            pins[_norm(match.group(1))] = match.group(2)
    return pins


def _constraints() -> dict[str, str]:
    return _pins((REPO_ROOT / "constraints.txt").read_text().splitlines())


def _environment_pip() -> list[str]:
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    return next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))


def _pyproject_names() -> set[str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    return {_norm(re.match(r"[A-Za-z0-9_.\-]+", r).group(0)) for r in requirements}


def test_environment_pins_equal_the_constraints():
    locked = _constraints()
    for name, version in _pins(_environment_pip()).items():
        assert locked.get(name) == version, f"{name}: environment.yml {version}, " \
                                            f"constraints.txt {locked.get(name)}"


def test_every_direct_dependency_is_locked_and_listed_for_conda():
    locked, conda = _constraints(), _pins(_environment_pip())
    for name in _pyproject_names():
        assert name in locked, f"{name} is not pinned in constraints.txt"
        assert name in conda, f"{name} is not listed in environment.yml"


def test_conda_installs_the_package_with_the_same_constraints_and_python():
    pip_lines = _environment_pip()
    assert "-c constraints.txt" in pip_lines and "-e .[lab,dev]" in pip_lines
    env = (REPO_ROOT / "environment.yml").read_text()
    makefile = (REPO_ROOT / "Makefile").read_text()
    pip_version = re.search(r"PIP_VERSION := (\S+)", makefile).group(1)
    assert f"pip={pip_version}" in env
    assert "python=3.11" in env


def test_versions_the_project_depends_on():
    locked = _constraints()
    assert locked["torch"] == "2.14.1" and locked["torchvision"] == "0.29.1"
    # both OpenCV wheels provide `cv2`; different versions would break `import cv2`
    assert locked["opencv-python"] == locked["opencv-python-headless"]


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    ci = [line.strip() for line in (REPO_ROOT / ".ci/run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert ci[-1] == "make test"
