"""The JSON / JSONL decoder.

Applies to ``.json``, ``.jsonl``, ``.ndjson``, ``.jsonc``, ``.json5``, ``.har``
(and a few other JSON suffixes), to Server-Sent-Events captures whose first
line is ``data: {...}`` / ``event: ...``, and to any file whose first
non-space byte is ``{`` or ``[``.  Notebooks (``.ipynb``) are left to the
notebook decoder.

The raw text is always scanned by the pipeline; this decoder adds, in one
fragment per document, lines of decoded text that flat text would miss:

* ``key: value`` for every object member whose key or string value contains
  an escape (``\\n``, ``\\"``, ``\\/``, ``\\u0026`` ...): the key characters map
  to the raw key literal and the value characters to the raw value literal,
  so generic (name + entropy) rules see ``OPENAI_API_KEY: sk-...`` and
  ``Authorization: Bearer ...`` even when escaped; strings with escapes in
  arrays or at top level are emitted decoded, without a name;
* ``name: value`` for sibling pairs such as HAR headers
  (``{"name": "x-api-key", "value": "..."}``) and OTLP attributes
  (``{"key": "http.request.header.authorization", "value": {"stringValue": "..."}}``);
* ``--flag value`` for split command-line flags in arrays (``["--api-key", "sk-..."]``);
* strings whose decoded value is itself JSON (tool-call ``arguments``, an env
  var holding ``{"Authorization": "Bearer ..."}``) are decoded again, up to
  :data:`MAX_DEPTH` levels, with composed offset maps so a key escaped twice is
  reported at its true on-disk line and column.

The location of a finding is the JSON path of the on-disk string literal that
holds it (``mcpServers.notion.env.OPENAPI_MCP_HEADERS``,
``messages[2].tool_calls[0].function.arguments``), for raw hits
(:meth:`JsonDecoder.locate`) and decoded ones alike.

Speed: string literals holding an escape are found by walking from the
backslashes (:func:`escaped_strings`) and name/value or flag pairs by regexes
with literal gates, so Python work is proportional to the escaped strings, not
to the tokens; the structural walk
that yields JSON paths (:func:`~keyscan.decoders.jsonscan.scan_literals`) runs
only when a location is asked for, i.e. when something matched.  Broken or
truncated input never raises and stays linear (a broken string is skipped to
the end of its line; paths stop growing past 256 nesting levels).

A key split across streaming deltas (SSE ``delta.content`` / ``partial_json``
chunks) is joined by :mod:`keyscan.decoders.streams`.
"""

from __future__ import annotations

import bisect
import re
from typing import Callable, Iterable, Iterator, Optional

from ..documents import Document
from .interface import Fragment, Segment
from .jsonscan import JsonString, OffsetMap, lines_with_backslash, looks_like_json, path_str, scan_literals

MAX_DEPTH = 4
SUFFIXES = frozenset({
    ".json", ".jsonl", ".ndjson", ".jsonc", ".json5", ".har", ".geojson",
    ".webmanifest", ".jsonld", ".sse",
})
EXCLUDED = frozenset({".ipynb"})
_SSE_START = (b"data:", b"event:", b"id:", b":")
_BOM = b"\xef\xbb\xbf"


def escaped_strings(text: str) -> Iterator[tuple[int, int]]:
    """Spans (quote to quote, inclusive) of the string literals that hold an escape.

    JSON strings never span lines, so every line starts outside a string, and
    only lines holding a backslash can hold an escaped string.  The walk starts
    at each backslash: whether it sits inside a string is the parity of the real
    quotes before it on its line (``str.count``, minus the escaped quotes already
    walked), and only strings that hold an escape are walked in Python.  Work is
    proportional to the backslashes, not to the text: a JSONL trace with one
    escaped string per line costs a few native searches per line.

    Broken input follows one rule: a string not closed on its line (or cut by a
    backslash at the end of the line) is skipped to the end of that line.
    """
    find, rfind, count = text.find, text.rfind, text.count
    for ls, le in lines_with_backslash(text):
        b = find("\\", ls, le)
        counted_to, quotes = ls, 0  # real quotes in [ls, counted_to)
        while b != -1:
            quotes += count('"', counted_to, b)
            counted_to = b
            if not quotes % 2:  # outside a string: a plain character
                b = find("\\", b + 1, le)
                continue
            qs = rfind('"', ls, b)  # the string's first escape: no escaped quote before it
            k = b
            while True:  # walk the string from an escape at k
                if k + 1 >= le:  # a backslash ending the line: a broken string
                    b = -1
                    break
                if text[k + 1] == '"':
                    quotes -= 1  # counted by the next count() but escaped
                k += 2
                q = find('"', k, le)
                nb = find("\\", k, q if q != -1 else le)
                if nb != -1:
                    k = nb
                    continue
                if q == -1:  # not closed on its line
                    b = -1
                    break
                yield qs, q + 1
                quotes += count('"', counted_to, q + 1)
                counted_to = q + 1
                b = find("\\", q + 1, le)
                break


