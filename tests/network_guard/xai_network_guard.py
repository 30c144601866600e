"""Refuse every network connection and name lookup that does not stay on this machine.

Installed in the test process by the repository's ``conftest.py`` and, through
``sitecustomize.py`` in this folder (put on ``PYTHONPATH`` with ``XAI_NETWORK_GUARD=1``), in
every Python process the tests start: nbval's notebook kernels, the JupyterLab server and its
kernels in the browser test, and subprocesses. A test that reaches for the internet fails here
with :class:`NetworkBlocked` instead of passing on a connected laptop and failing offline.

Blocked for non-loopback addresses: ``socket.connect``, ``connect_ex``, ``sendto``,
``sendmsg`` and name resolution (``getaddrinfo``, ``gethostbyname(_ex)``). Unix sockets and
loopback (127.0.0.0/8, ::1, ``localhost``) stay allowed: Jupyter's kernels talk over them.
The check happens before any packet is sent.
"""
from __future__ import annotations

import ipaddress
import os
import socket

__all__ = ["NetworkBlocked", "install", "installed", "is_loopback"]

ENV_FLAG = "XAI_NETWORK_GUARD"


class NetworkBlocked(OSError):
    """A test (or a process it started) tried to use the network."""


def is_loopback(host) -> bool:
    """Whether ``host`` (an address string, a hostname or an (address, port, ...) tuple) stays
    on this machine. Only literal loopback addresses and ``localhost`` count."""
    if isinstance(host, tuple):
        host = host[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or host == "localhost":
        return True
    if not isinstance(host, str):
        return False
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _blocked(what: str, where) -> NetworkBlocked:
    return NetworkBlocked(f"tried to {what} {where!r}: tests run offline (network guard of "
                          "tests/network_guard; only loopback is allowed)")


def _is_internet(sock) -> bool:
    return sock.family in (socket.AF_INET, socket.AF_INET6)


def install() -> None:
    """Patch the socket module of this process (idempotent)."""
    if installed():
        return
    real = {name: getattr(socket.socket, name)
            for name in ("connect", "connect_ex", "sendto", "sendmsg")}
    real_getaddrinfo, real_gethostbyname = socket.getaddrinfo, socket.gethostbyname
    real_gethostbyname_ex = socket.gethostbyname_ex

    def connect(sock, address):
        if _is_internet(sock) and not is_loopback(address):
            raise _blocked("connect to", address)
        return real["connect"](sock, address)

    def connect_ex(sock, address):
        if _is_internet(sock) and not is_loopback(address):
            raise _blocked("connect to", address)
        return real["connect_ex"](sock, address)

    def sendto(sock, data, *args):
        address = args[-1]
        if _is_internet(sock) and not is_loopback(address):
            raise _blocked("send to", address)
        return real["sendto"](sock, data, *args)

    def sendmsg(sock, buffers, *args):
        address = args[2] if len(args) >= 3 else None
        if _is_internet(sock) and address is not None and not is_loopback(address):
            raise _blocked("send to", address)
        return real["sendmsg"](sock, buffers, *args)

    def getaddrinfo(host, *args, **kwargs):
        if not is_loopback(host):
            raise _blocked("resolve", host)
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host):
        if not is_loopback(host):
            raise _blocked("resolve", host)
        return real_gethostbyname(host)

    def gethostbyname_ex(host):
        if not is_loopback(host):
            raise _blocked("resolve", host)
        return real_gethostbyname_ex(host)

    for name, function in [("connect", connect), ("connect_ex", connect_ex),
                           ("sendto", sendto), ("sendmsg", sendmsg)]:
        function._xai_network_guard = True
        setattr(socket.socket, name, function)
    for name, function in [("getaddrinfo", getaddrinfo), ("gethostbyname", gethostbyname),
                           ("gethostbyname_ex", gethostbyname_ex)]:
        function._xai_network_guard = True
        setattr(socket, name, function)


def installed() -> bool:
    """Whether this process's sockets are guarded."""
    return getattr(socket.socket.connect, "_xai_network_guard", False)


def environment(base: dict | None = None) -> dict:
    """``base`` (default: ``os.environ``) plus what makes child Python processes guard
    themselves: ``XAI_NETWORK_GUARD=1`` and this folder first on ``PYTHONPATH``."""
    env = dict(os.environ if base is None else base)
    here = os.path.dirname(os.path.abspath(__file__))
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != here]
    env["PYTHONPATH"] = os.pathsep.join([here, *paths])
    env[ENV_FLAG] = "1"
    return env
