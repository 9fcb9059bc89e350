"""A tolerant, string-aware JSON tokenizer with exact offset maps.

Other decoders (JSON, notebooks, MCP configs) build on this module; its public
API is stable:

``iter_strings(text, base=0) -> Iterator[JsonString]``
    Every string literal of ``text`` (object keys and values) in document
    order, with its JSON path.  Tolerant of JSONC comments (``//``, ``/* */``),
    trailing commas, several concatenated documents (JSONL / NDJSON, SSE
    ``data: {...}`` lines: the path restarts with each top-level document) and
    truncated or broken input: it never raises, it resynchronises at the next
    top-level ``{``/``[`` that starts a line (or just stops).  String literals
    never span a raw newline (JSON forbids it), so a broken quote damages at
    most one line.  ``base`` is added to every raw offset (use it when
    ``text`` is a slice of a larger text).

``JsonString``
    ``path``       tuple of object keys (``str``) and array indexes (``int``)
    ``is_key``     True for an object key (its path ends with the key itself)
    ``raw_start``  offset of the first character after the opening quote
    ``raw_end``    offset of the closing quote (``raw_end - raw_start`` = raw length)
    ``value``      the decoded string (computed lazily)
    ``has_escapes`` True when the literal contains a backslash
    ``key``        for an object member value: the key's ``JsonString``
    ``doc_index``  which top-level document (0-based) the string belongs to
    ``to_raw(i)``  raw offset of decoded offset ``i`` (``i == len(value)`` gives ``raw_end``)
    ``offset_map()`` an :class:`OffsetMap` decoded offset -> raw offset
    ``segments(frag_start, location=None, outer=None)`` a one-element list of
        :class:`~keyscan.decoders.interface.Segment` mapping fragment offsets
        ``[frag_start, frag_start + len(value))`` to raw offsets; with ``outer``
        (an :class:`OffsetMap` of the text the string was read from, e.g. a
        JSON document nested inside another string) the maps are composed so
        the segment points into the outermost document.

Escapes map exactly: ``\\"``, ``\\\\``, ``\\/``, ``\\b``, ``\\f``, ``\\n``,
``\\r``, ``\\t`` (and any unknown ``\\c``) are 2 raw characters -> 1;
``\\uXXXX`` is 6 -> 1; a surrogate pair ``\\uD83D\\uDE00`` is 12 -> 1 code point.

``path_str(path)``
    ``mcpServers.github.env.GITHUB_TOKEN``, ``messages[3].content``,
    ``cells[2].source[4]``; keys that are not identifiers are quoted:
    ``data["text/plain"][0]``.

``looks_like_json(value)``
    True when a decoded string plausibly holds a JSON document (first
    non-space character ``{`` or ``[``).

Speed: one regex finds whole string literals and structural characters; the
Python loop runs once per token, never per character, and strings without a
backslash are never decoded.
"""

from __future__ import annotations

import bisect
import gc
import re
from json.decoder import scanstring as _scanstring  # type: ignore[attr-defined]  # the C parser where available
from typing import Iterator, Optional, Union

from .interface import Segment

PathItem = Union[str, int]

# Tokens: a whole string literal (no raw newline inside), together with the
# structural character before it (fewer tokens) and the colon that makes it a
# key; a structural character; a comment; a broken string (to the end of its
# line: skipping it whole keeps the scan linear on truncated escaped JSON).
_TOKEN = re.compile(
    r'(?:[,{\[]\s*)?"[^"\\\n]*(?:\\.[^"\\\n]*)*"(?:[ \t]*:)?'
    r"|[{}\[\],:]"
    r"|//[^\n]*"
    r"|/\*[^*]*(?:\*(?!/)[^*]*)*(?:\*/)?"
    r'|("[^\n]*)'  # unterminated: the string regex failed, so skip the rest of the line
)
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})(?:\\u([dD][c-fC-F][0-9a-fA-F]{2}))?|(.)|$)", re.S)
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
# An escaped low surrogate is decoded differently by the tolerant decoder after
# a non-lead escape: such strings always take the exact path.
_LOW_SURROGATE_ESC = re.compile(r"\\u[dD][c-fC-F]")
_IDENT = re.compile(r"^[A-Za-z_$@][\w$@-]*$")
_LOOKS_JSON = re.compile(r"\s*[\[{]")


