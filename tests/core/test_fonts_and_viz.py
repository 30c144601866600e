import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from fontTools.ttLib import TTCollection
from PIL import Image

import xai_helpers as xh
from xai_helpers.core import viz


def _all_label_characters() -> str:
    text = "".join(xh.imagenet_labels("zh")) + "".join(sum(viz._LABEL_PREFIX.values(), ()))
    return "".join(sorted(set(text) - {" "}))


def test_the_font_has_a_glyph_for_every_chinese_label_character():
    path = xh.cjk_font_path()
    assert path is not None and path.exists()
    sc_face = TTCollection(str(path)).fonts[2]
    assert sc_face["name"].getDebugName(1) == "Noto Sans CJK SC"
    cmap = sc_face.getBestCmap()
    missing = [c for c in _all_label_characters() if ord(c) not in cmap]
    assert missing == []


def test_matplotlib_renders_chinese_titles_without_missing_glyphs(tmp_path):
    assert xh.use_cjk_font()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.set_title("预测类别：虎斑猫 tabby (62%) −0.5")
        ax.text(0, 0, _all_label_characters()[:400], fontsize=4, wrap=True)
        fig.savefig(tmp_path / "zh.png", dpi=50)
        plt.close(fig)
    glyph_warnings = [str(w.message) for w in caught if "Glyph" in str(w.message)]
    assert glyph_warnings == []


def test_pil_font_is_the_simplified_chinese_face():
    assert xh.pil_font(18).getname() == ("Noto Sans CJK SC", "Regular")


def test_missing_font_falls_back_to_english(monkeypatch):
    from xai_helpers.core import fonts
    monkeypatch.setattr(fonts, "cjk_font_path", lambda: None)
    fonts.use_cjk_font.cache_clear()
    try:
        with pytest.warns(UserWarning, match="noto-cjk-sans-otc"):
            assert fonts.resolve_lang("zh") == "en"
    finally:
        monkeypatch.undo()
        fonts.use_cjk_font.cache_clear()
    assert fonts.resolve_lang("zh") == "zh"


def test_overlay_blends_by_alpha():
    image = np.full((4, 4, 3), 0.2, np.float32)
    cam = np.zeros((4, 4), np.float32)
    assert np.allclose(viz.overlay_heatmap(image, cam, alpha=0.0), image)
    jet_low = np.array(plt.get_cmap("jet")(0.0)[:3])
    assert np.allclose(viz.overlay_heatmap(image, cam, alpha=1.0)[0, 0], jet_low)
    half = viz.overlay_heatmap(image, cam, alpha=0.5)[0, 0]
    assert np.allclose(half, 0.5 * 0.2 + 0.5 * jet_low)


def test_overlay_resizes_a_7x7_cam_bilinearly():
    cam = torch.zeros(7, 7)
    cam[3, 3] = 1.0
    out = viz.overlay_heatmap(torch.zeros(3, 224, 224), cam, alpha=1.0, cmap="gray")
    assert out.shape == (224, 224, 3)
    assert out[112, 112, 0] > 0.9 and out[0, 0, 0] == 0.0          # peak stays in the centre


def test_overlay_refuses_normalised_inputs_with_a_hint():
    with pytest.raises(ValueError, match="inverse"):
        viz.overlay_heatmap(torch.full((3, 8, 8), -1.0), np.zeros((8, 8)))
    with pytest.raises(ValueError, match="2-D"):
        viz.overlay_heatmap(np.zeros((8, 8, 3)), np.zeros((2, 8, 8)))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_label_image_draws_text_in_the_top_band_only(lang):
    picture = np.full((224, 224, 3), 0.5, np.float32)
    labelled = np.asarray(xh.label_image(picture, 281, 282, 0.62, lang=lang)).astype(int)
    assert labelled.shape == (224, 224, 3)
    top, bottom = labelled[:50], labelled[120:]
    assert (bottom == 128).all()                               # untouched below the band
    assert (top > 200).sum() > 200                             # white text pixels
    assert (top < 100).sum() > 2000                            # dark band


def test_zh_and_en_labels_differ():
    picture = np.zeros((224, 224, 3), np.uint8)
    en = np.asarray(xh.label_image(picture, 281, lang="en"))
    zh = np.asarray(xh.label_image(picture, 281, lang="zh"))
    assert not np.array_equal(en, zh)


