"""What every source yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..models import Provenance


@dataclass(frozen=True)
class SourceItem:
    """One thing to scan.

    ``path`` is the path shown in reports; the content comes from ``fs_path``
    on disk or, for stdin and git blobs, from ``data``.
    """

    path: str
    size: int
    fs_path: Optional[str] = None
    data: Optional[bytes] = field(default=None, repr=False)
    provenance: Provenance = Provenance()
    """Where the item comes from beyond its path (archive member, database cell, commit...)."""
    start: int = 0
    """Byte range ``[start, stop)`` of a large file split across workers
    (``start`` is a line start; ``stop`` -1 means to the end)."""
    stop: int = -1
