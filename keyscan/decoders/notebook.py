"""Jupyter notebooks (``.ipynb``, nbformat 4).

Built on :mod:`keyscan.decoders.jsonscan`.  The decoder emits one fragment per
notebook holding the *logical* texts Jupyter shows, each mapped exactly back to
the raw JSON:

* every cell's ``source`` (a list of lines, or one string) concatenated into
  the cell text, so a key or a PEM block split over several source lines is
  matched once and reported at the raw line where it starts;
* every output's ``text`` (``stream``), ``data["text/..."]`` (``text/plain``,
  ``text/html``, ``text/markdown``...), ``traceback`` (frames joined by
  newlines, ANSI colour codes stripped — IPython colours every token, so a key
  in the source line shown by a traceback is glued to an escape code), and
  ``ename: evalue`` of errors;
* for ``%env NAME value`` / ``%set_env NAME value`` magics an extra
  ``NAME=value`` line (the name mapped to the raw name, the value to the raw
  value) so name + entropy rules see an assignment.

``image/*`` payloads, other binary MIME bundles, cell ``attachments`` and
notebook ``metadata`` are never decoded (the raw scan still sees the file).

Locations are 1-based, in notebook order: ``cell 4 (code)``,
``cell 4 (code), output 2``, ``cell 2 (markdown)``; :meth:`NotebookDecoder.locate`
gives the same for raw hits.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import Iterable, Optional

from ..documents import Document
from .interface import Fragment, Segment
from .jsonscan import JsonString, OffsetMap, iter_strings

_ANSI = re.compile(r"\x1b\[[0-?]{0,32}[ -/]{0,4}[@-~]|\x1b\][^\x07\x1b\n]{0,512}(?:\x07|\x1b\\)"
                   r"|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
_MAGIC_ENV = re.compile(
    r"(?m)^[ \t]*%(?:set_env|env)[ \t]+(?P<name>[A-Za-z_][A-Za-z0-9_]*)[ \t]+(?P<value>[^\s=][^\n]*?)[ \t\r]*$"
)
_SEP = "\n\n"


class _Output:
    __slots__ = ("kind", "fields")

    def __init__(self) -> None:
        self.kind = ""
        # field name ("text", "text/plain", "traceback", "ename", "evalue") -> strings
        self.fields: dict[str, list[JsonString]] = {}


class _Cell:
    __slots__ = ("kind", "source", "outputs")

    def __init__(self) -> None:
        self.kind = ""
        self.source: list[JsonString] = []
        self.outputs: dict[int, _Output] = {}


class _Parsed:
    def __init__(self) -> None:
        self.cells: dict[int, _Cell] = {}
        # raw spans of every string under cells[i], with the cell / output it belongs to
        self.spans: list[tuple[int, int, int, Optional[int]]] = []
        self._starts: Optional[list[int]] = None

    def cell_location(self, ci: int, oi: Optional[int] = None) -> str:
        cell = self.cells.get(ci)
        kind = cell.kind if cell is not None and cell.kind else "unknown"
        loc = f"cell {ci + 1} ({kind})"
        return loc if oi is None else f"{loc}, output {oi + 1}"

    def locate(self, offset: int) -> Optional[str]:
        if self._starts is None:
            self.spans.sort()
            self._starts = [s[0] for s in self.spans]
        k = bisect.bisect_right(self._starts, offset) - 1
        if k < 0:
            return None
        start, end, ci, oi = self.spans[k]
        if start <= offset <= end:
            return self.cell_location(ci, oi)
        return None


def _parse(text: str) -> _Parsed:
    nb = _Parsed()
    cells = nb.cells
    spans = nb.spans
    for s in iter_strings(text):
        path = s.path
        if len(path) < 3 or path[0] != "cells" or not isinstance(path[1], int) or s.doc_index:
            continue
        ci = path[1]
        cell = cells.get(ci)
        if cell is None:
            cell = cells[ci] = _Cell()
        field = path[2]
        oi: Optional[int] = None
        if field == "outputs" and len(path) >= 5 and isinstance(path[3], int):
            oi = path[3]
        spans.append((s.raw_start, s.raw_end, ci, oi))
        if s.is_key:
            continue
        if field == "source" and (len(path) == 3 or len(path) == 4 and isinstance(path[3], int)):
            cell.source.append(s)
        elif field == "cell_type" and len(path) == 3:
            cell.kind = s.value
        elif oi is not None:
            out = cell.outputs.get(oi)
            if out is None:
                out = cell.outputs[oi] = _Output()
            name = path[4]
            rest = path[5:]
            if name == "output_type" and not rest:
                out.kind = s.value
            elif name in ("text", "traceback") and (not rest or len(rest) == 1 and isinstance(rest[0], int)):
                out.fields.setdefault(name, []).append(s)
            elif name in ("ename", "evalue") and not rest:
                out.fields.setdefault(name, []).append(s)
            elif name == "data" and rest and isinstance(rest[0], str) and _text_mime(rest[0]) \
                    and (len(rest) == 1 or len(rest) == 2 and isinstance(rest[1], int)):
                out.fields.setdefault(rest[0], []).append(s)
    return nb


class _Value:
    """A string of the fast path: its value only (raw offsets come from the slow path)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list) -> dict:
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _DuplicateKey  # the tokenizer would see both values: let it decide
    return d