class OffsetMap:
    """A piecewise map ``i -> raw offset`` that advances one to one between steps.

    ``steps`` is a sorted list of ``(i, raw)`` pairs; the first is ``(0, start)``.
    """

    __slots__ = ("steps", "_keys")

    def __init__(self, steps: list[tuple[int, int]]):
        self.steps = steps
        self._keys: Optional[list[int]] = None

    @classmethod
    def identity(cls, base: int = 0) -> "OffsetMap":
        return cls([(0, base)])

    def __call__(self, i: int) -> int:
        steps = self.steps
        if len(steps) == 1:
            return steps[0][1] + i
        if self._keys is None:
            self._keys = [s[0] for s in steps]
        k = bisect.bisect_right(self._keys, i) - 1
        f, d = steps[max(k, 0)]
        return d + (i - f)

    def compose(self, outer: "OffsetMap") -> "OffsetMap":
        """``outer ∘ self``: map this map's inputs through ``outer``."""
        ost = outer.steps
        if len(ost) == 1:
            shift = ost[0][1]
            return OffsetMap([(i, r + shift) for i, r in self.steps])
        # Breakpoints: this map's steps, plus the first input whose image
        # reaches each of outer's steps.
        points = {i for i, _ in self.steps}
        mine = self.steps
        j = 0
        for o, _ in ost[1:]:
            # find the first input i with self(i) >= o
            while j + 1 < len(mine) and mine[j + 1][1] <= o:
                j += 1
            i0, r0 = mine[j]
            i = i0 + max(o - r0, 0)
            if j + 1 < len(mine) and i >= mine[j + 1][0]:
                i = mine[j + 1][0]
            points.add(i)
        return OffsetMap([(i, outer(self(i))) for i in sorted(points)])


class JsonString:
    """One string literal; see the module docstring."""

    __slots__ = ("path", "is_key", "raw_start", "raw_end", "key", "doc_index",
                 "_text", "_base", "_value", "_map", "_esc")

    def __init__(self, text: str, base: int, start: int, end: int, path: tuple,
                 is_key: bool, key: "Optional[JsonString]", doc_index: int,
                 escaped: Optional[bool] = None):
        self._esc = escaped
        self._text = text
        self._base = base
        self.raw_start = start + base
        self.raw_end = end + base
        self.path = path
        self.is_key = is_key
        self.key = key
        self.doc_index = doc_index
        self._value: Optional[str] = None
        self._map: Optional[OffsetMap] = None

    def __repr__(self) -> str:
        return (f"JsonString({path_str(self.path)!r}, key={self.is_key}, "
                f"raw={self.raw_start}:{self.raw_end})")

    @property
    def raw(self) -> str:
        """The literal's content between the quotes, as stored."""
        b = self._base
        return self._text[self.raw_start - b:self.raw_end - b]

    @property
    def has_escapes(self) -> bool:
        if self._esc is None:
            self._esc = "\\" in self.raw
        return self._esc

    @property
    def value(self) -> str:
        if self._value is None:
            if not self.has_escapes:
                self._value = self.raw
            else:
                raw = self.raw
                fast = None
                if "\\u" not in raw or not _LOW_SURROGATE_ESC.search(raw):
                    # Well-formed escapes decode identically in the native parser;
                    # the offset map is computed only if a finding needs it.
                    try:
                        fast, end = _scanstring(raw + '"', 0, False)
                        if end != len(raw) + 1:
                            fast = None
                    except ValueError:
                        pass
                if isinstance(fast, str):
                    self._value = fast
                else:
                    self._decode()
        return self._value  # type: ignore[return-value]

    def offset_map(self) -> OffsetMap:
        if self._map is None:
            self._decode()
        return self._map  # type: ignore[return-value]

    def to_raw(self, i: int) -> int:
        return self.offset_map()(i)

    def segments(self, frag_start: int, location: Optional[str] = None,
                 outer: Optional[OffsetMap] = None) -> list[Segment]:
        m = self.offset_map()
        if outer is not None:
            m = m.compose(outer)
        steps = m.steps
        return [Segment(frag_start, len(self.value), steps[0][1],
                        tuple((frag_start + i, r) for i, r in steps[1:]), location)]

    def _decode(self) -> None:
        raw = self.raw
        if "\\" not in raw:
            self._value = raw
            self._map = OffsetMap([(0, self.raw_start)])
            return
        parts: list[str] = []
        steps = [(0, self.raw_start)]
        pos = 0  # raw position (relative)
        out = 0  # decoded length so far
        start = self.raw_start
        for m in _ESCAPE.finditer(raw):
            s, e = m.span()
            if s > pos:
                parts.append(raw[pos:s])
                out += s - pos
            hi, lo, ch = m.group(1), m.group(2), m.group(3)
            if hi is not None:
                cp = int(hi, 16)
                if lo is not None and 0xD800 <= cp <= 0xDBFF:
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (int(lo, 16) - 0xDC00)
                elif lo is not None:  # high half is not a lead surrogate: two chars
                    e = s + 6
                parts.append(chr(cp))
            elif ch is not None:
                parts.append(_SIMPLE.get(ch, ch))
            else:  # a trailing lone backslash
                parts.append("\\")
            out += 1
            pos = e
            steps.append((out, start + e))
        if pos < len(raw):
            parts.append(raw[pos:])
        self._value = "".join(parts)
        self._map = OffsetMap(steps)


