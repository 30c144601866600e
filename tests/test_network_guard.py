import socket
import urllib.request

import pytest
from conftest import NetworkBlocked


def test_internet_access_fails_in_tests():
    with pytest.raises((NetworkBlocked, OSError)) as info:
        urllib.request.urlopen("https://pypi.org/simple/", timeout=5)
    assert "offline" in str(info.value) or isinstance(info.value.__cause__ or info.value,
                                                      NetworkBlocked)


def test_raw_socket_to_public_address_fails():
    with socket.socket() as s, pytest.raises(NetworkBlocked):
        s.connect(("1.1.1.1", 443))


def test_loopback_still_allowed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())  # no exception
