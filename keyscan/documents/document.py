"""One scannable text and its on-disk coordinates."""

from __future__ import annotations

import bisect
import codecs
import functools
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, TypeVar

from ..models import Provenance

T = TypeVar("T")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
WIDE_BOMS = tuple(bom for bom, _ in _BOMS)
"""Byte-order marks of the UTF-16/32 files read by :func:`read_document`."""


@dataclass
class Document:
    """A file's content as text.

    ``data`` is the UTF-8 encoding of ``text`` (for UTF-8 files it is the raw
    file content, so most files are never decoded unless a keyword hits).
    Offsets everywhere are character offsets into ``text``; lines and columns
    are 1-based and count ``\\n`` as stored on disk.
    """

    path: str
    data: bytes
    errors: str = "replace"
    provenance: Provenance = Provenance()
    """Where the document comes from beyond its path (commit, archive member, database cell...)."""
    line_map: Optional[Sequence[int]] = None
    """For partial documents (lines added by a git diff, a chunk of a large
    file): the real file line of each document line, so positions are
    reported as in the file."""
    col_offset: int = 0
    """Characters before the document's first line on that line of the file
    (a chunk that starts in the middle of a very long line)."""
    decode_depth: int = 3
    """Encoding layers (base64, hex, URL) decoded inside one another (the scan's ``decode_depth``)."""
    _text: Optional[str] = field(default=None, repr=False)
    _line_starts: Optional[list[int]] = field(default=None, repr=False)
    _known: frozenset[bytes] = field(default=frozenset(), repr=False)
    _found: dict[bytes, list[int]] = field(default_factory=dict, repr=False)
    _located: frozenset[bytes] = field(default=frozenset(), repr=False)
    _memo: dict = field(default_factory=dict, repr=False)
    failures: list[str] = field(default_factory=list, repr=False)
    """What went wrong while scanning this document (a decoder that failed,
    a rule that timed out): reported as a partial scan of the file."""

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """Per-document state of a decoder (a parsed structure, an index),
        built once and dropped with the document: decoders themselves are
        stateless and may be shared by threads."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = build()
            return value

    def memoized(self, key: str):
        """The value :meth:`memo` holds for ``key``, or None."""
        return self._memo.get(key)

    def has(self, literal: bytes) -> bool:
        """Whether ``data`` contains ``literal``.  The engine's raw scan answers
        this for its trigger literals (see :meth:`record_triggers`) in the same
        native pass that finds keywords; anything else is a substring search."""
        if literal in self._known:
            return literal in self._found
        return literal in self.data

    def ends(self, literal: bytes) -> Optional[list[int]]:
        """Byte offsets where each occurrence of ``literal`` in ``data`` ends
        (ascending), when the raw scan located it; None when it did not."""
        if literal not in self._located:
            return None
        return self._found.get(literal, [])

    def record_triggers(self, known: frozenset[bytes], found: "dict[bytes, list[int]]",
                        located: frozenset[bytes] = frozenset()) -> None:
        self._known, self._found, self._located = known, found, located

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.data.decode("utf-8", self.errors)
        return self._text

    @functools.cached_property
    def suffix(self) -> str:
        """Lower-case extension of the file name (``.json``), or ``""``.
        Every decoder's ``wants`` asks for it: computed once."""
        name = self.path.rsplit("/", 1)[-1]
        return name[name.rfind("."):].lower() if "." in name else ""

    @property
    def name(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]

    def _starts(self) -> list[int]:
        if self._line_starts is None:
            text = self.text
            starts = [0]
            find = text.find
            pos = find("\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = find("\n", pos + 1)
            self._line_starts = starts
        return self._line_starts

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        starts = self._starts()
        line = bisect.bisect_right(starts, offset) - 1
        col = offset - starts[line] + 1
        if line == 0:
            col += self.col_offset
        if self.line_map is not None and line < len(self.line_map):
            return self.line_map[line], col
        return line + 1, col

    def line_text(self, line: int) -> str:
        """Text of a line, numbered as :meth:`position` numbers it."""
        if self.line_map is not None:
            try:
                line = self.line_map.index(line) + 1  # a list, or a range (O(1))
            except ValueError:
                return ""
        starts = self._starts()
        if not 1 <= line <= len(starts):
            return ""
        start = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[start:end]

    @property
    def line_count(self) -> int:
        return len(self._starts())


def sniff_binary(head: bytes) -> bool:
    """True when the content looks binary (a NUL byte and no UTF-16/32 BOM)."""
    if head.startswith(WIDE_BOMS):
        return False
    return b"\x00" in head


def read_document(path: str, raw: bytes, provenance: Provenance = Provenance()) -> Document:
    """Build a :class:`Document` from raw bytes, decoding UTF-16/32 when a BOM says so."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            text = raw[len(bom):].decode(encoding, "replace")
            return Document(path, text.encode("utf-8", "surrogatepass"), "surrogatepass",
                            provenance, _text=text)
    return Document(path, raw, "replace", provenance)