def _parse_fast(text: str) -> Optional[_Parsed]:
    """The notebook's texts from the native JSON parser, or None when the input
    is not strict JSON (comments, trailing commas, duplicate keys, several
    documents): :func:`_parse` handles those.  Mirrors :func:`_parse` exactly
    for the strings the fragment text is built from."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError):
        return None
    nb = _Parsed()
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        return nb
    for ci, raw in enumerate(cells):
        if not isinstance(raw, dict) or not raw:
            continue
        cell = nb.cells[ci] = _Cell()
        kind = raw.get("cell_type")
        if isinstance(kind, str):
            cell.kind = kind
        cell.source = _strings(raw.get("source"))
        outputs = raw.get("outputs")
        if not isinstance(outputs, list):
            continue
        for oi, rout in enumerate(outputs):
            if not isinstance(rout, dict) or not rout:
                continue
            out = cell.outputs[oi] = _Output()
            for name, value in rout.items():
                if name in ("text", "traceback"):
                    strings = _strings(value)
                elif name in ("ename", "evalue"):
                    strings = [_Value(value)] if isinstance(value, str) else []
                elif name == "data" and isinstance(value, dict):
                    for mime, v in value.items():
                        if _text_mime(mime):
                            strings = _strings(v)
                            if strings:
                                out.fields.setdefault(mime, []).extend(strings)
                    continue
                else:
                    continue
                if strings:
                    out.fields.setdefault(name, []).extend(strings)
    return nb


def _strings(value: object) -> list:
    """A string, or the strings of a list (the two shapes nbformat allows)."""
    if isinstance(value, str):
        return [_Value(value)]
    if isinstance(value, list):
        return [_Value(v) for v in value if isinstance(v, str)]
    return []


def _text_mime(mime: str) -> bool:
    return mime.startswith("text/") or mime in ("application/javascript", "application/x-latex")


class _Builder:
    """Accumulates the fragment text and its segments (or, with ``text_only``,
    just the text: the fast path, whose strings carry no raw offsets)."""

    def __init__(self, text_only: bool = False) -> None:
        self.parts: list[str] = []
        self.segments: list[Segment] = []
        self.length = 0
        self.text_only = text_only
        self.has_content = False

    def add_string(self, s: "JsonString | _Value", location: str, strip_ansi: bool = False) -> None:
        value = s.value
        if not value:
            return
        if self.text_only:
            if strip_ansi and "\x1b" in value:
                value = _ANSI.sub("", value)
                if not value:
                    return
            self.parts.append(value)
            self.length += len(value)
            self.has_content = True
            return
        assert isinstance(s, JsonString)  # a _Value only on the text-only fast path
        if strip_ansi and "\x1b" in value:
            stripped, steps = _strip_ansi(value)
            if not stripped:
                return
            m = OffsetMap(steps).compose(s.offset_map())
            st = m.steps
            self.segments.append(Segment(self.length, len(stripped), st[0][1],
                                         tuple((self.length + i, r) for i, r in st[1:]), location))
            self.parts.append(stripped)
            self.length += len(stripped)
            return
        self.segments.extend(s.segments(self.length, location))
        self.parts.append(value)
        self.length += len(value)

    def add_text(self, text: str) -> None:
        """Glue text (separators); maps to wherever the previous segment ends."""
        if self.has_content if self.text_only else self.segments:
            self.parts.append(text)
            self.length += len(text)

    def copy_range(self, a: int, b: int, text: str) -> None:
        """Append fragment text ``[a, b)`` (which is ``text``) again, with the same
        document mapping."""
        if self.text_only:
            self.parts.append(text)
            self.length += len(text)
            return
        segs = self.segments
        starts = [sg.frag_start for sg in segs]
        new = self.length
        k = max(bisect.bisect_right(starts, a) - 1, 0)
        added: list[Segment] = []
        while k < len(segs) and segs[k].frag_start < b:
            sg = segs[k]
            lo, hi = max(a, sg.frag_start), min(b, sg.frag_start + sg.length)
            if hi > lo:
                shift = new - a
                added.append(Segment(lo + shift, hi - lo, sg.to_doc(lo),
                                     tuple((f + shift, d) for f, d in sg.steps if lo < f < hi),
                                     sg.location))
            k += 1
        self.segments.extend(added)
        self.parts.append(text)
        self.length += len(text)

    def fragment(self) -> Optional[Fragment]:
        if not self.segments:
            return None
        return Fragment("".join(self.parts), NotebookDecoder.name, self.segments)

    def text(self) -> Optional[str]:
        return "".join(self.parts) if self.has_content else None


def _strip_ansi(value: str) -> tuple[str, list[tuple[int, int]]]:
    parts: list[str] = []
    steps: list[tuple[int, int]] = []
    pos = n = 0
    for m in _ANSI.finditer(value):
        s, e = m.span()
        if s > pos:
            parts.append(value[pos:s])
            steps.append((n, pos))
            n += s - pos
        pos = e
    if pos < len(value):
        parts.append(value[pos:])
        steps.append((n, pos))
    if not steps:
        steps = [(0, len(value))]
    return "".join(parts), steps


_FIELD_ORDER = ("text", "text/plain", "text/markdown", "text/html", "text/latex",
                "ename", "evalue", "traceback")


class NotebookDecoder:
    name = "notebook"

    def wants(self, doc: Document) -> bool:
        return doc.suffix == ".ipynb"

    def _parse(self, doc: Document) -> _Parsed:
        return doc.memo("notebook.parsed", lambda: _parse(doc.text))

    def locate(self, doc: Document, offset: int) -> Optional[str]:
        return self._parse(doc).locate(offset)

    def fragments(self, doc: Document) -> Iterable[Fragment]:
        fast = _parse_fast(doc.text)
        if fast is not None:
            # Text from the native parser; the exact map from the tokenizer,
            # only if a finding needs it.
            text = _build(fast, text_only=True).text() if fast.cells else None
            if not text:
                return []
            return [Fragment(text, self.name, build=lambda: self._segments(doc, text))]
        nb = self._parse(doc)
        if nb is None or not nb.cells:
            return []
        frag = _build(nb).fragment()
        return [frag] if frag is not None else []

    def _segments(self, doc: Document, text: str) -> list[Segment]:
        nb = self._parse(doc)
        frag = _build(nb).fragment() if nb is not None else None
        if frag is None:  # pragma: no cover - the parsers disagree (tested never to happen)
            return [Segment(0, len(text), 0, collapsed=True, doc_end=len(doc.text))]
        return frag.segments


def _build(nb: _Parsed, text_only: bool = False) -> _Builder:
    b = _Builder(text_only)
    for ci in sorted(nb.cells):
        cell = nb.cells[ci]
        loc = nb.cell_location(ci)
        if cell.source:
            start = b.length
            for s in cell.source:
                b.add_string(s, loc)
            src = "".join(s.value for s in cell.source)
            b.add_text(_SEP)
            if "%" in src and b.length - start == len(src) + len(_SEP):
                _magics(b, src, start)
        for oi in sorted(cell.outputs):
            out = cell.outputs[oi]
            oloc = nb.cell_location(ci, oi)
            fields = sorted(out.fields, key=lambda f: (_FIELD_ORDER.index(f)
                                                        if f in _FIELD_ORDER else len(_FIELD_ORDER), f))
            for fname in fields:
                strings = out.fields[fname]
                if fname == "ename" and "evalue" in out.fields:
                    b.add_string(strings[0], oloc)
                    b.add_text(": ")
                    continue
                for i, s in enumerate(strings):
                    if fname == "traceback" and i:
                        b.add_text("\n")
                    b.add_string(s, oloc, strip_ansi=True)
                b.add_text(_SEP)
    return b


def _magics(b: _Builder, src: str, start: int) -> None:
    """``%env NAME value`` -> an extra ``NAME=value`` line mapped to the raw name and value.
    ``src`` is the cell source, found in the fragment at offset ``start``."""
    for m in _MAGIC_ENV.finditer(src):
        b.copy_range(start + m.start("name"), start + m.end("name"), m.group("name"))
        b.add_text("=")
        b.copy_range(start + m.start("value"), start + m.end("value"), m.group("value"))
        b.add_text("\n")


DECODER = NotebookDecoder()
