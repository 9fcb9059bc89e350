import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    """Robustness tests run in strict mode: a decoder exception propagates
    (keyscan.pipeline.scan_document), so a fuzzer can fail instead of the
    error being reported as a partly scanned file."""
    monkeypatch.setenv("KEYSCAN_STRICT", "1")
