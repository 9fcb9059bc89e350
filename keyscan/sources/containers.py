"""Files that hold other documents: SQLite databases and archives.

:func:`container_kind` recognises one from its first bytes (only content that
looks binary is asked, so text files never pay for it); :func:`expand` yields
its documents (cells, members) as :class:`SourceItem` objects with their bytes,
and :class:`SkippedFile` entries for what was refused or could not be read.
"""

from __future__ import annotations

from typing import Iterator, Optional, Union

from ..models import SkippedFile
from .archives import ArchiveLimits, archive_kind, members
from .interface import SourceItem
from .sqlite import SqliteLimits, cells, is_sidecar, is_sqlite, sidecar_strings


def container_kind(head: bytes, path: str = "") -> Optional[str]:
    """``sqlite``, ``sqlite-journal``, an archive kind (``zip``, ``tar``,
    ``gzip``, ``bz2``, ``xz``) or None.  A journal being written has a zeroed
    header: a binary ``*-journal``/``*-wal`` file is one too."""
    if is_sqlite(head):
        return "sqlite"
    if is_sidecar(head) or path.endswith(("-journal", "-wal")):
        return "sqlite-journal"
    return archive_kind(head)


def depth_of(item: SourceItem) -> int:
    """Archive nesting level of the archive ``item`` would be (1: a file on disk)."""
    return item.provenance.archive_depth + 1


def expand(item: SourceItem, kind: str, data: Optional[bytes] = None,
           archive_limits: ArchiveLimits = ArchiveLimits(),
           sqlite_limits: SqliteLimits = SqliteLimits()) -> Iterator[Union[SourceItem, SkippedFile]]:
    """The documents inside ``item`` (read from ``data`` when given, else from its file)."""
    fs_path = None if data is not None else (item.fs_path or item.path)
    props = item.provenance
    if kind == "sqlite":
        yield from cells(item.path, fs_path, data, props, sqlite_limits)
    elif kind == "sqlite-journal":
        yield from sidecar_strings(item.path, fs_path, data, props, sqlite_limits)
    else:
        yield from members(item.path, kind, fs_path, data, props, depth_of(item), archive_limits)
