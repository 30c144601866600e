import numpy as np
import pytest
import torch
from PIL import Image

import xai_helpers as xh

EFF = xh.EFFICIENTNET_LITE_PREPROCESSING
NET = xh.IMAGENET_PREPROCESSING


def test_efficientnet_maps_pixels_to_minus_one_plus_one():
    half = np.zeros((300, 400, 3), np.uint8)
    half[:, 200:] = 255                                    # left black, right white
    x = EFF(half)
    assert x.shape == (3, 224, 224)
    assert torch.allclose(x[:, :, 0], torch.tensor(-1.0))
    assert torch.allclose(x[:, :, -1], torch.tensor(1.0))


def test_imagenet_normalisation_by_hand():
    grey = np.full((224, 224, 3), 128, np.uint8)
    x = NET(grey)
    expected = (128 / 255 - torch.tensor(NET.mean)) / torch.tensor(NET.std)
    assert torch.allclose(x[:, 0, 0], expected, atol=1e-6)


def test_resize_shorter_side_then_centre_crop():
    image = Image.new("RGB", (512, 256))
    view = EFF.view(image)
    assert view.size == (224, 224)
    # a marker column at the centre survives the crop at the centre
    marked = np.zeros((256, 512, 3), np.uint8)
    marked[:, 254:258] = 255
    x = EFF(marked)
    assert x[0, 112, 111:113].min() > 0.5 and x[0, 112, 0] == -1.0


def test_inverse_undoes_the_normalisation():
    image = xh.load_image(xh.test_image_path("coffee"))
    for prep in (EFF, NET):
        back = prep.inverse(prep(image))
        seen = torch.from_numpy(np.array(prep.view(image))).permute(2, 0, 1) / 255
        assert torch.allclose(back, seen, atol=1e-5)


def test_batch_and_inverse_shapes():
    images = [np.zeros((50, 60, 3), np.uint8)] * 3
    assert EFF.batch(images).shape == (3, 3, 224, 224)
    assert EFF.batch(images[0]).shape == (1, 3, 224, 224)
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        EFF.inverse(torch.zeros(1, 224, 224))


def test_chw_hwc_round_trip():
    x = torch.arange(24.0).view(2, 3, 2, 2)
    hwc = xh.chw_to_hwc(x)
    assert hwc.shape == (2, 2, 2, 3) and hwc[1, 0, 1, 2] == x[1, 2, 0, 1]
    assert torch.equal(xh.hwc_to_chw(hwc), x)
    with pytest.raises(ValueError):
        xh.chw_to_hwc(torch.zeros(5))
