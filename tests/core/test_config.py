import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

import xai_helpers as xh


def test_seed_everything_repeats_random_numbers():
    xh.seed_everything(3)
    a = (torch.rand(3), np.random.rand(), random.random())
    xh.seed_everything(3)
    b = (torch.rand(3), np.random.rand(), random.random())
    assert torch.equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]


def test_device_of_follows_the_parameters(tiny_cnn):
    assert xh.device_of(tiny_cnn) == torch.device("cpu")
    with pytest.raises(ValueError, match="no parameters"):
        xh.device_of(torch.nn.ReLU())


def test_fast_mode_is_read_from_the_environment():
    code = "from xai_helpers.core.config import FAST; print(FAST)"
    for value, expected in [("1", "True"), ("0", "False")]:
        env = {**os.environ, "XAI_FAST": value}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True)
        assert out.stdout.strip() == expected, value


def test_paths_point_into_the_repository():
    assert (xh.DATA_DIR / "imagenet_class_index.csv").exists()
    assert (xh.TEST_IMG_DIR / "ATTRIBUTION.md").exists()
