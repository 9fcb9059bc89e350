"""Standard input as a source (``-`` on the command line).

A pipe cannot be read twice or in byte ranges: input that fits in one chunk,
or that must be decoded whole (binary, UTF-16/32), is read into one item;
larger text is handed over as the bytes read so far plus the stream, and the
pipeline scans it chunk by chunk (:func:`keyscan.pipeline.document.scan_stream`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import BinaryIO, Optional

from ..documents.document import WIDE_BOMS, sniff_binary
from .interface import SourceItem


@dataclass(frozen=True)
class StdinInput:
    """``data``: the whole input; or ``prefix`` and the ``stream`` to read on."""

    data: Optional[bytes] = None
    prefix: bytes = b""
    stream: Optional[BinaryIO] = None


def read_stdin(chunk_size: int, stream: Optional[BinaryIO] = None) -> StdinInput:
    """Read standard input whole when it fits in ``chunk_size`` (0: always) or
    is not UTF-8-compatible text; else stop after the first chunk."""
    stream = stream if stream is not None else sys.stdin.buffer
    head = stream.read(chunk_size) if chunk_size > 0 else stream.read()
    more = stream.read(1) if chunk_size > 0 and len(head) == chunk_size else b""
    if not more or sniff_binary(head[:8192]) or head.startswith(WIDE_BOMS):
        return StdinInput(data=head + more + (stream.read() if more else b""))
    return StdinInput(prefix=head + more, stream=stream)


def stdin_item(name: str, data: Optional[bytes] = None) -> SourceItem:
    """The item for standard input (``data`` when it was already read)."""
    if data is None:
        data = read_stdin(0).data or b""
    return SourceItem(path=name, size=len(data), data=data)
