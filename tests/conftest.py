"""Shared fixtures. Every test runs with the network blocked: a test that reaches for the
internet fails loudly instead of passing here and failing offline."""
from __future__ import annotations

import ipaddress
import socket

import matplotlib
import pytest
import torch

matplotlib.use("Agg")  # no display in tests


class NetworkBlocked(RuntimeError):
    pass


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def block_network(monkeypatch):
    """Refuse every non-loopback connection and DNS lookup for the duration of a test."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NetworkBlocked(f"test tried to connect to {address!r}; tests run offline")
        return real_connect(sock, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host if host is not None else "localhost"):
            raise NetworkBlocked(f"test tried to resolve {host!r}; tests run offline")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield


@pytest.fixture(scope="session")
def model():
    """The offline EfficientNet-Lite0 on CPU (shared: loading takes ~1 s)."""
    from xai_helpers import load_model

    torch.set_num_threads(2)
    return load_model("efficientnet_lite0", device="cpu")


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