def looks_like_json(value: str) -> bool:
    return bool(_LOOKS_JSON.match(value))


def lines_with_backslash(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of every line holding a backslash, found with native
    searches.  JSON strings never span lines and an escaped one needs a
    backslash, so only these lines can hold an escaped string."""
    find, rfind = text.find, text.rfind
    b = find("\\")
    while b != -1:
        ls = rfind("\n", 0, b) + 1
        le = find("\n", b)
        if le == -1:
            le = len(text)
        yield ls, le
        b = find("\\", le)


def path_str(path: tuple) -> str:
    """``mcpServers.github.env.TOKEN``, ``messages[3].content``, ``data["text/plain"]``."""
    out: list[str] = []
    for p in path:
        if isinstance(p, int):
            out.append(f"[{p}]")
        elif _IDENT.match(p):
            out.append(f".{p}" if out else p)
        else:
            q = p.replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'["{q}"]')
    return "".join(out)


MAX_NESTING = 64
"""Paths stop growing below this depth (object keys and array indexes deeper
are not added): memory and time per token stay bounded whatever the nesting
(a million levels of ``{"a":[`` is read at the speed of flat JSON)."""
_OBJ = 0
_ARR = 1
_NONE = -1


def scan_literals(text: str) -> list[tuple]:
    """The fast core: every string literal of ``text`` as a tuple
    ``(start, end, path, is_key, key_pos, doc_index, escaped)`` where
    ``start``/``end`` bound the content between the quotes, ``key_pos`` is the
    list position of the member's key literal (-1 if none) and ``escaped``
    tells whether the content holds a backslash.  Never raises."""
    # Many small tuples are allocated and none is garbage: pausing the cyclic
    # collector avoids repeated full traversals on big documents.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan_literals(text)
    finally:
        if enabled:
            gc.enable()


def _scan_literals(text: str) -> list[tuple]:
    out: list[tuple] = []
    append = out.append
    # one entry per open container: (its kind, then the parent's state to restore
    # on close: kind, path prefix, array index, member path)
    stack: list[tuple] = []
    cur = _NONE  # kind of the innermost open container
    prefix: tuple = ()  # path of the innermost open container
    idx = 0  # current index when cur is an array
    member: Optional[tuple] = None  # path of the current object member (after its key)
    expect_key = False
    value_ok = True  # a value may come next (after , [ { : or at top level)
    broken = False
    doc_index = -1
    key_pos = -1
    for m in _TOKEN.finditer(text):
        tok = m.group()
        c = tok[0]
        if c == '"':
            if m.lastindex:
                broken = True  # unterminated string: the rest of the line is noise
                continue
            s = m.start() + 1
        else:
            if c == ",":
                if cur == _ARR:
                    idx += 1
                elif cur == _OBJ:
                    expect_key = True
                    member = None
                key_pos = -1
                value_ok = True
            elif c == "{" or c == "[":
                if cur != _NONE and (broken or not value_ok):
                    st = m.start()
                    if st and text[st - 1] == "\n":
                        # a new document at the start of a line (JSONL after a broken line)
                        stack.clear()
                        cur = _NONE
                        prefix = ()
                        member = None
                broken = False
                if len(stack) >= MAX_NESTING:
                    path = prefix  # absurdly deep: stop growing paths (memory stays linear)
                elif cur == _OBJ:
                    path = member if member is not None else prefix + ("",)
                elif cur == _ARR:
                    path = prefix + (idx,)
                else:
                    doc_index += 1
                    path = ()
                kind = _OBJ if c == "{" else _ARR
                stack.append((kind, cur, prefix, idx, member))
                cur = kind
                prefix = path
                idx = 0
                member = None
                expect_key = kind == _OBJ
                key_pos = -1
                value_ok = True
            elif c == "}" or c == "]":
                want = _OBJ if c == "}" else _ARR
                # close the matching container (tolerates a missing close)
                j = len(stack) - 1
                while j >= 0 and stack[j][0] != want:
                    j -= 1
                if j >= 0:
                    _, cur, prefix, idx, member = stack[j]
                    del stack[j:]
                expect_key = False
                key_pos = -1
                value_ok = False
                continue
            elif c == ":":
                value_ok = True
                continue
            else:
                continue  # a comment
            if len(tok) == 1:
                continue
            q = tok.index('"')  # a string follows the , { or [
            s = m.start() + q + 1
            tok = tok[q:]
        colon = tok[-1] == ":"
        if colon:
            tok = tok[:tok.rindex('"') + 1]
        e = s + len(tok) - 2
        esc = "\\" in tok
        if cur == _OBJ:
            if expect_key or colon:
                if len(stack) > MAX_NESTING:
                    member = prefix  # absurdly deep: paths stop growing
                elif esc:
                    member = prefix + (JsonString(text, 0, s, e, (), True, None, 0).value,)
                else:
                    member = prefix + (tok[1:-1],)
                key_pos = len(out)
                append((s, e, member, True, -1, doc_index, esc))
                expect_key = False
                value_ok = colon
            else:
                append((s, e, member if member is not None else prefix + ("",), False,
                        key_pos, doc_index, esc))
                key_pos = -1
                value_ok = False
        elif cur == _ARR:
            append((s, e, prefix + (idx,) if len(stack) <= MAX_NESTING else prefix, False, -1, doc_index, esc))
            value_ok = False
        else:  # a bare top-level string
            doc_index += 1
            append((s, e, (), False, -1, doc_index, esc))
    return out


def iter_strings(text: str, base: int = 0) -> Iterator[JsonString]:
    """Every string literal in ``text`` with its JSON path (see module docstring)."""
    lits = scan_literals(text)
    made: list[Optional[JsonString]] = [None] * len(lits)
    for i, (s, e, path, is_key, kp, di, _esc) in enumerate(lits):
        js = JsonString(text, base, s, e, path, is_key, made[kp] if kp >= 0 else None, di, _esc)
        if is_key:
            made[i] = js
        yield js


def string_index(text: str, base: int = 0) -> list[JsonString]:
    """All string literals of ``text`` as a list (sorted by ``raw_start``)."""
    return list(iter_strings(text, base))


def find_string(index: list[JsonString], offset: int,
                starts: Optional[list[int]] = None) -> Optional[JsonString]:
    """The string of ``index`` whose raw content contains ``offset`` (or None)."""
    if starts is None:
        starts = [s.raw_start for s in index]
    k = bisect.bisect_right(starts, offset) - 1
    if k >= 0 and index[k].raw_start <= offset < index[k].raw_end:
        return index[k]
    return None
