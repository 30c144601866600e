"""Shared fixtures. The network guard (no internet in tests, kernels and subprocesses) is installed
by the repository's root ``conftest.py``."""
from __future__ import annotations

import matplotlib
import pytest
import torch

matplotlib.use("Agg")  # no display in tests


@pytest.fixture(scope="session")
def model():
    """The offline EfficientNet-Lite0 on CPU (shared: loading takes ~1 s)."""
    import checks

    return checks.model_and_batch()[0]


@pytest.fixture
def tiny_cnn():
    """A seeded 2-conv network small enough to check by hand."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(inplace=True),
        torch.nn.Conv2d(4, 6, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(6, 5),
    )
    return net.eval()


@pytest.fixture(scope="session")
def shapes_model():
    """The committed shapes CNN trained without the spurious marker."""
    from xai_helpers import load_shapes_cnn

    return load_shapes_cnn("clean")


@pytest.fixture(scope="session")
def shapes_test():
    """300 generated test images with masks (seed 99, never used for training)."""
    from xai_helpers import make_shapes

    return make_shapes(300, seed=99)


@pytest.fixture(autouse=True)
def english_unless_a_test_says_otherwise():
    """Tests read English messages; a learner's ``XAI_LANG=zh`` must not change that, and a test
    that switches to Chinese must not leave it switched."""
    from xai_helpers import set_language

    set_language("en")
    yield
    set_language("en")
