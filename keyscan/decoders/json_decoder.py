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

Every segment's location is the JSON path of the on-disk string literal
(``mcpServers.notion.env.OPENAPI_MCP_HEADERS``,
``messages[2].tool_calls[0].function.arguments``); :meth:`JsonDecoder.locate`
gives the same path for raw hits.  Known limit: a key split across two
streaming deltas (SSE ``delta.content`` / ``partial_json`` chunks) is not
reassembled.
"""

from __future__ import annotations

import bisect
import gc
import re
from typing import Iterable, Optional

from ..documents import Document
from .interface import Fragment, Segment
from .jsonscan import JsonString, OffsetMap, looks_like_json, path_str, scan_literals

MAX_DEPTH = 4
SUFFIXES = frozenset({
    ".json", ".jsonl", ".ndjson", ".jsonc", ".json5", ".har", ".geojson",
    ".webmanifest", ".jsonld", ".sse",
})
EXCLUDED = frozenset({".ipynb"})
_FLAG = re.compile(r"--?[A-Za-z][\w.-]*$")
_PAIR_NAMES = frozenset({"name", "key"})
_PAIR_VALUES = frozenset({"value", "stringValue"})
_SSE_START = (b"data:", b"event:", b"id:", b":")
_BOM = b"\xef\xbb\xbf"


class JsonDecoder:
    name = "json"

    def __init__(self) -> None:
        self._doc: Optional[Document] = None
        self._lits: list[tuple] = []
        self._starts: list[int] = []

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
        try:
            text = doc.text
            if "\\" not in text and '"-' not in text and '"value"' not in text \
                    and '"stringValue"' not in text:
                return []
            lits = self._literals(doc)
            out = _Builder()
            enabled = gc.isenabled()
            gc.disable()  # many small objects, no garbage: skip collector passes
            try:
                _emit(out, text, lits, None, 0)
            finally:
                if enabled:
                    gc.enable()
            if not out.parts:
                return []
            return [Fragment("".join(out.parts), self.name, out.segments)]
        except Exception:  # never raise on malformed input
            return []
        finally:
            # The pipeline asks locate() for raw hits before fragments(); the
            # index is not needed afterwards, so do not keep it alive.
            self._forget()

    def locate(self, doc: Document, offset: int) -> Optional[str]:
        try:
            lits = self._literals(doc)
            k = bisect.bisect_right(self._starts, offset) - 1
            if k >= 0:
                s, e, path = lits[k][:3]
                if s <= offset < e and path:
                    return path_str(path)
            return None
        except Exception:
            return None

    # -- helpers ------------------------------------------------------------
    def _forget(self) -> None:
        self._doc = None
        self._lits = []
        self._starts = []

    def _literals(self, doc: Document) -> list[tuple]:
        """The document's string literals, computed once per document."""
        if self._doc is not doc:
            try:
                self._lits = scan_literals(doc.text)
            except Exception:
                self._lits = []
            self._starts = [t[0] for t in self._lits]
            self._doc = doc
        return self._lits


class _Builder:
    __slots__ = ("parts", "segments", "pos")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.segments: list[Segment] = []
        self.pos = 0

    def add(self, s: JsonString, outer: Optional[OffsetMap], loc: str) -> None:
        value = s.value
        self.segments.extend(s.segments(self.pos, loc, outer))
        self.parts.append(value)
        self.pos += len(value)

    def sep(self, text: str) -> None:
        self.parts.append(text)
        self.pos += len(text)

    def line(self, first: JsonString, joiner: str, second: JsonString,
             outer: Optional[OffsetMap], loc: str) -> None:
        self.add(first, outer, loc)
        self.sep(joiner)
        self.add(second, outer, loc)
        self.sep("\n")


def _emit(out: _Builder, text: str, lits: list[tuple], outer: Optional[OffsetMap],
          depth: int, loc: Optional[str] = None) -> None:
    """Add the lines for one (possibly nested) JSON text to ``out``.

    ``lits`` are ``text``'s literals (:func:`scan_literals`); ``outer`` maps
    offsets of ``text`` to document offsets (None at the top level); ``loc`` is
    the on-disk string's path for nested texts.
    """
    names: dict[tuple, int] = {}
    prev_flag = -1
    where: dict[tuple, str] = {}

    def loc_of(path: tuple) -> str:
        if loc is not None:
            return loc
        p = where.get(path)
        if p is None:
            p = where[path] = path_str(path)
        return p

    def make(i: int) -> JsonString:
        s, e, path, is_key, _kp, di, esc = lits[i]
        return JsonString(text, 0, s, e, path, is_key, None, di, esc)

    for i, (s, e, path, is_key, kp, _di, esc) in enumerate(lits):
        if is_key:
            continue
        js: Optional[JsonString] = None
        if esc or (kp >= 0 and lits[kp][6]):
            js = make(i)
            here = loc_of(path)
            if kp >= 0:
                out.line(make(kp), ": ", js, outer, here)
            else:
                out.add(js, outer, here)
                out.sep("\n")
        if kp >= 0:
            # sibling name/value pairs (HAR headers, OTLP attributes)
            kname = path[-1]
            if kname in _PAIR_NAMES:
                names[path[:-1]] = i
            elif kname in _PAIR_VALUES and e > s:
                n = names.get(path[:-1], -1)
                if n < 0 and len(path) >= 2:
                    n = names.get(path[:-2], -1)
                if n >= 0 and lits[n][1] > lits[n][0]:
                    here = loc_of(path)
                    out.line(make(n), ": ", js or make(i), outer, here)
        elif path and type(path[-1]) is int:
            # split flags: ["--api-key", "sk-..."]
            if prev_flag >= 0 and e > s:
                pp = lits[prev_flag][2]
                if pp[:-1] == path[:-1] and pp[-1] + 1 == path[-1]:
                    here = loc_of(path)
                    out.line(make(prev_flag), " ", js or make(i), outer, here)
            prev_flag = i if text.startswith("-", s) and _FLAG.match(text, s, e) else -1
        # JSON inside a string: decode one level deeper
        if esc and depth + 1 < MAX_DEPTH:
            js = js or make(i)
            value = js.value
            if looks_like_json(value):
                inner = scan_literals(value)
                if inner:
                    m = js.offset_map()
                    _emit(out, value, inner, m if outer is None else m.compose(outer),
                          depth + 1, loc_of(path))


JSON_DECODER = JsonDecoder()
