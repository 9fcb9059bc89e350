"""The decoder interface.

A decoder looks at a :class:`~keyscan.documents.Document` and yields
:class:`Fragment` objects: decoded text plus a map from every fragment offset
to the document offset it came from.  The raw document text itself is always
scanned by the pipeline; decoders only add what flat text would miss.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Protocol

from ..documents import Document


@dataclass(frozen=True)
class Segment:
    """A run of fragment text ``[frag_start, frag_start + length)`` that came
    from the document starting at ``doc_start``.

    ``steps`` lists ``(frag_offset, doc_offset)`` pairs where the mapping jumps
    (after an escape sequence or a removed ANSI code); between steps the
    mapping advances one to one.  ``collapsed`` segments (decoded base64, URL
    decoding) map every offset to the encoded span ``[doc_start, doc_end)``.
    """

    frag_start: int
    length: int
    doc_start: int
    steps: tuple[tuple[int, int], ...] = ()
    location: Optional[str] = None
    collapsed: bool = False
    doc_end: int = -1

    def to_doc(self, i: int, *, end: bool = False) -> int:
        if self.collapsed:
            return self.doc_end if end else self.doc_start
        if self.steps:
            k = bisect.bisect_right(self.steps, (i, float("inf"))) - 1
            if k >= 0:
                f, d = self.steps[k]
                return d + (i - f)
        return self.doc_start + (i - self.frag_start)


@dataclass
class Fragment:
    """Decoded text from one document, made of segments in order."""

    text: str
    decoder: str
    segments: list[Segment] = field(default_factory=list)
    depth: int = 1
    build: Optional[Callable[[], list[Segment]]] = field(default=None, repr=False)
    """Builds ``segments`` on first use: most fragments never hold a finding,
    so a decoder can produce its text cheaply and defer the offset map."""
    _starts: Optional[list[int]] = field(default=None, repr=False)

    def _built(self) -> list[Segment]:
        if self.build is not None:
            self.segments = self.build()
            self.build = None
        return self.segments

    def _segment(self, i: int) -> Segment:
        if self._starts is None:
            self._starts = [s.frag_start for s in self._built()]
        k = max(bisect.bisect_right(self._starts, i) - 1, 0)
        return self.segments[k]

    def to_doc(self, i: int) -> int:
        """Document offset of fragment offset ``i`` (start of a match)."""
        seg = self._segment(i)
        stop = seg.frag_start + seg.length
        if i > stop and not seg.collapsed:
            # glue text after a segment (separators) maps to just after it, never
            # extrapolated past the segment's source (or the document's end)
            i = stop
        return seg.to_doc(i)

    def to_doc_end(self, end: int) -> int:
        """Document offset just after fragment offset ``end - 1``."""
        seg = self._segment(end - 1)
        if seg.collapsed:
            return seg.to_doc(end - 1, end=True)
        stop = seg.frag_start + seg.length
        if end > stop:
            return seg.to_doc(stop)
        return seg.to_doc(end - 1) + 1

    def location_at(self, i: int) -> Optional[str]:
        return self._segment(i).location if self._built() else None


class Decoder(Protocol):
    """A decoder may also declare, as class attributes, ``triggers``: byte
    literals it tests with :meth:`Document.has` (the engine's raw scan answers
    them in the same native pass that finds keywords), and ``located``: those
    of its triggers whose every occurrence it wants (:meth:`Document.ends`)."""

    name: str

    def wants(self, doc: Document) -> bool:
        """Cheap test (file name, first bytes) whether this decoder applies."""
        ...

    def fragments(self, doc: Document) -> Iterable[Fragment]:
        """Decoded fragments of ``doc``. Must never raise on malformed input."""
        ...

    def locate(self, doc: Document, offset: int) -> Optional[str]:
        """Logical location (JSON path, notebook cell...) of a raw document offset."""
        ...
