"""Files that hold other documents: SQLite databases and archives.

:func:`container_kind` recognises one from its first bytes (only content that
looks binary is asked, so text files never pay for it); :func:`expand` yields
its documents (cells, members) as :class:`SourceItem` objects with their bytes,
and :class:`SkippedFile` entries for what was refused or could not be read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Optional, Union

from ..models import SkippedFile
from .interface import SourceItem

if TYPE_CHECKING:  # the readers load on first use (and the stdlib's tarfile, sqlite3 with them)
    from .archives import ArchiveLimits
    from .sqlite import SqliteLimits

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a file, or an empty archive
_GZIP = b"\x1f\x8b"
_BZ2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"
_TAR_MAGIC = (b"ustar\x00", b"ustar ")

_SQLITE = b"SQLite format 3\x00"
_SIDECARS = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83",  # -wal
             b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7")       # rollback -journal


def is_sqlite(head: bytes) -> bool:
    return head.startswith(_SQLITE)


def is_sidecar(head: bytes) -> bool:
    """A ``-wal`` or ``-journal`` file: pages not (yet, or no longer) in the database."""
    return head.startswith(_SIDECARS)


def archive_kind(head: bytes) -> Optional[str]:
    """``zip``, ``tar``, ``gzip``, ``bz2``, ``xz`` or None, from the first 512 bytes."""
    if head.startswith(_ZIP):
        return "zip"
    if head.startswith(_GZIP):
        return "gzip"
    if head.startswith(_BZ2) and head[3:4].isdigit():
        return "bz2"
    if head.startswith(_XZ):
        return "xz"
    if head[257:263] in _TAR_MAGIC:
        return "tar"
    return None


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
           archive_limits: "Optional[ArchiveLimits]" = None,
           sqlite_limits: "Optional[SqliteLimits]" = None) -> Iterator[Union[SourceItem, SkippedFile]]:
    """The documents inside ``item`` (read from ``data`` when given, else from its file;
    limits: the readers' defaults unless given)."""
    from .archives import ArchiveLimits, members
    from .sqlite import SqliteLimits, cells, sidecar_strings

    fs_path = None if data is not None else (item.fs_path or item.path)
    props = item.provenance
    if kind == "sqlite":
        yield from cells(item.path, fs_path, data, props, sqlite_limits or SqliteLimits())
    elif kind == "sqlite-journal":
        yield from sidecar_strings(item.path, fs_path, data, props, sqlite_limits or SqliteLimits())
    else:
        yield from members(item.path, kind, fs_path, data, props, depth_of(item), archive_limits or ArchiveLimits())