# bounded: on broken input a failed attempt must not scan to the end of a long line
_STR_B = r'"(?:[^"\\\n]|\\.){0,4096}+"'
_VALUE_AFTER_KEY = re.compile(r"[ \t\r\n]*:[ \t\r\n]*(" + _STR_B + ")")
# sibling name/value members: HAR headers, OTLP attributes
_PAIR = re.compile(
    r'"(?:name|key)"\s*:\s*(' + _STR_B + r')\s*,\s*"value"\s*:\s*(?:\{\s*"stringValue"\s*:\s*)?('
    + _STR_B + ")")
# a split command-line flag: ["--api-key", "sk-..."] (the value is not consumed:
# it may be the next flag)
_FLAG_PAIR = re.compile(r'"(--?[A-Za-z][\w.-]{0,64})"\s*,\s*(?=(' + _STR_B + r')(?!\s*:))')
_WS = " \t\r\n"


_PAIR_GATE, _FLAG_GATE = b'"value"', b'"-'


class JsonDecoder:
    name = "json"
    triggers = (_PAIR_GATE, _FLAG_GATE)

    # -- Decoder protocol -------------------------------------------------
    def wants(self, doc: Document) -> bool:
        suffix = doc.suffix
        if suffix in EXCLUDED:
            return False
        if suffix in SUFFIXES:
            return True
        head = doc.data[:512]
        if head.startswith(_BOM):
            head = head[3:]
        head = head.lstrip()
        if head[:1] in (b"{", b"["):
            return True
        if head.startswith(_SSE_START):
            line = head.split(b"\n", 1)[0]
            return head.startswith(b"data:") and b"{" in line or b"\ndata: {" in head \
                or b"\ndata:{" in head
        return False

    def fragments(self, doc: Document) -> Iterable[Fragment]:
        text = doc.text
        # Two-byte needles are slow to search in JSON full of quotes: the
        # engine's raw scan answers them (Document.has); a backslash is a memchr.
        pairs, flags = doc.has(_PAIR_GATE), doc.has(_FLAG_GATE)
        if "\\" not in text and not pairs and not flags:
            return []
        out = _Builder()
        _emit(out, text, None, 0, pairs, flags)
        if not out.parts:
            return []
        return [_JsonFragment("".join(out.parts), self.name, out.segments, doc)]

    def locate(self, doc: Document, offset: int) -> Optional[str]:
        lits, starts = doc.memo(_INDEX_KEY, lambda: _index(doc.text))
        return _path_at(lits, starts, offset)


_INDEX_KEY = "json.index"


def _index(text: str) -> tuple[list[tuple], list[int]]:
    lits = scan_literals(text)
    return lits, [t[0] for t in lits]


def _path_at(lits: list[tuple], starts: list[int], offset: int) -> Optional[str]:
    """JSON path of the on-disk string literal whose content holds ``offset``."""
    k = bisect.bisect_right(starts, offset) - 1
    if k >= 0:
        s, e, path = lits[k][:3]
        if s <= offset < e and path:
            return path_str(path)
    return None


class _JsonFragment(Fragment):
    """A fragment whose locations (JSON paths) are computed only when asked,
    i.e. only when a rule matched in the decoded text: most documents never
    pay for the full structural walk."""

    def __init__(self, text: str, decoder: str, build: Callable[[], list[Segment]], doc: Document):
        super().__init__(text, decoder, build=build)
        self._doc = doc

    def location_at(self, i: int) -> Optional[str]:
        doc = self._doc
        lits, starts = doc.memo(_INDEX_KEY, lambda: _index(doc.text))
        return _path_at(lits, starts, self.to_doc(i))


