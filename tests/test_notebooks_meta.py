"""Rules every workbook notebook follows (the notebooks themselves run under nbval)."""
import json
import re

import pytest

from xai_helpers import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
REQUIRED_HEADINGS = ["common mistakes", "summary", "exercises"]


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ is empty"


def test_numbering_is_two_digit_and_contiguous_from_00():
    numbers = []
    for path in NOTEBOOKS:
        match = re.fullmatch(r"(\d\d)_[a-z0-9_]+\.ipynb", path.name)
        assert match, f"{path.name}: notebooks are named NN_snake_case.ipynb"
        numbers.append(int(match.group(1)))
    assert numbers == list(range(len(numbers))), f"gaps or duplicates in numbering: {numbers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"cell {i} has outputs: run `make strip`"
            assert cell.get("execution_count") is None, f"cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_reads_fast_mode_from_the_package(path):
    code = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "code")
    assert re.search(r"^from xai_helpers import .*\bFAST\b", code, re.M), \
        "import FAST from xai_helpers in the setup cell"
    assert not re.search(r"(environ|getenv)\W.*XAI_FAST", code), \
        "read fast mode via xai_helpers.FAST, not the environment"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_teaching_skeleton(path):
    cells = _cells(path)
    assert cells[0]["cell_type"] == "markdown" and _source(cells[0]).startswith("# ")
    assert re.search(r"[\u4e00-\u9fff]", _source(cells[0]).splitlines()[0]), \
        "the title carries the Chinese name too"
    headings = [line.lower() for c in cells if c["cell_type"] == "markdown"
                for line in _source(c).splitlines() if line.startswith("#")]
    for required in REQUIRED_HEADINGS:
        assert any(required in h for h in headings), f"missing a '{required}' section"
    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    assert "assert " in code, "every notebook checks its results with assert"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_network_or_hard_coded_cuda(path):
    code = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "code")
    for forbidden in ["urlopen", "requests.get", "download", "wget ", ".cuda()"]:
        assert forbidden not in code, f"notebook code uses {forbidden!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_cell_that_shows_an_error_fails_when_the_error_is_gone(path):
    """A demonstration `try: ... except SomeError: print(...)` passes silently if the error
    no longer happens; it needs an `else:` that raises."""
    for i, cell in enumerate(_cells(path)):
        source = _source(cell)
        if cell["cell_type"] == "code" and re.search(r"^\s*except\b", source, re.M):
            assert re.search(r"^\s*else:\s*\n\s*raise AssertionError", source, re.M), \
                f"cell {i} catches an error it demonstrates without failing when it is gone"