def test_compare_maps_uses_one_shared_scale():
    picture = np.zeros((8, 8, 3))
    fig, axes = viz.compare_maps(picture, {"strong": np.eye(8), "weak": np.eye(8) * 0.25},
                                 alpha=1.0, cmap="gray")
    strong = axes[1].images[0].get_array()
    weak = axes[2].images[0].get_array()
    assert np.isclose(strong.max(), 1.0)
    assert np.isclose(weak.max(), 0.25, atol=0.01)          # not re-stretched to 1
    fig_each, axes_each = viz.compare_maps(picture, {"a": np.eye(8), "b": np.eye(8) * 0.25},
                                           normalise="each", alpha=1.0, cmap="gray")
    assert np.isclose(axes_each[2].images[0].get_array().max(), 1.0)
    plt.close("all")


def test_a_shared_scale_over_maps_normalised_one_by_one_is_refused_politely():
    """The mistake notebook 00 warns about: maps each stretched to [0, 1] under a "shared"
    colour bar look equally strong whatever their raw strength."""
    picture = np.zeros((8, 8, 3))
    ramp = np.linspace(0, 1, 64).reshape(8, 8)
    with pytest.warns(UserWarning, match="normalised one by one"):
        viz.compare_maps(picture, {"a": ramp, "b": ramp[::-1]})
    fig, _ = viz.compare_maps(picture, {"a": ramp, "b": ramp[::-1]}, scale="each")
    assert "where, not how strong" in fig._suptitle.get_text()
    plt.close("all")


def test_map_limits_follow_the_policy():
    strong, weak = np.eye(8) * 4.0, np.eye(8)
    assert viz.map_limits({"s": strong, "w": weak})["w"] == (0.0, 4.0)            # shared
    assert viz.map_limits({"s": strong, "w": weak}, scale="each")["w"] == (0.0, 1.0)
    signed = np.full((10, 10), -1.0)
    signed[0, 0] = 50.0                                                 # one extreme pixel
    low, high = viz.map_limits(signed, "signed")[""]
    assert low == -high and high < 50                                   # centred, clipped
    pixels = np.zeros((10, 10))
    pixels[:5] = 1.0
    pixels[0, 0] = 100.0
    assert viz.map_limits(pixels, "pixels", quantile=0.9)[""][1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="kind"):
        viz.map_limits(pixels, "rainbow")


def test_plot_helpers_return_fig_and_axes():
    fig, ax = viz.show_image(Image.new("RGB", (10, 10)), title="猫")
    assert ax.get_title() == "猫" and fig is ax.figure
    fig2, ax2 = plt.subplots()
    assert viz.show_heatmap(np.zeros((4, 4, 3)), np.ones((2, 2)), ax=ax2, colorbar=True)[1] is ax2
    plt.close("all")


def test_the_title_states_the_scale_and_the_clipping_the_colour_bar_the_units():
    """The policy says it in the figure: which scale (with several maps), which quantile, and
    what the colours mean. A single map has nothing to share a scale with."""
    picture = np.zeros((8, 8, 3))
    ramp = np.linspace(0, 1, 64).reshape(8, 8)
    fig, _ = viz.compare_maps(picture, {"a": ramp, "b": 2 * ramp}, kind="pixels",
                              units="|gradient|")
    title = fig.get_suptitle()
    assert "one colour scale" in title and "99% quantile" in title
    assert fig.axes[-1].get_ylabel() == "|gradient|"                     # the shared colour bar
    fig, _ = viz.compare_maps(picture, {"only": ramp - 0.5}, kind="signed", quantile=0.995)
    assert fig.get_suptitle() == "colours clipped at the 99.5% quantile"
    fig, _ = viz.compare_maps(picture, {"only": ramp})                   # cam, one map: no title
    assert fig.get_suptitle() == ""
    fig, axes = viz.compare_maps(picture, {"a": ramp - 0.5, "b": 0.5 - ramp}, kind="signed",
                                 scale="each", units="logit")
    colour_bars = [ax for ax in fig.axes if ax not in list(axes)]
    assert len(colour_bars) == 2 and all(ax.get_ylabel() == "logit" for ax in colour_bars)
    plt.close("all")
