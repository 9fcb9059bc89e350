"""Reading one large file in chunks, in bounded memory (no scanning here:
:func:`keyscan.pipeline.scan_chunked` scans what :func:`chunks` reads).

A file larger than the chunk size is read ``chunk_size`` bytes at a time.
Each chunk is scanned as its own document whose line numbers (and, when a
chunk starts in the middle of a very long line, columns) continue those of the
file.  Consecutive chunks overlap by at least ``overlap`` bytes, and the next
chunk starts at a line start inside that overlap whenever there is one:

* a finding that starts before the next chunk's start belongs to this chunk
  (it lies wholly inside it as long as it is shorter than the overlap);
* a finding that starts at or after it is left to the next chunk, which holds
  it whole, so a secret across a chunk boundary is found exactly once, never
  truncated.

Memory is bounded by the chunk size (plus what the pipeline needs per chunk),
whatever the size of the file.  Standard input is read the same way
(:func:`read_chunks`, forward only), so piping a file gives the findings,
lines and columns of scanning it.
"""

from __future__ import annotations

from typing import Iterator, Optional, Protocol

from ..models import Provenance
from .document import Document

CHUNK_SIZE = 8 * 1024 * 1024
MAX_OVERLAP = 256 * 1024
"""Longer than any rule window (the longest, JWT, reaches 24,000 characters)."""


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


def overlap_for(chunk_size: int) -> int:
    return min(MAX_OVERLAP, max(1, chunk_size // 4))


def split_ranges(fs_path: str, size: int, parts: int) -> list[tuple[int, int]]:
    """Up to ``parts`` byte ranges of about equal size, each starting at a line
    start (a boundary with no newline within 1 MB after it is dropped)."""
    bounds = [0]
    with open(fs_path, "rb") as fh:
        for i in range(1, parts):
            at = max(size * i // parts, bounds[-1] + 1)
            fh.seek(at)
            nl = fh.read(1 << 20).find(b"\n")
            if nl != -1 and at + nl + 1 < size:
                bounds.append(at + nl + 1)
    return [(a, b) for a, b in zip(bounds, bounds[1:] + [-1])]


def _newlines_before(fh, start: int) -> int:
    count = done = 0
    fh.seek(0)
    while done < start:
        block = fh.read(min(8 << 20, start - done))
        if not block:
            break
        count += block.count(b"\n")
        done += len(block)
    return count


def chunks(display: str, fs_path: str, chunk_size: int, overlap: int, provenance: Provenance,
           start: int = 0, stop: int = -1) -> Iterator[tuple[Document, Optional[tuple[int, int]]]]:
    """``(document, (line, column) from which findings belong to the next
    chunk or range, or None for "all of them")``."""
    with open(fs_path, "rb") as fh:
        line_base = 1 + (_newlines_before(fh, start) if start else 0)
        fh.seek(start)
        yield from read_chunks(fh, display, chunk_size, overlap, provenance, line_base=line_base,
                               offset=start, stop=stop)


def read_chunks(fh: Readable, display: str, chunk_size: int, overlap: int,
                provenance: Provenance, *, prefix: bytes = b"", line_base: int = 1,
                offset: int = 0, stop: int = -1) -> Iterator[tuple[Document, Optional[tuple[int, int]]]]:
    """:func:`chunks` of an open binary stream, read forward only (standard
    input): ``prefix`` holds bytes already read from it, ``offset`` is the
    stream position of its first byte and ``line_base`` that byte's line."""
    col_base = 0
    buf = prefix
    buf_off = offset  # stream offset of buf[0]
    while True:
        need = max(0, chunk_size - len(buf))
        block = fh.read(need) if need else b""
        buf += block
        eof = len(block) < need
        doc = Document(path=display, data=buf, provenance=provenance, col_offset=col_base,
                       line_map=range(line_base, line_base + buf.count(b"\n") + 1))
        limit = stop - buf_off if stop >= 0 else -1  # where the range ends in buf
        if eof or (limit >= 0 and len(buf) >= limit + overlap):
            own = None
            if 0 <= limit < len(buf):
                own = _position(buf, limit, line_base, col_base)
            yield doc, own
            return
        nxt = _next_start(buf, overlap)
        yield doc, _position(buf, nxt, line_base, col_base)
        consumed = buf[:nxt]
        newlines = consumed.count(b"\n")
        line_base += newlines
        if consumed.endswith(b"\n"):
            col_base = 0
        else:  # mid-line: the next chunk's first line continues this one
            chars = len(consumed[consumed.rfind(b"\n") + 1:].decode("utf-8", "replace"))
            col_base = chars if newlines else col_base + chars
        buf_off += nxt
        buf = buf[nxt:]


def _position(buf: bytes, offset: int, line_base: int, col_base: int) -> tuple[int, int]:
    """The file ``(line, column)`` of byte ``offset`` of a chunk (a character
    boundary), as ``Document.position`` reports it, without building the
    chunk's text and line index (most chunks never need them)."""
    nl = buf.rfind(b"\n", 0, offset)
    col = len(buf[nl + 1:offset].decode("utf-8", "replace")) + 1
    return line_base + buf.count(b"\n", 0, offset), col + (col_base if nl == -1 else 0)


def _next_start(buf: bytes, overlap: int) -> int:
    """A line start at or before ``len(buf) - overlap`` (or a UTF-8 character
    boundary there, inside a line longer than the overlap); always > 0."""
    limit = max(1, len(buf) - overlap)
    nl = buf.rfind(b"\n", 0, limit)
    if nl >= 0 and limit - (nl + 1) <= overlap:
        return nl + 1
    pos = limit
    while pos > 1 and (buf[pos] & 0xC0) == 0x80:  # never split a UTF-8 sequence
        pos -= 1
    return pos
