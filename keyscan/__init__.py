"""keyscan: a secret scanner for AI-era repositories.

Library use::

    from keyscan import ScanOptions, scan
    result = scan(ScanOptions(paths=("path/to/repo",)))
    for f in result.findings:
        print(f.path, f.start_line, f.rule_id, f.redacted)

Names are imported lazily so that ``keyscan --version`` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .models import Confidence, Finding, ScanOptions, ScanResult, Severity, SkippedFile

__all__ = [
    "__version__", "Confidence", "Finding", "ScanOptions", "ScanResult", "Severity",
    "SkippedFile", "scan",
]

_MODEL_NAMES = {"Confidence", "Finding", "ScanOptions", "ScanResult", "Severity", "SkippedFile"}


def scan(options: "ScanOptions") -> "ScanResult":
    """Scan what ``options`` names; see :func:`keyscan.api.scan`."""
    from .api import scan as _scan

    return _scan(options)


def __getattr__(name: str) -> Any:
    if name in _MODEL_NAMES:
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module 'keyscan' has no attribute {name!r}")
