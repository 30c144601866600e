"""Every kind of image file a learner might bring, and every way one can be broken."""
import io

import numpy as np
import pytest
from PIL import Image

import xai_helpers as xh

RED = (200, 30, 40)


def _save(tmp_path, image: Image.Image, name: str, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


def test_bundled_photos_load_as_rgb():
    names = xh.list_test_images()
    assert {"chelsea", "coffee", "astronaut", "rocket", "dog"} <= set(names)
    image = xh.load_image(xh.test_image_path("chelsea"))
    assert image.mode == "RGB" and image.size == (451, 300)


def test_unknown_test_image_suggests_names():
    with pytest.raises(ValueError, match="Did you mean 'chelsea'"):
        xh.test_image_path("chelsa")


def test_grayscale_becomes_three_equal_channels(tmp_path):
    path = _save(tmp_path, Image.new("L", (10, 8), 77), "gray.png")
    array = np.asarray(xh.load_image(path))
    assert array.shape == (8, 10, 3) and (array == 77).all()


def test_rgba_is_composited_on_white(tmp_path):
    rgba = Image.new("RGBA", (4, 4), RED + (0,))          # fully transparent red
    rgba.putpixel((0, 0), RED + (255,))                   # one opaque red pixel
    rgba.putpixel((1, 0), (0, 0, 0, 128))                 # half-transparent black
    array = np.asarray(xh.load_image(_save(tmp_path, rgba, "rgba.png")))
    assert tuple(array[0, 0]) == RED
    assert tuple(array[3, 3]) == (255, 255, 255)          # transparent -> background
    assert abs(int(array[0, 1, 0]) - 127) <= 1            # 50% black over white


def test_la_and_custom_background(tmp_path):
    la = Image.new("LA", (2, 2), (0, 0))
    array = np.asarray(xh.load_image(_save(tmp_path, la, "la.png"), background=(0, 255, 0)))
    assert tuple(array[0, 0]) == (0, 255, 0)


def test_palette_with_transparency(tmp_path):
    p = Image.new("P", (3, 3), 1)
    p.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p.info["transparency"] = 1
    path = _save(tmp_path, p, "pal.png", transparency=1)
    assert tuple(np.asarray(xh.load_image(path))[0, 0]) == (255, 255, 255)
    p.putpixel((0, 0), 0)
    path = _save(tmp_path, p, "pal2.png", transparency=1)
    assert tuple(np.asarray(xh.load_image(path))[0, 0]) == (255, 0, 0)


def test_cmyk_jpeg(tmp_path):
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))   # pure red in CMYK
    array = np.asarray(xh.load_image(_save(tmp_path, cmyk, "cmyk.jpg", quality=100)))
    r, g, b = array[4, 4].astype(int)
    assert r > 240 and g < 15 and b < 15


def test_16bit_grayscale_png_is_scaled_not_clipped(tmp_path):
    data = np.array([[0, 65535], [32896, 1000]], dtype=np.uint16)
    path = _save(tmp_path, Image.fromarray(data), "deep.png")
    assert Image.open(path).mode.startswith("I")
    array = np.asarray(xh.load_image(path))[..., 0]
    assert array.tolist() == [[0, 255], [128, 4]]


def test_exif_rotation_is_applied(tmp_path):
    wide = Image.new("RGB", (20, 10), RED)
    exif = Image.Exif()
    exif[0x0112] = 6                                       # "rotate 90° clockwise to view"
    path = _save(tmp_path, wide, "phone.jpg", exif=exif.tobytes())
    assert Image.open(path).size == (20, 10)
    assert xh.load_image(path).size == (10, 20)


@pytest.mark.parametrize("array, expected", [
    (np.full((2, 2), 9, np.uint8), (9, 9, 9)),
    (np.full((2, 2, 1), 9, np.uint8), (9, 9, 9)),
    (np.full((2, 2, 3), 0.5, np.float32), (128, 128, 128)),
    (np.ones((2, 2), bool), (255, 255, 255)),
    (np.full((2, 2, 3), 65535, np.uint16), (255, 255, 255)),
    (np.concatenate([np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2, 1), np.uint8)], -1),
     (255, 255, 255)),
])
def test_arrays(array, expected):
    assert tuple(np.asarray(xh.load_image(array))[0, 0]) == expected


def test_channels_first_array_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="channels-first"):
        xh.load_image(np.zeros((3, 32, 32), np.uint8))


def test_normalised_float_array_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="undo the normalisation"):
        xh.load_image(np.full((4, 4, 3), -1.0))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No image at"):
        xh.load_image(tmp_path / "nope.jpg")


def test_folder_and_empty_file(tmp_path):
    with pytest.raises(IsADirectoryError):
        xh.load_image(tmp_path)
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        xh.load_image(tmp_path / "empty.jpg")


def test_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("these are my notes, not a picture")
    with pytest.raises(ValueError, match="not an image"):
        xh.load_image(tmp_path / "notes.png")


def test_truncated_jpeg(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        buffer, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        xh.load_image(tmp_path / "cut.jpg")


def test_corrupt_png_body(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), RED).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[60:80] = b"\x00" * 20                            # smash the compressed pixels
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt or truncated"):
        xh.load_image(tmp_path / "bad.png")


def test_absurd_size_is_refused_before_decoding(tmp_path):
    path = _save(tmp_path, Image.new("RGB", (100, 100)), "big.png")
    with pytest.raises(ValueError, match="max_pixels"):
        xh.load_image(path, max_pixels=5_000)
    with pytest.raises(ValueError, match="max_pixels"):
        xh.load_image(np.zeros((100, 100, 3), np.uint8), max_pixels=5_000)


def test_wrong_type():
    with pytest.raises(TypeError, match="file path"):
        xh.load_image(12345)
