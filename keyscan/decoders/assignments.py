"""Name/value pairs written in shapes that flat-text rules cannot see as an
assignment, rewritten as ``NAME=value`` lines with an exact map back.

* environment calls with a literal value: ``os.getenv("COHERE_API_KEY", "...")``,
  ``monkeypatch.setenv("TWILIO_AUTH_TOKEN", "...")``, ``os.environ.setdefault(...)``,
  ``os.Setenv("X", "...")``, ``ENV.fetch("X", "...")``, ``process.env.X ?? "..."``;
* Kubernetes / compose style env lists: ``- name: DD_API_KEY`` followed by
  ``value: "..."`` (YAML) or ``{"name": "X", "value": "..."}`` (JSON);
* ``export NAME="..."``-style lines need nothing: they already read as assignments.

Provider rules that need a context keyword next to the value (``DD_API_KEY=...``)
and the generic rules then see the pair.  The name maps to the raw name and the
value to the raw value, so findings point at the real line and column.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator, Optional

from ..documents import Document
from .interface import Fragment, Segment

# Literal gates: Document.has() answers them from the engine's raw scan.
_CALL_WORDS = (b"getenv(", b"setenv(", b"putenv(", b"Setenv(", b"environ.get(", b"environ.setdefault(",
               b"ENV.fetch(", b"env.get(")
_PROCESS_ENV, _YAML_VALUE, _JSON_VALUE = b"process.env.", b"value:", b'"value"'

_NAME = r"[A-Za-z_][A-Za-z0-9_.-]{1,80}"
_VALUE = r"[^\"'\\\r\n]{6,400}"
_CALL_TAIL = (r"\s*[\"'](?P<name>" + _NAME + r")[\"']\s*,\s*(?:[A-Za-z_]+\s*=\s*)?[\"'](?P<value>"
              + _VALUE + r")[\"']")
# getenv("NAME", "value"), setenv("NAME", "value"), environ.get/setdefault(...), Setenv, fetch:
# one pattern per call word, each starting with its literal (a fast native search), run only
# where the word occurs.
_CALLS = {w: re.compile(re.escape(w.decode()) + _CALL_TAIL) for w in _CALL_WORDS}
_PATTERNS = (
    # process.env.NAME || "value" / ?? "value"
    re.compile(r"process\.env\.(?P<name>" + _NAME + r")\s*(?:\|\||\?\?)\s*[\"'`](?P<value>" + _VALUE + r")[\"'`]"),
    # YAML env lists: "- name: X" then "value: Y" on the next line
    re.compile(
        r"(?m)name:[ \t]*[\"']?(?P<name>" + _NAME + r")[\"']?[ \t]*\r?\n"
        r"[ \t]*value:[ \t]*[\"']?(?P<value>[^\"'\s#][^\"'\r\n#]{5,400}?)[\"']?[ \t]*(?:#.*)?$"
    ),
    # JSON env lists: {"name": "X", "value": "Y"}
    re.compile(
        r"\"name\"\s*:\s*\"(?P<name>" + _NAME + r")\"\s*,\s*\"value\"\s*:\s*\"(?P<value>" + _VALUE + r")\""
    ),
)


class AssignmentDecoder:
    name = "assignments"
    triggers = (*_CALL_WORDS, _PROCESS_ENV, _YAML_VALUE, _JSON_VALUE)
    # The raw scan reports where these end, so matching starts there instead
    # of searching the whole text once per pattern.
    located = (*_CALL_WORDS, _PROCESS_ENV, _YAML_VALUE)

    def wants(self, doc: Document) -> bool:
        return bool(self._patterns(doc))

    @staticmethod
    def _patterns(doc: Document) -> list[tuple[bytes, "re.Pattern[str]"]]:
        """The (literal gate, pattern) pairs worth running on this content."""
        has = doc.has
        out = [(word, pattern) for word, pattern in _CALLS.items() if has(word)]
        if has(_PROCESS_ENV):
            out.append((_PROCESS_ENV, _PATTERNS[0]))
        if has(_YAML_VALUE):
            out.append((_YAML_VALUE, _PATTERNS[1]))
        if has(_JSON_VALUE):
            out.append((_JSON_VALUE, _PATTERNS[2]))
        return out

    def locate(self, doc: Document, offset: int) -> Optional[str]:
        return None

    def fragments(self, doc: Document) -> Iterable[Fragment]:
        text = doc.text
        same_offsets = len(doc.data) == len(text)  # byte offsets are character offsets
        parts: list[str] = []
        pairs: list[tuple[int, int, int, int]] = []  # name start/len, value start/len
        for word, pattern in self._patterns(doc):
            ends = doc.ends(word) if same_offsets else None
            if ends is None:
                matches: Iterable["re.Match[str]"] = pattern.finditer(text)
            elif word == _YAML_VALUE:
                matches = _yaml_matches(pattern, text, ends)
            else:
                matches = _matches_at(pattern, text, [e - len(word) for e in ends])
            for m in matches:
                name, value = m.group("name"), m.group("value").rstrip()
                pairs.append((m.start("name"), len(name), m.start("value"), len(value)))
                parts.append(f"{name}={value}\n")
        if not parts:
            return []
        return [Fragment("".join(parts), self.name, build=lambda: _segments(pairs))]


def _matches_at(pattern: "re.Pattern[str]", text: str, starts: list[int]) -> Iterator["re.Match[str]"]:
    """What ``pattern.finditer(text)`` yields, for a pattern that starts with a
    literal occurring only at ``starts`` (ascending): a match attempt at each."""
    last_end = 0
    for s in starts:
        if s < last_end:
            continue
        m = pattern.match(text, s)
        if m is not None:
            yield m
            last_end = m.end()


def _yaml_matches(pattern: "re.Pattern[str]", text: str, value_ends: list[int]) -> Iterator["re.Match[str]"]:
    """What ``pattern.finditer(text)`` yields for the YAML env-list pattern
    (``name: X`` on one line, ``value: Y`` on the next): a match ends at the end
    of a line holding ``value:``, so only those lines and the ones before them
    are searched."""
    last_end = 0
    line_end = -1
    for v in value_ends:
        if v <= line_end:
            continue  # another "value:" on a line already searched
        line_end = text.find("\n", v)
        if line_end == -1:
            line_end = len(text)
        ls = text.rfind("\n", 0, v) + 1  # the line holding "value:"
        start = text.rfind("\n", 0, ls - 1) + 1 if ls else 0  # the line before it
        m = pattern.search(text, max(start, last_end), line_end)
        if m is not None:
            yield m
            last_end = m.end()


def _segments(pairs: list[tuple[int, int, int, int]]) -> list[Segment]:
    """The map of ``NAME=value`` lines back to the raw name and value (built
    only when a finding needs it)."""
    segments: list[Segment] = []
    flen = 0
    for ns, nlen, vs, vlen in pairs:
        segments.append(Segment(flen, nlen, ns))
        # "=" maps to the character before the value; the value maps exactly.
        segments.append(Segment(flen + nlen, vlen + 2, vs - 1))
        flen += nlen + vlen + 2
    return segments


DECODER = AssignmentDecoder()
