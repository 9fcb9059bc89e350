"""keyscan: a secret scanner for AI-era repositories.

Library use::

    from keyscan import ScanOptions, scan
    result = scan(ScanOptions(paths=("path/to/repo",)))
    for f in result.findings:
        print(f.path, f.start_line, f.rule_id, f.redacted)
"""

from __future__ import annotations

from ._version import __version__
from .models import Confidence, Finding, ScanOptions, ScanResult, Severity, SkippedFile

__all__ = [
    "__version__", "Confidence", "Finding", "ScanOptions", "ScanResult", "Severity",
    "SkippedFile", "scan",
]


def scan(options: ScanOptions) -> ScanResult:
    """Scan what ``options`` names; see :func:`keyscan.api.scan`."""
    from .api import scan as _scan

    return _scan(options)
