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
  :data:`MAX_DEPTH` levels; a finding's offset is mapped back through the
  strings it was decoded from, so a key escaped twice is reported at its true
  on-disk line and column.

Limits (each noted in ``doc.failures``, i.e. the file is listed as partially
scanned, when hit): escape depth :data:`MAX_DEPTH` (JSON inside a string
inside a string ...; deeper strings are scanned as raw text only) and decode
work per document (:data:`MAX_WORK_PER_CHAR`, :data:`MAX_WORK_BASE`).  Object
and array nesting costs nothing extra: the decoder never tracks it, and the
location walk stops growing paths below
:data:`~keyscan.decoders.jsonscan.MAX_NESTING` levels.

The location of a finding is the JSON path of the on-disk string literal that
holds it (``mcpServers.notion.env.OPENAPI_MCP_HEADERS``,
``messages[2].tool_calls[0].function.arguments``), for raw hits
(:meth:`JsonDecoder.locate`) and decoded ones alike.

Speed: string literals holding an escape are found by walking from the
backslashes, quote to quote (:func:`escaped_strings`) and name/value or flag pairs by regexes
with literal gates, so Python work is proportional to the escaped strings, not
to the tokens; the structural walk
that yields JSON paths (:func:`~keyscan.decoders.jsonscan.scan_literals`) runs
only when a location is asked for, i.e. when something matched.  Broken or
truncated input never raises and stays linear (a broken string is skipped to
the end of its line; paths stop growing past 64 nesting levels).