class _Builder:
    """Collects the fragment text; the segments (offset maps of every string)
    are built only when a finding needs them."""

    __slots__ = ("parts", "strings", "pos")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.strings: list[tuple[JsonString, int, Optional[OffsetMap]]] = []
        self.pos = 0

    def add(self, s: JsonString, outer: Optional[OffsetMap]) -> None:
        value = s.value
        self.strings.append((s, self.pos, outer))
        self.parts.append(value)
        self.pos += len(value)

    def segments(self) -> list[Segment]:
        out: list[Segment] = []
        for s, pos, outer in self.strings:
            out.extend(s.segments(pos, None, outer))
        return out

    def sep(self, text: str) -> None:
        self.parts.append(text)
        self.pos += len(text)

    def line(self, first: JsonString, joiner: str, second: JsonString,
             outer: Optional[OffsetMap]) -> None:
        self.add(first, outer)
        self.sep(joiner)
        self.add(second, outer)
        self.sep("\n")


def _lit(text: str, start: int, end: int) -> JsonString:
    """The literal whose quotes are at ``start`` and ``end - 1``."""
    return JsonString(text, 0, start + 1, end - 1, (), False, None, 0)


def _key_before(text: str, quote: int) -> Optional[JsonString]:
    """The object key literal right before the value whose opening quote is at
    ``quote`` (``"key" : "value"``), or None."""
    j = quote - 1
    while j >= 0 and text[j] in _WS:
        j -= 1
    if j < 0 or text[j] != ":":
        return None
    j -= 1
    while j >= 0 and text[j] in _WS:
        j -= 1
    if j < 1 or text[j] != '"':
        return None
    end = j
    lo = max(0, end - 512)
    k = text.rfind('"', lo, end)
    while k > 0 and text[k - 1] == "\\":
        n = 1
        while k - n - 1 >= 0 and text[k - n - 1] == "\\":
            n += 1
        if n % 2 == 0:
            break  # an escaped backslash before the quote: the quote is real
        k = text.rfind('"', lo, k)
    if k < 0 or "\n" in text[k:end]:
        return None
    return JsonString(text, 0, k + 1, end, (), True, None, 0)


def _emit(out: _Builder, text: str, outer: Optional[OffsetMap], depth: int,
          pairs: Optional[bool] = None, flags: Optional[bool] = None) -> None:
    """Add the lines for one (possibly nested) JSON text to ``out``.

    ``outer`` maps offsets of ``text`` to document offsets (None at the top
    level).  Python work is done only per string literal that holds an escape
    and per name/value or flag pair; everything else is skipped by regexes.
    ``pairs``/``flags``: whether ``text`` holds ``"value"`` / ``"-`` when
    already known (None: search).
    """
    skip_to = -1
    for qs, qe in escaped_strings(text):
        if qs < skip_to:
            continue
        lit = _lit(text, qs, qe)
        after = _VALUE_AFTER_KEY.match(text, qe)
        if after is not None:  # an escaped key: emit it with its value
            vs, ve = after.span(1)
            value = _lit(text, vs, ve)
            out.line(lit, ": ", value, outer)
            skip_to = ve
        else:
            value = lit
            key = _key_before(text, qs)
            if key is not None:
                out.line(key, ": ", value, outer)
            else:
                out.add(value, outer)
                out.sep("\n")
        if value.has_escapes and depth + 1 < MAX_DEPTH:
            decoded = value.value
            # JSON inside a string: one level deeper, when it holds anything
            # _emit would add (an escaped string, a name/value or flag pair).
            if looks_like_json(decoded) and ("\\" in decoded or '"value"' in decoded or '"-' in decoded):
                vm = value.offset_map()
                _emit(out, decoded, vm if outer is None else vm.compose(outer), depth + 1)
    if pairs is None:
        pairs = '"value"' in text
    if flags is None:
        flags = '"-' in text
    if pairs:
        for m in _PAIR.finditer(text):
            (ns, ne), (vs, ve) = m.span(1), m.span(2)
            if ne - ns > 2 and ve - vs > 2:
                out.line(_lit(text, ns, ne), ": ", _lit(text, vs, ve), outer)
    if flags:
        for m in _FLAG_PAIR.finditer(text):
            (fs, fe), (vs, ve) = m.span(1), m.span(2)
            if ve - vs > 2:
                out.line(JsonString(text, 0, fs, fe, (), False, None, 0), " ",
                         _lit(text, vs, ve), outer)


JSON_DECODER = JsonDecoder()
