"""Archives as a source: zip family, tar, gzip/bzip2/xz, read in memory.

Recognised by content, never by name: ``PK\\x03\\x04`` (``.zip``, ``.mcpb``,
``.whl``, ``.jar``, ``.vsix``, ``.docx``/``.xlsx``...), a tar header
(``ustar`` at offset 257), gzip, bzip2 and xz streams (a compressed tar, or
one compressed file).  Each member is yielded as a :class:`SourceItem` with
its bytes and the path ``outer!member`` (``dist/tool.mcpb!manifest.json``), so
it goes through the normal pipeline: a member that is itself an archive or a
SQLite database is expanded in turn, to a bounded depth.

Nothing is ever written to disk, so member names (``../../etc/passwd``,
absolute paths, links) are only labels.  Bombs are refused with a reason
(:class:`ArchiveLimits`): compression ratio, member count, bytes per member,
bytes per archive, nesting depth.  Every read is bounded by those limits
whatever the headers claim.  A damaged archive is skipped with its reason.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, replace
from typing import IO, BinaryIO, Iterator, Literal, Optional, Union, cast

from ..models import Provenance, SkippedFile
from .containers import archive_kind
from .interface import SourceItem


@dataclass(frozen=True)
class ArchiveLimits:
    max_depth: int = 3
    """Archives inside archives, counting the outermost as 1."""
    max_members: int = 10_000
    max_member: int = 64 * 1024 * 1024
    """Uncompressed bytes of one member."""
    max_total: int = 512 * 1024 * 1024
    """Uncompressed bytes of one archive (its members, nested ones included)."""
    max_ratio: int = 200
    """Uncompressed / compressed size above which a member (or stream) is a bomb."""
    ratio_floor: int = 1024 * 1024
    """Members smaller than this are never refused for their ratio."""


class _Refused(Exception):
    """A limit was reached: the reason is the message."""


def members(path: str, kind: str, fs_path: Optional[str] = None, data: Optional[bytes] = None,
            provenance: Provenance = Provenance(), depth: int = 1,
            limits: ArchiveLimits = ArchiveLimits()) -> Iterator[Union[SourceItem, SkippedFile]]:
    """The members of the archive at ``fs_path`` (or in ``data``), shown as
    ``path!member``; a :class:`SkippedFile` says what was refused or unreadable.
    ``depth`` is this archive's nesting level (1: a file on disk)."""
    if depth > limits.max_depth:
        yield SkippedFile(path, f"archive nested deeper than {limits.max_depth} levels (not opened)")
        return
    props = replace(provenance, archive_depth=depth)
    budget = [limits.max_total]
    import lzma  # the stdlib's archive modules load on first use: most scans meet no archive
    import tarfile
    import zipfile

    try:
        with _open(fs_path, data) as fh:
            if kind == "zip":
                yield from _zip(path, fh, props, limits, budget)
            elif kind == "tar":
                yield from _tar(path, fh, "r:", props, limits, budget)
            else:
                yield from _compressed(path, fh, kind, props, limits, budget)
    except _Refused as exc:
        yield SkippedFile(path, f"archive refused: {exc}")
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError, OSError, EOFError,
            ValueError, NotImplementedError, RuntimeError) as exc:
        # zipfile/tarfile messages name the problem (bad CRC, truncated...), not content.
        yield SkippedFile(path, f"damaged archive ({type(exc).__name__}: {str(exc)[:100]})")


def _open(fs_path: Optional[str], data: Optional[bytes]) -> BinaryIO:
    if data is not None:
        return io.BytesIO(data)
    return open(fs_path or "", "rb")


def _read(fh: IO[bytes], cap: int, budget: list[int], name: str, compressed: Optional[int],
          limits: ArchiveLimits) -> bytes:
    """At most ``cap`` bytes of a member stream; a bomb raises :class:`_Refused`."""
    out = bytearray()
    while True:
        block = fh.read(1 << 20)
        if not block:
            break
        out += block
        if len(out) > cap:
            raise _Refused(f"member {name} larger than {cap} bytes uncompressed")
        if len(out) > budget[0]:
            raise _Refused(f"more than {limits.max_total} bytes uncompressed in total")
        if compressed is not None and len(out) > limits.ratio_floor \
                and len(out) > limits.max_ratio * max(compressed, 1):
            raise _Refused(f"member {name}: compression ratio over {limits.max_ratio}:1")
    budget[0] -= len(out)
    return bytes(out)


