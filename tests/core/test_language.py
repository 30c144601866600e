"""One language setting: every ``lang`` left out follows :func:`xai_helpers.set_language`."""
import pytest

import xai_helpers as xh


def test_labels_and_tables_follow_the_workbook_language():
    assert xh.imagenet_label(281) == "tabby"
    xh.set_language("zh")
    assert xh.language() == "zh" and xh.imagenet_label(281) == "虎斑猫"
    table = xh.results_table({"Grad-CAM": {"energy": 0.5}, "Edge detector": {"energy": 0.1}})
    assert table.index.name == "方法"
    assert table.index[0] == "Grad-CAM 梯度加权类激活映射"
    assert xh.imagenet_label(281, lang="en") == "tabby"        # an explicit lang wins
    xh.set_language("en")
    assert xh.results_table({"Grad-CAM": {"energy": 0.5}}).index.name == "method"


def test_a_method_whose_chinese_name_is_its_own_name_is_not_repeated():
    from xai_helpers.registry import METHODS

    assert METHODS["XGrad-CAM"].name_zh == "XGrad-CAM"
    table = xh.results_table({"XGrad-CAM": {"energy": 0.5}, "not a method": {"energy": 0.1}},
                             lang="zh")
    assert list(table.index) == ["XGrad-CAM", "not a method"]


def test_the_environment_sets_the_starting_language(monkeypatch):
    import importlib

    from xai_helpers.core import config

    monkeypatch.setenv("XAI_LANG", "zh")
    try:
        assert importlib.reload(config).language() == "zh"
    finally:
        monkeypatch.delenv("XAI_LANG")
        importlib.reload(config)


def test_an_unknown_language_says_which_ones_exist():
    with pytest.raises(ValueError, match=r"\('en', 'zh'\)"):
        xh.imagenet_label(281, lang="fr")
