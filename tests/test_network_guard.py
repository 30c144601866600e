"""The network guard holds in this process, in subprocesses and in Jupyter kernels.

Probes never send a packet off this machine even if the guard were missing: the public
addresses are only tried after checking that the guard is installed, and the unguarded probe
targets 0.0.0.0, which Linux routes to this machine.
"""
import socket
import subprocess
import sys
import urllib.request

import pytest

from xai_network_guard import NetworkBlocked, installed, is_loopback

PROBE = """
import socket, sys
assert getattr(socket.socket.connect, "_xai_network_guard", False), "guard not installed"
results = []
for call in (lambda s: s.connect(("1.1.1.1", 443)), lambda s: s.connect_ex(("1.1.1.1", 443)),
             lambda s: s.connect(("0.0.0.0", 9))):
    with socket.socket() as s:
        try:
            call(s)
            results.append("connected")
        except OSError as error:
            results.append(type(error).__name__)
try:
    socket.getaddrinfo("pypi.org", 443)
    results.append("resolved")
except OSError as error:
    results.append(type(error).__name__)
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    try:
        s.sendto(b"x", ("1.1.1.1", 53))
        results.append("sent")
    except OSError as error:
        results.append(type(error).__name__)
print(",".join(results))
"""
EXPECTED = ",".join(["NetworkBlocked"] * 5)


def test_this_process_is_guarded():
    assert installed()
    with pytest.raises(OSError) as info:                        # urllib wraps it in URLError
        urllib.request.urlopen("https://pypi.org/simple/", timeout=5)
    assert isinstance(getattr(info.value, "reason", info.value), NetworkBlocked)
    for address in [("1.1.1.1", 443), ("0.0.0.0", 9), ("10.0.0.1", 80)]:
        with socket.socket() as s, pytest.raises(NetworkBlocked):
            s.connect(address)
        with socket.socket() as s, pytest.raises(NetworkBlocked):
            s.connect_ex(address)
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("example.com", 80)
    with pytest.raises(NetworkBlocked):
        socket.gethostbyname("example.com")


def test_loopback_stays_allowed():
    assert is_loopback(("127.0.0.1", 1)) and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())                 # no exception
    assert socket.getaddrinfo("localhost", 80)


def test_a_child_process_is_guarded():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == EXPECTED


def test_a_jupyter_kernel_is_guarded():
    """Started as nbval and JupyterLab start kernels: a new process with this environment."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        reply = client.execute_interactive(PROBE, timeout=60, output_hook=_collect)
        assert reply["content"]["status"] == "ok", reply["content"]
        assert "".join(_collect.text).strip() == EXPECTED
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _collect(message):
    if message["msg_type"] == "stream":
        _collect.text.append(message["content"]["text"])


_collect.text = []