def member_display(name: str) -> str:
    """A member name as shown after ``!``: no leading ``/``, no ``.``/``..``
    components, so a report consumer that normalises paths never resolves it
    outside the archive (the name as stored is kept in ``archive_member``)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "(unnamed)"


def _item(path: str, name: str, raw: bytes, props: Provenance) -> SourceItem:
    return SourceItem(path=f"{path}!{member_display(name)}", size=len(raw), data=raw,
                      provenance=replace(props, archive_member=name))


def _zip(path: str, fh: BinaryIO, props: Provenance, limits: ArchiveLimits,
         budget: list[int]) -> Iterator[Union[SourceItem, SkippedFile]]:
    import zipfile

    with zipfile.ZipFile(fh) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > limits.max_members:
            raise _Refused(f"{len(infos)} members, over the limit of {limits.max_members}")
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_total:
            raise _Refused(f"{declared} bytes uncompressed in total, over the limit of {limits.max_total}")
        for info in infos:
            name = info.filename
            if info.file_size > limits.max_member:
                raise _Refused(f"member {name} larger than {limits.max_member} bytes uncompressed")
            if info.file_size > limits.ratio_floor and \
                    info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise _Refused(f"member {name}: compression ratio over {limits.max_ratio}:1")
            if info.flag_bits & 0x1:
                yield SkippedFile(f"{path}!{name}", "encrypted archive member")
                continue
            with zf.open(info) as member:
                raw = _read(member, limits.max_member, budget, name, info.compress_size, limits)
            yield _item(path, name, raw, props)


def _tar(path: str, fh: BinaryIO, mode: str, props: Provenance, limits: ArchiveLimits,
         budget: list[int], compressed: Optional[int] = None) -> Iterator[Union[SourceItem, SkippedFile]]:
    count = 0
    # Stream mode ("r|"): members are read in order, nothing is seeked or extracted.
    stream = cast("Literal['r|*', 'r|', 'r|gz', 'r|bz2', 'r|xz']", mode.replace(":", "|"))
    import tarfile

    with tarfile.open(fileobj=fh, mode=stream) as tf:
        for info in tf:
            if not info.isfile():
                continue  # links, devices, directories: nothing to read, never followed
            count += 1
            if count > limits.max_members:
                raise _Refused(f"more than {limits.max_members} members")
            if info.size > limits.max_member:
                raise _Refused(f"member {info.name} larger than {limits.max_member} bytes")
            member = tf.extractfile(info)
            if member is None:
                continue
            raw = _read(member, limits.max_member, budget, info.name, None, limits)
            yield _item(path, info.name, raw, props)


_OPENERS = {"gzip": "gz", "bz2": "bz2", "xz": "xz"}


def _compressed(path: str, fh: BinaryIO, kind: str, props: Provenance, limits: ArchiveLimits,
                budget: list[int]) -> Iterator[Union[SourceItem, SkippedFile]]:
    """A compressed stream: a compressed tar, or one compressed file (shown as
    ``file.gz!file``)."""
    size = _size(fh)
    stream: BinaryIO
    if kind == "gzip":
        import gzip

        stream = gzip.GzipFile(fileobj=fh)  # type: ignore[assignment]
    elif kind == "bz2":
        import bz2

        stream = bz2.BZ2File(fh)  # type: ignore[assignment]
    else:
        import lzma

        stream = lzma.LZMAFile(fh)  # type: ignore[assignment]
    with stream:
        # The whole stream, bounded: small enough to be one member, or refused.
        raw = _read(stream, limits.max_total, budget, "(stream)", size, limits)
    if archive_kind(raw[:512]) == "tar":
        budget[0] += len(raw)  # counted again member by member
        yield from _tar(path, io.BytesIO(raw), "r:", props, limits, budget)
        return
    name = path.rsplit("/", 1)[-1].rsplit("!", 1)[-1]
    for ext in (".gz", ".bz2", ".xz"):
        if name.lower().endswith(ext):
            name = name[:-len(ext)]
            break
    if len(raw) > limits.max_member:
        raise _Refused(f"decompressed stream larger than {limits.max_member} bytes")
    yield _item(path, name or "(stream)", raw, props)


def _size(fh: BinaryIO) -> Optional[int]:
    try:
        pos = fh.tell()
        fh.seek(0, io.SEEK_END)
        end = fh.tell()
        fh.seek(pos)
        return end - pos
    except (OSError, ValueError):
        return None