A key split across streaming deltas (SSE ``delta.content`` / ``partial_json``
chunks) is joined by :mod:`keyscan.decoders.streams`.
"""

from __future__ import annotations

import bisect
import re
from typing import Iterable, Iterator, Optional

from ..documents import Document
from .interface import Fragment, Segment
from .jsonscan import JsonString, lines_with_backslash, looks_like_json, path_str, scan_literals

MAX_DEPTH = 4
"""Escape depth: JSON decoded from a string, then from a string inside it ... (a
legit agent trace needs 2 or 3)."""
SUFFIXES = frozenset({
    ".json", ".jsonl", ".ndjson", ".jsonc", ".json5", ".har", ".geojson",
    ".webmanifest", ".jsonld", ".sse",
})
EXCLUDED = frozenset({".ipynb"})
_SSE_START = (b"data:", b"event:", b"id:", b":")
_BOM = b"\xef\xbb\xbf"


_STRING_REST = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+"')
"""The rest of a string literal from inside it, through its closing quote: an
escape (a backslash) takes the next character, whatever it is (JSON strings
never span lines: the match is bounded by the line's end)."""


def escaped_strings(text: str) -> Iterator[tuple[int, int]]:
    """Spans (quote to quote, inclusive) of the string literals that hold an escape.

    JSON strings never span lines, so every line starts outside a string, and
    only lines holding a backslash can hold an escaped string.  The walk starts
    at each backslash: whether it sits inside a string is the parity of the real
    quotes before it on its line (``str.count``), and the rest of a string that
    holds an escape is matched by one native regex (:data:`_STRING_REST`: an
    escape takes the character after it, so the first quote left closes the
    string).  Python work is proportional to the escaped strings, not to their
    quotes, backslashes or the text: a JSONL trace with one escaped string per
    line costs a few native searches per line, however many backslashes its
    escaping added.

    Broken input follows one rule: a string not closed on its line (or cut by a
    backslash at the end of the line) is skipped to the end of that line.
    """
    find, rfind, count = text.find, text.rfind, text.count
    string_rest = _STRING_REST.match
    for ls, le in lines_with_backslash(text):
        b = find("\\", ls, le)
        counted_to, quotes = ls, 0  # real quotes in [ls, counted_to), mod 2
        while b != -1:
            quotes += count('"', counted_to, b)
            counted_to = b
            if not quotes % 2:  # outside a string: a plain character
                b = find("\\", b + 1, le)
                continue
            qs = rfind('"', ls, b)  # the string's first escape: no escaped quote before it
            rest = string_rest(text, b, le)
            if rest is None:  # not closed on its line (or cut by a final backslash)
                break
            qe = rest.end()
            yield qs, qe
            quotes, counted_to = 0, qe
            b = find("\\", qe, le)


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
        out = _Builder(MAX_WORK_PER_CHAR * len(text) + MAX_WORK_BASE)
        _emit(out, text, None, 0, pairs, flags)
        doc.failures.extend(m for m in out.notes if m not in doc.failures)
        if not out.parts:
            return []
        return [_JsonFragment("".join(out.parts), self.name, out, doc)]

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


class _Ctx:
    """The text a string literal was read from, when it is not the document:
    the decoded value of ``string``, itself read from ``parent`` (None: the
    document).  Offsets are mapped through the chain only when a finding
    needs them, never composed ahead of time."""

    __slots__ = ("string", "parent")

    def __init__(self, string: JsonString, parent: Optional["_Ctx"]) -> None:
        self.string = string
        self.parent = parent


def _to_doc(ctx: Optional[_Ctx], r: int) -> int:
    """Document offset of offset ``r`` of the text ``ctx`` stands for."""
    while ctx is not None:
        r = ctx.string.to_raw(r)
        ctx = ctx.parent
    return r


class _JsonFragment(Fragment):
    """A fragment that maps offsets lazily: a fragment offset is mapped through
    the offset maps of the string that holds it and of the strings it was
    decoded from (each map built once, when first needed), so only strings
    that hold a match pay for a map.  Locations (JSON paths) are computed only
    when asked, i.e. only when a rule matched: most documents never pay for
    the full structural walk."""

    def __init__(self, text: str, decoder: str, built: "_Builder", doc: Document):
        super().__init__(text, decoder, build=built.segments)
        self._b = built
        self._doc = doc

    def _string(self, i: int) -> tuple[JsonString, int, Optional[_Ctx]]:
        b = self._b
        k = max(bisect.bisect_right(b.starts, i) - 1, 0)
        s, ctx = b.strings[k]
        return s, b.starts[k], ctx

    def to_doc(self, i: int) -> int:
        s, pos, ctx = self._string(i)
        # glue text after a string (separators) maps to just after it
        return _to_doc(ctx, s.to_raw(min(i - pos, len(s.value))))

    def to_doc_end(self, end: int) -> int:
        s, pos, ctx = self._string(end - 1)
        if end - pos > len(s.value):
            return _to_doc(ctx, s.to_raw(len(s.value)))
        return _to_doc(ctx, s.to_raw(end - 1 - pos)) + 1

    def location_at(self, i: int) -> Optional[str]:
        doc = self._doc
        lits, starts = doc.memo(_INDEX_KEY, lambda: _index(doc.text))
        return _path_at(lits, starts, self.to_doc(i))


MAX_WORK_PER_CHAR = 4
MAX_WORK_BASE = 1 << 20
"""Decode work per document, in characters (escaped literals walked plus decoded
text added): at most ``MAX_WORK_PER_CHAR`` per character of the document plus
``MAX_WORK_BASE``.  Decoding only shrinks text, so each of the
:data:`MAX_DEPTH` levels adds at most the document's size (pairs and flags
included, legit double-escaped traces use under 3 per character); the cap is
a backstop, and what is left undecoded when it is hit is reported.  Measured
rate: about 10 MB of decoder work per second (escaped-jsonl shape, 2-core
machine under load), so a document of the 8 MB chunk size costs a few
seconds at most."""

_DEPTH_NOTE = (f"JSON escaped more than {MAX_DEPTH} levels deep: partially scanned "
               "(deeper strings were scanned as raw text only, not decoded)")
_WORK_NOTE = ("JSON decoding stopped at the per-file work limit: partially scanned "
              "(the rest was scanned as raw text only, not decoded)")


_ENDS_UNQUOTED = re.compile(r"[&;,()\[\]{}<>'`]")
_NO_QUOTES = re.compile(r'[^"\s]*\Z')


class _Builder:
    """Collects the fragment text and, for each string added, where it starts
    and the text it was read from (offset maps are built only when a finding
    needs one); counts the decode work against the document's budget."""

    __slots__ = ("parts", "strings", "starts", "pos", "work", "budget", "notes")

    def __init__(self, budget: int) -> None:
        self.parts: list[str] = []
        self.strings: list[tuple[JsonString, Optional[_Ctx]]] = []
        self.starts: list[int] = []
        self.pos = 0
        self.work = 0
        self.budget = budget
        self.notes: list[str] = []

    def note(self, msg: str) -> None:
        if msg not in self.notes:
            self.notes.append(msg)

    def spend(self, units: int) -> bool:
        """Count ``units`` of work; False (and noted) once over budget."""
        self.work += units
        if self.work > self.budget:
            self.note(_WORK_NOTE)
            return False
        return True

    def add(self, s: JsonString, ctx: Optional[_Ctx]) -> None:
        value = s.value
        self.strings.append((s, ctx))
        self.starts.append(self.pos)
        self.parts.append(value)
        self.pos += len(value)
        self.work += len(value)

    def segments(self) -> list[Segment]:
        """Every string's composed map as a segment (for callers that ask for
        ``Fragment.segments``; the scan itself maps lazily)."""
        out: list[Segment] = []
        for (s, ctx), pos in zip(self.strings, self.starts):
            m = s.offset_map()
            while ctx is not None:
                m = m.compose(ctx.string.offset_map())
                ctx = ctx.parent
            steps = m.steps
            out.append(Segment(pos, len(s.value), steps[0][1], tuple((pos + i, r) for i, r in steps[1:])))
        return out

    def sep(self, text: str) -> None:
        self.parts.append(text)
        self.pos += len(text)

    def line(self, first: JsonString, joiner: str, second: JsonString, ctx: Optional[_Ctx]) -> None:
        self.add(first, ctx)
        value = second.value
        # A whole string value holding a character that ends unquoted values in
        # name + value rules (``&`` ends a password in a query string) is shown
        # quoted, as it was: the decoded value is one value (Go writes & as \u0026).
        quote = joiner == ": " and _ENDS_UNQUOTED.search(value) is not None and _NO_QUOTES.match(value) is not None
        self.sep(': "' if quote else joiner)
        self.add(second, ctx)
        self.sep('"\n' if quote else "\n")


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
        run = text[lo:k]
        if (len(run) - len(run.rstrip("\\"))) % 2 == 0:
            break  # an escaped backslash before the quote: the quote is real
        k = text.rfind('"', lo, k)
    if k < 0 or "\n" in text[k:end]:
        return None
    return JsonString(text, 0, k + 1, end, (), True, None, 0)


def _emit(out: _Builder, text: str, ctx: Optional[_Ctx], depth: int,
          pairs: Optional[bool] = None, flags: Optional[bool] = None) -> None:
    """Add the lines for one (possibly nested) JSON text to ``out``.

    ``ctx`` is the string ``text`` was decoded from (None at the top level).
    Python work is done only per string literal that holds an escape (per
    quote inside it) and per name/value or flag pair; everything else is
    skipped by regexes.  ``pairs``/``flags``: whether ``text`` holds
    ``"value"`` / ``"-`` when already known (None: search).  Stops, noting it,
    at the escape-depth cap and at the document's work budget.
    """
    skip_to = -1
    for qs, qe in escaped_strings(text):
        if qs < skip_to:
            continue
        if not out.spend(qe - qs):
            return
        lit = _lit(text, qs, qe)
        after = _VALUE_AFTER_KEY.match(text, qe)
        if after is not None:  # an escaped key: emit it with its value
            vs, ve = after.span(1)
            value = _lit(text, vs, ve)
            out.line(lit, ": ", value, ctx)
            skip_to = ve
        else:
            value = lit
            key = _key_before(text, qs)
            if key is not None:
                out.line(key, ": ", value, ctx)
            else:
                out.add(value, ctx)
                out.sep("\n")
        if value.has_escapes:
            decoded = value.value
            # JSON inside a string: one level deeper, when it holds anything
            # _emit would add (an escaped string, a name/value or flag pair).
            if looks_like_json(decoded) and ("\\" in decoded or '"value"' in decoded or '"-' in decoded):
                if depth + 1 >= MAX_DEPTH:
                    out.note(_DEPTH_NOTE)
                else:
                    _emit(out, decoded, _Ctx(value, ctx), depth + 1)
                    if out.work > out.budget:
                        return
    if pairs is None:
        pairs = '"value"' in text
    if flags is None:
        flags = '"-' in text
    if pairs:
        for m in _PAIR.finditer(text):
            (ns, ne), (vs, ve) = m.span(1), m.span(2)
            if ne - ns > 2 and ve - vs > 2:
                if not out.spend(0):
                    return
                out.line(_lit(text, ns, ne), ": ", _lit(text, vs, ve), ctx)
    if flags:
        for m in _FLAG_PAIR.finditer(text):
            (fs, fe), (vs, ve) = m.span(1), m.span(2)
            if ve - vs > 2:
                if not out.spend(0):
                    return
                out.line(JsonString(text, 0, fs, fe, (), False, None, 0), " ",
                         _lit(text, vs, ve), ctx)


JSON_DECODER = JsonDecoder()
