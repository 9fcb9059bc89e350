import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Keep the compiled-rules cache out of the user's home during tests. The
    xdist workers of one run share it: the first compiles the built-in rules
    (seconds) under a lock, the others then load them from the cache."""
    import fcntl

    from keyscan.api import build_engine
    from keyscan.models import ScanOptions

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache_dir = shared / "keyscan-cache"
    os.environ["KEYSCAN_CACHE_DIR"] = str(cache_dir)
    with open(shared / "keyscan-cache.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build_engine(ScanOptions())
    yield


@pytest.fixture(scope="session")
def engine():
    from keyscan.api import build_engine
    from keyscan.models import ScanOptions

    return build_engine(ScanOptions())


def run_keyscan(*args, input=None, cwd=None, env=None):
    """Run the real CLI in a subprocess; returns CompletedProcess (text)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "keyscan", *args],
        input=input, capture_output=True, text=True, cwd=cwd or ROOT, env=full_env, timeout=300,
    )


def default_sigint() -> None:
    """Popen preexec_fn: the child takes SIGINT's default action even when the
    test run itself was started in the background (shells ignore SIGINT there,
    and children inherit that, so an interrupt test would hang)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
