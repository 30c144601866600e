"""Started with every Python process whose PYTHONPATH holds this folder (the tests put it there):
with XAI_NETWORK_GUARD=1 the process refuses non-loopback network access (see
xai_network_guard.py). Without the flag it does nothing."""
import os

if os.environ.get("XAI_NETWORK_GUARD") == "1":
    import xai_network_guard

    xai_network_guard.install()
