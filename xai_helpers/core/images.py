"""Loading photos safely: every common file format and colour mode comes back as plain RGB.

A CNN expects 3 channels of 8-bit colour. Real files are messier: phone photos are stored
sideways with an EXIF "rotate me" flag, PNGs carry transparency, print JPEGs are CMYK, scans are
grayscale or 16-bit. :func:`load_image` turns all of them into an upright RGB ``PIL.Image`` and
says clearly what was wrong when it cannot.

Taught in ``notebooks/00_setup_and_tour.ipynb``.
"""
from __future__ import annotations

import difflib
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .config import TEST_IMG_DIR

__all__ = ["ImageSource", "load_image", "test_image_path", "list_test_images", "MAX_PIXELS"]

#: Largest image accepted by default (50 megapixels, a big phone photo is 12–48).
MAX_PIXELS = 50_000_000

#: A photo: a file path, a ``PIL.Image`` or a NumPy (H, W[, C]) array.
ImageSource = Union[str, os.PathLike, Image.Image, np.ndarray]
_WHITE = (255, 255, 255)


def load_image(
    source: ImageSource,
    *,
    background: tuple[int, int, int] = _WHITE,
    max_pixels: int = MAX_PIXELS,
) -> Image.Image:
    """Open a photo (path, PIL image or HWC array) as an upright 8-bit RGB ``PIL.Image``.

    Handles EXIF rotation, grayscale, palette, RGBA/LA (composited on ``background``), CMYK,
    16-bit and float images. Raises a clear error for missing, corrupt, truncated or non-image
    files and for images larger than ``max_pixels``.

    Args:
        source: A file path, a ``PIL.Image``, or a NumPy array of shape (H, W), (H, W, 1),
            (H, W, 3) or (H, W, 4) with dtype uint8, uint16, bool or float in [0, 1].
        background: RGB colour that transparent pixels are composited onto.
        max_pixels: Refuse images with more pixels than this.

    Returns:
        A ``PIL.Image`` in mode ``"RGB"``.

    Example:
        >>> image = load_image(test_image_path("chelsea"))
        >>> image.mode, image.size
        ('RGB', (451, 300))
    """
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        image = _array_to_pil(source)
    elif isinstance(source, (str, os.PathLike)):
        image = _open_file(Path(source), max_pixels)
    else:
        raise TypeError(
            f"load_image() takes a file path, a PIL.Image or a NumPy HWC array, "
            f"not {type(source).__name__}. For a CHW torch tensor use "
            "xai_helpers.chw_to_hwc(tensor) first."
        )
    if not isinstance(source, (str, os.PathLike)):  # files were checked before decoding
        _check_size(image.size, max_pixels, where="The image")
    image = ImageOps.exif_transpose(image)  # phone photos: apply the "rotate me" flag
    return _to_rgb(image, background)


def _open_file(path: Path, max_pixels: int) -> Image.Image:
    if not path.exists():
        raise FileNotFoundError(f"No image at {path}. Check the path (it is relative to "
                                f"{Path.cwd()}).")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not an image file.")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty (0 bytes); copy the image again.")
    try:
        with warnings.catch_warnings():
            # our own size check below gives a clearer message than PIL's bomb warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
            _check_size(image.size, max_pixels, where=str(path))
            image.load()  # decode now, so a truncated file fails here and not later
    except UnidentifiedImageError:
        raise ValueError(
            f"{path} is not an image PIL can read (JPEG, PNG, BMP, GIF, TIFF, WebP, ...). "
            "Is it a different kind of file with an image extension?"
        ) from None
    except Image.DecompressionBombError:
        raise ValueError(f"{path} is too large to open safely; resize it first.") from None
    except OSError as err:  # PIL reports truncated / broken data as OSError
        raise ValueError(
            f"{path} is corrupt or truncated ({err}); re-download or re-export the image."
        ) from None
    return image


def _check_size(size: tuple[int, int], max_pixels: int, where: str) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"{where} has no pixels (size {width}x{height}).")
    if width * height > max_pixels:
        raise ValueError(
            f"{where} is {width}x{height} = {width * height:,} pixels, more than max_pixels="
            f"{max_pixels:,}. Resize it (the model only sees 224x224) or pass a larger max_pixels."
        )


def _array_to_pil(array: np.ndarray) -> Image.Image:
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"Array of shape {array.shape} looks channels-first (CHW); load_image wants HWC. "
            "Use array.transpose(1, 2, 0) or xai_helpers.chw_to_hwc()."
        )
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ValueError(
            f"Cannot read an array of shape {array.shape} as an image: expected (H, W) "
            "grayscale, (H, W, 3) RGB or (H, W, 4) RGBA."
        )
    return Image.fromarray(_to_uint8(array, "array"))


def _to_uint8(array: np.ndarray, where: str) -> np.ndarray:
    """Scale any common pixel type to uint8 0..255."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16 or (np.issubdtype(array.dtype, np.integer) and array.max() > 255):
        # 16-bit data uses 0..65535; map it onto 0..255
        return np.round(array.astype(np.float64) / 257.0).clip(0, 255).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        return array.clip(0, 255).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError(f"{where} contains NaN or infinite values.")
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 1:
            raise ValueError(
                f"{where} is float with values in [{low:.3g}, {high:.3g}]; float images must "
                "be in [0, 1]. If this is a normalised model input, undo the normalisation "
                "first (ModelSpec.preprocessing.inverse)."
            )
        return np.round(array * 255).astype(np.uint8)
    raise ValueError(f"{where} has unsupported pixel type {array.dtype}.")


def _to_rgb(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P":  # palette: may hide transparency inside the palette
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, background + (255,))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # 16/32-bit grayscale and float: scale to 8 bits ourselves (PIL would clip)
        gray = _to_uint8(np.asarray(image), f"{mode} image")
        return Image.fromarray(gray).convert("RGB")
    # 1, L, CMYK, YCbCr, LAB, HSV: PIL knows the conversion
    return image.convert("RGB")


def list_test_images() -> list[str]:
    """Names of the photos bundled in ``test_img/`` (see ``test_img/ATTRIBUTION.md``).

    Example:
        >>> "chelsea" in list_test_images()
        True
    """
    return sorted(p.stem for p in TEST_IMG_DIR.iterdir() if p.suffix.lower() in {".jpg", ".png"})


def test_image_path(name: str) -> Path:
    """Path of a bundled test photo by its name without extension, e.g. ``"chelsea"``.

    Example:
        >>> test_image_path("dog").name
        'dog.jpg'
    """
    for path in sorted(TEST_IMG_DIR.glob(f"{name}.*")):
        if path.suffix.lower() in {".jpg", ".png"}:
            return path
    close = difflib.get_close_matches(name, list_test_images(), n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"No bundled test image named {name!r}.{hint} Available: {', '.join(list_test_images())}."
    )


test_image_path.__test__ = False  # not a pytest test, despite the name
