"""CI job logs: GitHub Actions, GitLab CI traces and plain logs with ANSI colours.

The decoder produces one *cleaned* fragment per log: ANSI escape sequences
(colours, erase-line, OSC hyperlinks, APC timestamps) are removed, and every
kept character maps exactly back to the raw file (one segment per collapsible
group/section, a mapping step after each removed run).  Line prefixes
(GitHub ``2024-05-30T14:30:00.1234567Z ``, GitLab ``...000000Z 00O ``) and
runner markers (``##[group]``, ``section_start:...``) are kept: no rule
depends on where a line starts, so the raw scan already sees what follows them.

GitLab timestamped traces split long lines into continuation records
(``00O+``); the decoder joins them, so a token cut by the runner is whole again.

JSON events printed on a log line (stream-JSON of an AI agent running in CI,
structured loggers) are unescaped with :mod:`keyscan.decoders.jsonscan` when it
is available, so an escaped key inside a tool result is found at its raw column.

Masked values (``***``, ``[MASKED]``, ``********``, ``[REDACTED]``,
``((redacted))``) are left as they are; the detection filters treat them as
placeholders, so they never become findings.

:meth:`CiLogDecoder.locate` names the step a raw offset belongs to:
``group "Run ./deploy.sh"`` (GitHub: the ``Run ...`` group echoing a step's
script; the step's output after ``##[endgroup]`` keeps that name) or
``section "step_script"`` (GitLab).
"""

from __future__ import annotations

import bisect
import re
from typing import Iterable, Optional

from ..documents import Document
from .interface import Fragment, Segment

_TS6 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"

# Everything the cleaned view drops: escape sequences, all starting with ESC
# (a literal first character keeps the native search fast)...
_NOISE = re.compile(
    r"\x1b(?:"
    r"\[[0-?]{0,32}[ -/]{0,4}[@-~]"          # CSI (SGR colours, erase line)
    r"|\][^\x07\x1b\n]{0,512}(?:\x07|\x1b\\)"  # OSC (hyperlinks, titles)
    r"|_[^\x07\x1b\n]{0,512}(?:\x07|\x1b\\)"   # APC (Buildkite timestamps)
    r"|[()][0-9A-Za-z]|[=>78])"                # charset selection, keypad modes
)
# ... and, in GitLab traces that have them, continuation records (the newline,
# timestamp and stream tag the runner puts where it cut a long line).
_CONT = rf"\r?\n{_TS6} [0-9a-f]{{2}}[OE]\+"
_NOISE_CONT = re.compile(f"{_CONT}|{_NOISE.pattern}")
_CONT_SNIFF = re.compile(r"Z [0-9a-f]{2}[OE]\+")

# Step boundaries for logical locations.
_REGION = re.compile(
    r"##\[group\](?P<group>[^\r\n]{0,200})|##\[endgroup\]"
    r"|section_start:\d{1,12}:(?P<section>[A-Za-z0-9_.-]{1,100})|section_end:\d{1,12}:"
)

_NAME = re.compile(
    r"(?i)(?:\.log|[/_-]job-?logs?\.txt|(?:^|/)job-logs\.txt|(?:^|/|_)job[^/]*\.txt|"
    r"(?:^|/)(?:raw|trace|build-log|console)\.txt|\.log\.txt)$"
)
_LOG_DIR = re.compile(r"(?i)(?:^|/)(?:logs?(?:_\d+)?|run-logs|job-logs)/(?:[^/]+/)?[^/]*\.txt$")
_SNIFF_TS = re.compile(
    rb"(?:\xef\xbb\xbf)?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(?:\d{7}Z |\d{6}Z [0-9a-f]{2}[OE][ +])"
)

# JSON events on a cleaned line.
_JSON_LINE = re.compile(r'(?m)^[^\n{]{0,200}?(\{"[^\n]{8,})$')
_MAX_JSON_LINE = 4 * 1024 * 1024




