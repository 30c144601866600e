import csv
import re

import pytest
import torch

import xai_helpers as xh
from xai_helpers.core import labels


def test_class_index_csv_is_complete_and_clean():
    with open(xh.DATA_DIR / "imagenet_class_index.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "wnid", "en", "zh"]
    assert [int(r["id"]) for r in rows] == list(range(1000))
    assert all(re.fullmatch(r"n\d{8}", r["wnid"]) for r in rows)
    assert len({r["wnid"] for r in rows}) == 1000
    assert len({r["zh"] for r in rows}) == 1000             # no two classes share a zh name
    assert all(re.search(r"[\u4e00-\u9fff]", r["zh"]) or r["zh"] == "iPod" for r in rows)
    # torchvision's order and names
    from torchvision.models import ResNet18_Weights
    assert [r["en"] for r in rows] == ResNet18_Weights.IMAGENET1K_V1.meta["categories"]


@pytest.mark.parametrize("class_id, en, zh", [
    (0, "tench", "丁鲷"), (15, "robin", "旅鸫"), (89, "sulphur-crested cockatoo", "葵花凤头鹦鹉"),
    (272, "coyote", "郊狼"), (281, "tabby", "虎斑猫"), (967, "espresso", "意式浓缩咖啡"),
])
def test_lookup_both_languages(class_id, en, zh):
    assert xh.imagenet_label(class_id) == en
    assert xh.imagenet_label(class_id, lang="zh") == zh
    assert xh.imagenet_labels("zh")[class_id] == zh


def test_wnids_match_known_synsets():
    table = labels._class_table()
    assert table.at[0, "wnid"] == "n01440764" and table.at[999, "wnid"] == "n15075141"


def test_bad_class_ids_and_languages():
    with pytest.raises(ValueError, match="out of range.*0 to 999"):
        xh.imagenet_label(1000)
    with pytest.raises(ValueError, match="out of range"):
        xh.imagenet_label(-1)
    with pytest.raises(TypeError, match="search_classes"):
        xh.imagenet_label("cat")
    with pytest.raises(ValueError, match="'en'"):
        xh.imagenet_label(1, lang="fr")
    assert xh.check_class_id(torch.tensor(5)) == 5


def test_search_in_either_language():
    assert 281 in xh.search_classes("tabby").index
    assert 967 in xh.search_classes("浓缩咖啡").index
    assert xh.search_classes("zzzz").empty


def test_top_k_table(model):
    x = xh.preprocess(model, [xh.test_image_path("coffee"), xh.test_image_path("chelsea")])
    table = xh.top_k(model, x, k=3)
    assert list(table.columns) == ["image", "rank", "class_id", "en", "zh", "probability"]
    assert len(table) == 6
    first = table.iloc[0]
    assert (first.class_id, first.en, first.zh) == (967, "espresso", "意式浓缩咖啡")
    assert first.probability > 0.9
    for _, group in table.groupby("image"):
        assert group.probability.is_monotonic_decreasing
    assert set(table[table.image == 1].class_id) <= set(range(281, 286))
    with pytest.raises(ValueError, match="k must be"):
        xh.top_k(model, x, k=0)


def test_search_ranks_head_nouns_first_and_the_box_falls_back_to_the_default():
    import xai_helpers as xh

    assert xh.search_classes("猫").index[:3].tolist() == [281, 282, 283]   # not 猫头鹰 (owl)
    assert xh.search_classes("espresso").index[0] == 967                   # before the maker
    assert xh.search_class_ids("  ", [5, 6]) == [5, 6]
    assert xh.search_class_ids("no such class", [5]) == []
