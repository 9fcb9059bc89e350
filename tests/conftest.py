import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Keep the compiled-rules cache out of the user's home during tests."""
    os.environ["KEYSCAN_CACHE_DIR"] = str(tmp_path_factory.mktemp("keyscan-cache"))
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
