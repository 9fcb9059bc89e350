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
from typing import Iterable, Optional

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

    def wants(self, doc: Document) -> bool:
        return bool(self._patterns(doc))

    @staticmethod
    def _patterns(doc: Document) -> list:
        """The patterns worth running on this content (by literal gates)."""
        has = doc.has
        out = [pattern for word, pattern in _CALLS.items() if has(word)]
        if has(_PROCESS_ENV):
            out.append(_PATTERNS[0])
        if has(_YAML_VALUE):
            out.append(_PATTERNS[1])
        if has(_JSON_VALUE):
            out.append(_PATTERNS[2])
        return out

    def locate(self, doc: Document, offset: int) -> Optional[str]:
        return None

    def fragments(self, doc: Document) -> Iterable[Fragment]:
        try:
            text = doc.text
            parts: list[str] = []
            pairs: list[tuple[int, int, int, int]] = []  # name start/len, value start/len
            for pattern in self._patterns(doc):
                for m in pattern.finditer(text):
                    name, value = m.group("name"), m.group("value").rstrip()
                    pairs.append((m.start("name"), len(name), m.start("value"), len(value)))
                    parts.append(f"{name}={value}\n")
            if not parts:
                return []
            return [Fragment("".join(parts), self.name, build=lambda: _segments(pairs))]
        except Exception:  # never fail a scan on odd input
            return []


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
