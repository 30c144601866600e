"""Loaded by pytest before anything else (unit tests and the notebooks run by nbval alike).

It installs the network guard (``tests/network_guard``) in this process and exports what makes
every Python process the tests start guard itself too: notebook kernels, JupyterLab and its
kernels, subprocesses. Tests run offline; one that reaches for the internet fails.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "tests" / "network_guard"))

import xai_network_guard  # noqa: E402

os.environ.update(xai_network_guard.environment())
xai_network_guard.install()

# Measured batch sizes are not read from or written to the user cache folder while testing:
# every test (and notebook kernel) measures for itself; tests of the cache point it elsewhere.
os.environ["XAI_CACHE_DIR"] = "off"