class CiLogDecoder:
    name = "cilog"
    carrier = "ci-log"
    """Findings in a CI log carry ``Provenance.carrier == "ci-log"`` (NHI6)."""
    # Terminal colour codes anywhere in a file (not only in its first 4 KB): a value written
    # after `\x1b[1m` is only seen once the decoration is stripped. The raw scan answers it.
    triggers = (b"\x1b[",)

    # -- selection --------------------------------------------------------
    def wants(self, doc: Document) -> bool:
        path = doc.path.replace("\\", "/")
        # Both name patterns end in .log or .txt: test the suffix before searching.
        if path[-4:].lower() in (".log", ".txt") and (_NAME.search(path) or _LOG_DIR.search(path)):
            return True
        if doc.suffix in (".ipynb", ".json", ".jsonl"):
            return False
        head = doc.data[:4096]
        return bool(_SNIFF_TS.match(head) or b"section_start:" in head or doc.has(b"\x1b["))

    # -- regions (group / section names) ------------------------------------
    def _regions(self, doc: Document) -> tuple[list[int], list[Optional[str]]]:
        return doc.memo("cilog.regions", lambda: _regions(doc.text))

    def locate(self, doc: Document, offset: int) -> Optional[str]:
        starts, names = self._regions(doc)
        return names[bisect.bisect_right(starts, offset) - 1]

    # -- fragments ----------------------------------------------------------
    def fragments(self, doc: Document) -> Iterable[Fragment]:
        frag = self._cleaned(doc)
        out: list[Fragment] = []
        if frag is not None:
            out.append(frag)
        out.extend(self._json_events(doc, frag))
        return out

    def _cleaned(self, doc: Document) -> Optional[Fragment]:
        """The log with in-line noise removed: ANSI escape sequences (which
        can sit against or inside a token) and GitLab continuation records
        (which cut long lines).  Line prefixes (timestamps, ``##[group]``
        markers) stay: no rule depends on where a line starts, so removing them
        would change nothing the raw scan does not already see.  One native
        regex substitution; the offset map is built only when a finding needs it.
        """
        text = doc.text
        noise = _NOISE_CONT if _CONT_SNIFF.search(text) else _NOISE
        if noise is _NOISE and "\x1b" not in text:
            return None
        cleaned = noise.sub("", text)
        if len(cleaned) == len(text):
            return None  # nothing to remove: the raw scan sees the same text
        return Fragment(cleaned, self.name, build=lambda: self._segments(doc, text, noise))

    def _segments(self, doc: Document, text: str, noise: "re.Pattern[str]") -> list[Segment]:
        """The exact map from the cleaned text back to the raw log: one segment
        per region (group/section), holding a step after each removed run."""
        steps: list[tuple[int, int]] = []  # (fragment offset, document offset) per kept run
        pos = flen = 0
        for m in noise.finditer(text):
            s, e = m.span()
            if s > pos:
                steps.append((flen, pos))
                flen += s - pos
            pos = e
        if pos < len(text):
            steps.append((flen, pos))
            flen += len(text) - pos
        if not steps:
            return [Segment(0, 0, len(text))]
        starts, names = self._regions(doc)
        segments: list[Segment] = []
        cur: list[tuple[int, int]] = []
        cur_region = bisect.bisect_right(starts, steps[0][1]) - 1
        for f, d in steps:
            region = cur_region
            if region + 1 < len(starts) and d >= starts[region + 1]:
                region = bisect.bisect_right(starts, d) - 1
            if region != cur_region and cur:
                segments.append(_segment(cur, f, names[cur_region]))
                cur = []
            cur_region = region
            cur.append((f, d))
        if cur:
            segments.append(_segment(cur, flen, names[cur_region]))
        return segments

    def _json_events(self, doc: Document, cleaned: Optional[Fragment]) -> list[Fragment]:
        """Unescaped JSON strings of JSON events printed on log lines."""
        text = cleaned.text if cleaned is not None else doc.text
        if "\\" not in text or '{"' not in text:  # one byte first: a native memchr
            return []
        from . import jsonscan as js
        outer = None
        if cleaned is not None:
            steps: list[tuple[int, int]] = []
            for seg in cleaned._built():
                steps.append((seg.frag_start, seg.doc_start))
                steps.extend(seg.steps[1:] if seg.steps else ())
            outer = js.OffsetMap(steps)
        parts: list[str] = []
        segs: list[Segment] = []
        flen = 0
        for ls, le in js.lines_with_backslash(text):
            m = _JSON_LINE.match(text, ls, le)
            if m is None:
                continue
            body = m.group(1)
            if "\\" not in body or len(body) > _MAX_JSON_LINE:
                continue
            for s in js.iter_strings(body, m.start(1)):
                if s.is_key or not s.has_escapes:
                    continue
                value = s.value
                if len(value) < 8:
                    continue
                loc = "json " + js.path_str(s.path) if s.path else None
                segs.extend(s.segments(flen, loc, outer))
                parts.append(value)
                parts.append("\n")
                flen += len(value) + 1
        if not segs:
            return []
        return [Fragment("".join(parts), self.name, segs, depth=2)]


def _segment(steps: list[tuple[int, int]], end: int, location: Optional[str]) -> Segment:
    f0, d0 = steps[0]
    return Segment(f0, end - f0, d0, tuple(steps) if len(steps) > 1 else (), location=location)



def _regions(text: str) -> tuple[list[int], list[Optional[str]]]:
    """Where each group / section of a log starts, and its name."""
    starts: list[int] = [0]
    names: list[Optional[str]] = [None]
    if "##[group]" in text or "section_start:" in text:
        step: Optional[str] = None  # the step a GitHub "Run ..." group opened
        for m in _REGION.finditer(text):
            g, s = m.group("group"), m.group("section")
            if g is not None:
                g = g.strip()
                name: Optional[str] = f'group "{g}"' if g else None
                if g.startswith("Run "):
                    step = name
            elif s is not None:
                name = f'section "{s}"'
                step = None
            elif m.group().startswith("##"):
                # a step's output follows the group that echoes its script
                name = step
            else:
                name = None
            starts.append(m.start())
            names.append(name)
    return starts, names


DECODER = CiLogDecoder()
