"""Rewriting files so that every finding's secret is replaced by a marker.

``keyscan redact`` scans like ``keyscan scan`` (same scope, configuration,
baseline and minimum severity), then rewrites each file holding a finding:
the secret's bytes, and only those, become a marker such as
``«REDACTED:anthropic-api-key:fp:1a2b3c4d»``: the first 8 hex digits of
the finding's report fingerprint (the ``fingerprint`` of JSON and SARIF
reports), so two copies of one key stay recognisable and a marker can be
matched with an earlier report.  Not a plain hash of the secret: the
fingerprint is a slow, salted scrypt (:mod:`keyscan.fingerprint`), so a
shared redacted file gives no cheap oracle to guess the key with.

The marker is written in the encoding the secret had at that place.  The raw
span of a finding (its start and end line and column, as every decoder maps
them back to the file) is read and the secret is looked for in it, layer by
layer:

* as is (``.env`` lines, YAML, source code, a log line after ANSI codes);
* JSON-escaped once or several times (a JSON string, a notebook cell or
  output, a JSONL transcript line, a JSON document inside a JSON string);
  the marker holds no character JSON escapes, so it is written unchanged at
  every depth;
* with ANSI colour codes (raw or JSON-escaped) inside the secret;
* percent-encoded (the marker is percent-encoded);
* inside a base64 blob (decoded, the marker written inside, re-encoded with the
  same alphabet, padding and line wrapping).

A finding whose span cannot be mapped this way, and every file that cannot be
rewritten safely (binary, SQLite, archive members, files that do not
round-trip through their encoding), is listed as not redacted with the reason
and never touched.  After the edits the new content is scanned again in memory
(a blob holding two keys is reported once per scan); rounds repeat until
nothing changes, so a second run changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import difflib
import functools
import json
import os
import re
import stat
import time
from dataclasses import dataclass, replace
from typing import Iterable, Optional, Sequence
from urllib.parse import quote

from .documents.document import sniff_binary
from .errors import UsageError
from .models import Finding, ScanOptions, ScanResult
from .output import write_atomic
from .redact import redact as _short

MARKER_RE = re.compile(r"(?:«|\[)REDACTED:[A-Za-z0-9._-]{1,80}:fp:[0-9a-f]{8}(?:»|\])")
"""A marker written by keyscan (both the default and the ASCII form)."""

MAX_ROUNDS = 5
MAX_DEPTH = 3  # encoding layers inside one span (URL -> base64 -> JSON...)
_JSON_DEPTH = 6
_WIDEN = 16
_ANSI = re.compile(r"(?:\x1b|\\+u001[bB])\[[0-9;?]*[ -/]*[@-~]")
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_PCT_UNIT = re.compile(r"%[0-9A-Fa-f]{2}|.", re.S)
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_UNSAFE_MAGIC = ((b"SQLite format 3\x00", "SQLite database"), (b"PK\x03\x04", "archive (zip)"),
                 (b"PK\x05\x06", "archive (zip)"), (b"\x1f\x8b", "archive (gzip)"),
                 (b"BZh", "archive (bzip2)"), (b"\xfd7zXZ\x00", "archive (xz)"),
                 (b"7z\xbc\xaf\x27\x1c", "archive (7z)"), (b"Rar!", "archive (rar)"),
                 (b"(\xb5/\xfd", "archive (zstd)"))


def marker(rule_id: str, fingerprint: str, *, ascii_only: bool = False) -> str:
    """The text that replaces a secret, e.g. ``«REDACTED:github-pat-classic:fp:1a2b3c4d»``.

    ``ascii_only`` gives ``[REDACTED:...]`` for places where « » could break
    the encoding (files that are not UTF-8, decoded base64 and URL values).
    """
    body = f"REDACTED:{rule_id}:fp:{fingerprint[:8]}"
    return f"[{body}]" if ascii_only else f"«{body}»"


# --------------------------------------------------------------------------
# Result types


@dataclass(frozen=True)
class Redaction:
    """One secret replaced in one file."""

    path: str
    rule_id: str
    fingerprint: str
    line: int
    column: int
    layer: str
    """How the secret was encoded there: ``raw``, ``json-escaped x2``, ``ansi``,
    ``url-encoded``, ``base64``, ``base64 > json-escaped x1``..."""
    marker: str


@dataclass(frozen=True)
class NotRedacted:
    """A finding (or a file) left as it is, and why.  ``rule_id`` is empty for
    a whole file: one keyscan did not scan (binary...) or cannot rewrite."""

    path: str
    reason: str
    rule_id: str = ""
    line: int = 0
    findings: int = 1
    """Findings left in clear (0 for a file that was not scanned)."""


@dataclass(frozen=True)
class FileChange:
    """A file's content before and after redaction (``original`` holds secrets: never print it)."""

    path: str
    original: bytes
    redacted: bytes
    redactions: tuple[Redaction, ...]
    preview_before: str
    """The original text with each replaced span shown short (``ghp_…(40)``), for diffs."""
    spans: tuple[tuple[int, int, bool], ...] = ()
    """Character spans of the original text that were replaced (merged,
    ascending), each with whether it now holds a marker (False: a later piece
    of a split secret, now empty)."""

    def diff(self) -> str:
        """Unified diff, with the removed secrets shown short (never in clear);
        the file name and lines with :func:`keyscan.output.printable` escapes
        (no raw escape sequence or carriage return reaches the terminal)."""
        from .output import printable

        after = _text_of(self.redacted)
        name = printable(self.path.lstrip('/'))
        lines = difflib.unified_diff(self.preview_before.splitlines(keepends=True), after.splitlines(keepends=True),
                                     f"a/{name}", f"b/{name}")
        return "".join(printable(line[:-1], keep="\t") + "\n" if line.endswith("\n")
                       else printable(line, keep="\t") + "\n\\ No newline at end of file\n" for line in lines)


@dataclass(frozen=True)
class RedactResult:
    changes: tuple[FileChange, ...]
    not_redacted: tuple[NotRedacted, ...]
    scan: Optional[ScanResult] = None

    @property
    def redactions(self) -> tuple[Redaction, ...]:
        return tuple(r for c in self.changes for r in c.redactions)

    @property
    def exit_code(self) -> int:
        """As ``scan``: 1 when something was (or would be) redacted or a finding
        remains in clear; files that were not scanned are listed, not counted."""
        return 1 if self.changes or any(n.findings for n in self.not_redacted) else 0


# --------------------------------------------------------------------------
# Span level: find the secret's encoded form inside a raw span


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str
    layer: str


def _json_forms(secret: str) -> list[tuple[str, str]]:
    """The secret as it appears JSON-escaped 0..n times, longest first."""
    forms: dict[str, str] = {secret: "raw"}
    cur = [secret]
    for depth in range(1, _JSON_DEPTH + 1):
        nxt = []
        for s in cur:
            for ascii_ in (False, True):
                e = json.dumps(s, ensure_ascii=ascii_)[1:-1]
                for v in (e, e.replace("/", "\\/")):
                    if v not in forms:
                        forms[v] = f"json-escaped x{depth}"
                        nxt.append(v)
        cur = nxt[:8]
        if not cur:
            break
    return sorted(forms.items(), key=lambda kv: -len(kv[0]))


def _find_direct(text: str, secret: str, mark: str) -> list[_Edit]:
    edits: list[_Edit] = []
    taken: list[tuple[int, int]] = []
    for form, layer in _json_forms(secret):
        start = text.find(form)
        while start != -1:
            end = start + len(form)
            if all(end <= s or start >= e for s, e in taken):
                taken.append((start, end))
                edits.append(_Edit(start, end, mark, layer))
            start = text.find(form, end)
    return edits


def _find_ansi(text: str, secret: str, mark: str) -> list[_Edit]:
    """The secret with colour codes inside it (raw ESC or JSON-escaped \\u001b)."""
    if not _ANSI.search(text):
        return []
    kept: list[int] = []  # raw offset of each kept character
    pos = 0
    for m in _ANSI.finditer(text):
        kept.extend(range(pos, m.start()))
        pos = m.end()
    kept.extend(range(pos, len(text)))
    stripped = "".join(text[i] for i in kept)
    edits = []
    for e in _find_direct(stripped, secret, mark):
        edits.append(_Edit(kept[e.start], kept[e.end - 1] + 1, mark, "ansi" if e.layer == "raw" else
                           f"ansi, {e.layer}"))
    return edits


def _find_url(text: str, secret: str, mark: str, depth: int) -> list[_Edit]:
    if "%" not in text:
        return []
    units = [m.span() for m in _PCT_UNIT.finditer(text)]
    decoded = bytearray()
    owner: list[int] = []  # unit index of each decoded byte
    for k, (us_, ue_) in enumerate(units):
        piece = text[us_:ue_]
        b = bytes([int(piece[1:], 16)]) if len(piece) == 3 and piece[0] == "%" else piece.encode("utf-8",
                                                                                             "surrogatepass")
        decoded += b
        owner.extend([k] * len(b))
    try:
        inner = bytes(decoded).decode("utf-8")
    except UnicodeDecodeError:
        return []
    if inner == text:
        return []
    edits: list[_Edit] = []
    for e in _find(inner, secret, _ascii(mark), depth + 1):
        bs = len(inner[:e.start].encode("utf-8"))
        be = len(inner[:e.end].encode("utf-8"))
        if be <= bs:
            continue
        us, ue = owner[bs], owner[be - 1]
        # the edit must cover whole units
        if (bs > 0 and owner[bs - 1] == us) or (be < len(owner) and owner[be] == ue):
            continue
        edits.append(_Edit(units[us][0], units[ue][1], quote(e.text, safe=""), f"url-encoded > {e.layer}"))
    return edits


def _find_b64(text: str, secret: str, mark: str, depth: int) -> list[_Edit]:
    edits: list[_Edit] = []
    wrapped = _wrapped_blob(text)
    if wrapped is not None:
        s, e, width, sep = wrapped
        new = _b64_rewrite(text[s:e].replace(sep, ""), secret, mark, depth)
        if new is not None:
            blob, layer = new
            lines = [blob[i:i + width] for i in range(0, len(blob), width)]
            return [_Edit(s, e, sep.join(lines), layer)]
    for m in _B64_RUN.finditer(text):
        new = _b64_rewrite(m.group(), secret, mark, depth)
        if new is not None:
            edits.append(_Edit(m.start(), m.end(), new[0], new[1]))
    return edits


def _wrapped_blob(text: str) -> Optional[tuple[int, int, int, str]]:
    """A base64 blob over several lines of one width: (start, end, width, separator)."""
    m = re.search(r"[A-Za-z0-9+/]{16,}(\r?\n[ \t]*)[A-Za-z0-9+/]{4,}", text)
    if not m:
        return None
    sep = m.group(1)
    first = m.start()
    parts = re.compile(r"[A-Za-z0-9+/]+={0,2}")
    pos = first
    lines = []
    while True:
        p = parts.match(text, pos)
        if not p:
            break
        lines.append(p.group())
        pos = p.end()
        if text.startswith(sep, pos) and parts.match(text, pos + len(sep)):
            pos += len(sep)
            continue
        break
    if len(lines) < 2:
        return None
    width = len(lines[0])
    if any(len(x) != width for x in lines[:-1]) or len(lines[-1]) > width:
        return None
    return first, pos, width, sep


def _b64_rewrite(blob: str, secret: str, mark: str, depth: int) -> Optional[tuple[str, str]]:
    urlsafe = "-" in blob or "_" in blob
    if urlsafe and ("+" in blob or "/" in blob):
        return None
    body = blob.rstrip("=")
    padded = len(blob) != len(body) or len(body) % 4 == 0
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_" if urlsafe else None, validate=True)
        inner = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    edits = _find(inner, secret, _ascii(mark), depth + 1)
    if not edits:
        return None
    new_inner = _apply(inner, edits)
    enc = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    out = enc(new_inner.encode("utf-8")).decode("ascii")
    if not padded:
        out = out.rstrip("=")
    return out, "base64 > " + edits[0].layer


def _ascii(mark: str) -> str:
    return "[" + mark[1:-1] + "]" if mark.startswith("«") else mark


def _find(text: str, secret: str, mark: str, depth: int = 0) -> list[_Edit]:
    """Edits replacing every encoded occurrence of ``secret`` in ``text``."""
    edits = _find_direct(text, secret, mark)
    if edits or depth >= MAX_DEPTH:
        return edits
    return (_find_ansi(text, secret, mark) or _find_url(text, secret, mark, depth)
            or _find_b64(text, secret, mark, depth))


def _apply(text: str, edits: Sequence[_Edit]) -> str:
    out = []
    pos = 0
    for e in sorted(edits, key=lambda e: e.start):
        out.append(text[pos:e.start])
        out.append(e.text)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


# --------------------------------------------------------------------------
# File level


@dataclass
class _Text:
    """A file's bytes as text with a way back to byte offsets."""

    data: bytes
    text: str
    bom: bytes = b""
    encoding: str = "utf-8"
    anchors: tuple[tuple[int, int], ...] = ()
    """(char, byte) pairs around each invalid UTF-8 run; empty for valid UTF-8."""
    _starts: Optional[list[int]] = None

    @property
    def valid_utf8(self) -> bool:
        return self.encoding == "utf-8" and not self.anchors

    def line_starts(self) -> list[int]:
        if self._starts is None:
            starts = [0]
            pos = self.text.find("\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = self.text.find("\n", pos + 1)
            self._starts = starts
        return self._starts

    def offset(self, line: int, column: int) -> Optional[int]:
        starts = self.line_starts()
        if not 1 <= line <= len(starts):
            return None
        off = starts[line - 1] + column - 1
        return off if 0 <= off <= len(self.text) else None

    def char_to_byte(self, c: int) -> int:
        if self.encoding != "utf-8":
            raise AssertionError("wide files are re-encoded as text")
        if len(self.data) == len(self.text):
            return c
        ac, ab = 0, 0
        for pc, pb in self.anchors:
            if pc <= c:
                ac, ab = pc, pb
            else:
                break
        return ab + len(self.text[ac:c].encode("utf-8", "surrogatepass"))


def _read_text(data: bytes) -> "_Text | str":
    """The text keyscan scanned for these bytes (as ``read_document`` decodes
    them), or the reason the file cannot be rewritten."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            payload = data[len(bom):]
            text = payload.decode(enc, "replace")
            if text.encode(enc, "surrogatepass") != payload:
                return f"not rewritable: not valid {enc.upper()}"
            return _Text(data, text, bom, enc)
    try:
        return _Text(data, data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    parts: list[str] = []
    anchors: list[tuple[int, int]] = []
    pos = nchars = 0
    while True:
        try:
            chunk = data[pos:].decode("utf-8")
            parts.append(chunk)
            break
        except UnicodeDecodeError as exc:
            good = data[pos:pos + exc.start].decode("utf-8")
            parts.append(good + "\ufffd")
            nchars += len(good)
            anchors.append((nchars, pos + exc.start))
            nchars += 1
            pos += exc.end
            anchors.append((nchars, pos))
            if len(anchors) > 20000:
                return "not rewritable: mostly invalid UTF-8"
    return _Text(data, "".join(parts), anchors=tuple(anchors))


def unsafe_reason(data: bytes) -> Optional[str]:
    """Why a file's content must not be rewritten (binary, SQLite, archive), or None."""
    for magic, what in _UNSAFE_MAGIC:
        if data.startswith(magic):
            return what
    if len(data) > 262 and data[257:262] == b"ustar":
        return "archive (tar)"
    if sniff_binary(data[:8192]):
        return "binary"
    return None


def _is_marker_finding(f: Finding, text: str, start: int, end: int) -> bool:
    if "REDACTED:" in f.secret or _decodes_to_marker(f.secret):
        return True
    lo = max(0, start - 100)
    return any(m.start() < end and m.end() > start for m in MARKER_RE.finditer(text, lo, min(len(text), end + 100)))


def _decodes_to_marker(value: str) -> bool:
    if len(value) < 16 or not _B64_RUN.fullmatch(value):
        return False
    body = value.rstrip("=")
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_" if "-" in body or "_" in body else None)
    except (binascii.Error, ValueError):
        return False
    return b"REDACTED:" in raw


def _plan_edits(doc: _Text, findings: Sequence[Finding], ascii_only: bool
                ) -> tuple[list[tuple[_Edit, Finding]], list[NotRedacted]]:
    edits: list[tuple[_Edit, Finding]] = []
    failed: list[NotRedacted] = []
    text = doc.text
    for f in findings:
        start = doc.offset(f.start_line, f.start_column)
        end = doc.offset(f.end_line, f.end_column)
        if start is None or end is None or end < start:
            failed.append(NotRedacted(f.path, "span cannot be mapped to the file", f.rule_id, f.start_line))
            continue
        if _is_marker_finding(f, text, start, end):
            continue
        mark = marker(f.rule_id, f.fingerprint, ascii_only=ascii_only)
        windows = ((start, end), (max(0, start - _WIDEN), min(len(text), end + _WIDEN)))
        # as is or JSON-escaped; else the decoder's own map (pieces); else through encodings
        found = _in_windows(text, windows, functools.partial(_find_direct, secret=f.secret, mark=mark))
        if not found and f.provenance.decoder:
            found = _split_edits(text, doc.data, f, start, end, mark)
        if not found:
            found = _in_windows(text, windows, functools.partial(_find, secret=f.secret, mark=mark))
        found = [_in_url(text, e) for e in found]
        if not found:
            via = f.provenance.decoder
            failed.append(NotRedacted(f.path, "span cannot be mapped to the secret's encoding"
                                      + (f" ({via} decoder)" if via else ""), f.rule_id, f.start_line))
            continue
        edits.extend((e, f) for e in found)
    # overlapping edits (two findings in one span): keep the first; the next round rescans
    edits.sort(key=lambda ef: (ef[0].start, -ef[0].end))
    kept: list[tuple[_Edit, Finding]] = []
    for e, f in edits:
        if kept and e.start < kept[-1][0].end:
            continue
        kept.append((e, f))
    return kept, failed


def _char_forms(ch: str) -> list[str]:
    """A character's encodings in a JSON string 0..n deep, longest first."""
    return [form for form, _ in _json_forms(ch)]


def _split_edits(text: str, data: bytes, f: Finding, start: int, end: int, mark: str) -> list[_Edit]:
    """A secret the decoder joined from several pieces (notebook source lines,
    streamed deltas, a log line wrapped under timestamps, colour codes inside
    it): follow the decoder's offset map character by character; the first
    piece becomes the marker, the others become empty.  Only the secret's own
    characters change."""
    from .decoders import decoders_for
    from .documents import read_document

    doc = read_document(f.path, data)
    if doc.text != text:
        return []
    secret = f.secret
    for decoder in decoders_for(doc):
        if decoder.name != f.provenance.decoder:
            continue
        for frag in decoder.fragments(doc):
            occ = frag.text.find(secret)
            while occ != -1:
                if start - _WIDEN <= frag.to_doc(occ) <= end:
                    pieces = _pieces(text, frag, occ, secret)
                    if pieces:
                        n = len(pieces)
                        layer = "raw" if n == 1 else f"split in {n} pieces"
                        return [_Edit(s, e, mark if k == 0 else "", layer) for k, (s, e) in enumerate(pieces)]
                occ = frag.text.find(secret, occ + 1)
    return []


def _pieces(text: str, frag, occ: int, secret: str) -> Optional[list[tuple[int, int]]]:
    pieces: list[list[int]] = []
    for i, ch in enumerate(secret):
        seg = frag._segment(occ + i)
        if seg.collapsed:
            return None
        d = frag.to_doc(occ + i)
        size = next((len(form) for form in _char_forms(ch) if text.startswith(form, d)), 0)
        if not size:
            return None
        if pieces and pieces[-1][1] == d:
            pieces[-1][1] = d + size
        elif pieces and d < pieces[-1][1]:
            return None
        else:
            pieces.append([d, d + size])
    return [(s, e) for s, e in pieces]


_TOKEN_STOP = frozenset(" \t\r\n\"'<>`()[]{},;|\\")
_URLISH = re.compile(r"%[0-9A-Fa-f]{2}|://")


def _in_url(text: str, e: _Edit) -> _Edit:
    """A secret written as is inside a URL or a URL-encoded value: the marker is
    percent-encoded there (« » and : have no place in a URL)."""
    if e.layer != "raw" or not e.text:
        return e
    lo = e.start
    while lo > 0 and e.start - lo < 2048 and text[lo - 1] not in _TOKEN_STOP:
        lo -= 1
    hi = e.end
    while hi < len(text) and hi - e.end < 2048 and text[hi] not in _TOKEN_STOP:
        hi += 1
    if _URLISH.search(text[lo:e.start]) or _URLISH.search(text[e.end:hi]):
        return replace(e, text=quote(_ascii(e.text), safe=""), layer="url")
    return e


def _in_windows(text: str, windows, find) -> list[_Edit]:
    for lo, hi in windows:
        found = find(text[lo:hi])
        if found:
            return [replace(e, start=e.start + lo, end=e.end + lo) for e in found]
    return []


def _splice(doc: _Text, edits: Sequence[_Edit]) -> bytes:
    if doc.encoding != "utf-8":
        return doc.bom + _apply(doc.text, edits).encode(doc.encoding, "surrogatepass")
    out = []
    pos = 0
    for e in sorted(edits, key=lambda e: e.start):
        bs, be = doc.char_to_byte(e.start), doc.char_to_byte(e.end)
        out.append(doc.data[pos:bs])
        out.append(e.text.encode("utf-8"))
        pos = be
    out.append(doc.data[pos:])
    return b"".join(out)


def _text_of(data: bytes) -> str:
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(enc, "replace")
    return data.decode("utf-8", "replace")


class Redactor:
    """Scans in-memory content with one engine and the scan's suppressions."""

    def __init__(self, options: ScanOptions, *, ascii_only: bool = False):
        from . import baseline as _baseline
        from .api import build_engine

        self.options = options
        self.ascii_only = ascii_only
        self.engine = build_engine(options)
        self.baseline = _baseline.load(options.baseline) if options.baseline else None

    def findings(self, path: str, data: bytes) -> list[Finding]:
        from .api import scan_bytes
        from .suppress import partition

        found = scan_bytes(self.engine, path, data)
        kept, _ = partition(found, baseline=self.baseline, allow_values=self.options.allow_values,
                            allow_regexes=self.options.allow_regexes)
        return [f for f in kept if f.severity.rank >= self.options.min_severity.rank]

    def redact_bytes(self, path: str, data: bytes) -> tuple[Optional[FileChange], list[NotRedacted]]:
        """Redact one file's content in memory: the change (None when nothing
        changed) and what could not be redacted, with the reason."""
        reason = unsafe_reason(data)
        if reason:
            return None, [NotRedacted(path, f"not rewritable: {reason}", findings=0)]
        doc = _read_text(data)
        if isinstance(doc, str):
            return None, [NotRedacted(path, doc, findings=0)]
        ascii_only = self.ascii_only or (doc.encoding == "utf-8" and not doc.valid_utf8)
        current = doc
        done: list[Redaction] = []
        rounds: list[list[_Edit]] = []
        failed: list[NotRedacted] = []
        findings = self.findings(path, data)
        for _ in range(MAX_ROUNDS):
            planned, failed = _plan_edits(current, findings, ascii_only)
            if not planned:
                break
            for e, f in planned:
                if not e.text:
                    continue  # a later piece of a split secret (the first piece holds the marker)
                line, col = _position(current, e.start)
                done.append(Redaction(path, f.rule_id, f.fingerprint, line, col, e.layer,
                                      marker(f.rule_id, f.fingerprint, ascii_only=ascii_only)))
            edits = [e for e, _ in planned]
            rounds.append(edits)
            nd = _read_text(_splice(current, edits))
            if isinstance(nd, str):  # cannot happen: the edits are text
                return None, [NotRedacted(path, nd)]
            current = nd
            findings = self.findings(path, current.data)
        else:
            planned, failed = _plan_edits(current, findings, ascii_only)
            failed += [NotRedacted(path, "still found after the last redaction round", f.rule_id, f.start_line)
                       for _, f in planned]
        if not done:
            return None, failed
        spans = _original_spans(rounds)
        return FileChange(path, data, current.data, tuple(done), _preview(doc.text, spans), spans), failed


def _position(doc: _Text, offset: int) -> tuple[int, int]:
    import bisect

    starts = doc.line_starts()
    k = bisect.bisect_right(starts, offset) - 1
    return k + 1, offset - starts[k] + 1


def _back(p: int, edits: Sequence[_Edit], is_end: bool) -> int:
    """Map an offset in the text after ``edits`` to the text before them."""
    delta = 0
    for e in sorted(edits, key=lambda e: e.start):
        ns, ne = e.start + delta, e.start + delta + len(e.text)
        if p < ns or (p == ns and not is_end):
            return p - delta
        if p <= ne:
            return e.end if is_end else e.start
        delta += len(e.text) - (e.end - e.start)
    return p - delta


def _original_spans(rounds: Sequence[Sequence[_Edit]]) -> tuple[tuple[int, int, bool], ...]:
    """Every round's edits mapped back to the original text, merged: (start,
    end, whether the span holds a marker; the other pieces of a split secret
    are removed)."""
    regions: list[tuple[int, int, bool]] = []
    for k, edits in enumerate(rounds):
        for e in edits:
            s, t = e.start, e.end
            for prev in reversed(rounds[:k]):
                s, t = _back(s, prev, False), _back(t, prev, True)
            regions.append((s, t, bool(e.text)))
    regions.sort()
    merged: list[list] = []
    for s, t, m in regions:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], t)
            merged[-1][2] = merged[-1][2] or m
        else:
            merged.append([s, t, m])
    return tuple((s, t, m) for s, t, m in merged)


def _preview(before: str, spans: Sequence[tuple[int, int, bool]]) -> str:
    """``before`` with every replaced span shown short (``ghp_…(40)``; a later
    piece of a split secret by its length only), never in clear."""
    out, pos = [], 0
    for s, t, m in spans:
        out.append(before[pos:s])
        if t > s:
            out.append(_short(before[s:t]) if m else f"…({t - s})")
        pos = t
    out.append(before[pos:])
    return "".join(out)


# --------------------------------------------------------------------------
# Whole runs


def plan(options: ScanOptions, *, ascii_only: bool = False) -> RedactResult:
    """Scan like ``scan(options)`` and compute every file's redacted content (nothing is written)."""
    from .api import scan

    if options.history or options.staged or options.diff_ref:
        raise UsageError("redact rewrites the working tree: --history, --staged and --diff do not apply")
    if "-" in options.paths:
        raise UsageError("redact -: use redact_stream for standard input")
    result = scan(options)
    redactor = Redactor(options, ascii_only=ascii_only)
    by_path: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_path.setdefault(f.path, []).append(f)
    changes: list[FileChange] = []
    failed = [NotRedacted(sk.path, f"not scanned: {sk.reason}", findings=0) for sk in result.skipped]
    for path, found in sorted(by_path.items()):
        if any(f.provenance.archive_member for f in found):
            failed.append(NotRedacted(path, "not rewritable: archive member (the archive is left as it is)",
                                      found[0].rule_id, found[0].start_line, findings=len(found)))
            continue
        try:
            st = os.lstat(path)
        except OSError:
            failed.append(NotRedacted(path, "not rewritable: archive member or not a file on disk",
                                      findings=len(found)))
            continue
        if not stat.S_ISREG(st.st_mode):
            failed.append(NotRedacted(path, "not rewritable: not a regular file", findings=len(found)))
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        change, not_done = redactor.redact_bytes(path, data)
        not_done = [replace(n, findings=len(found)) if not n.rule_id else n for n in not_done]
        if change is not None:
            changes.append(change)
        failed.extend(not_done)
    return RedactResult(tuple(changes), tuple(failed), result)


def redact_stream(options: ScanOptions, data: bytes, *, ascii_only: bool = False
                  ) -> tuple[bytes, RedactResult]:
    """Redact in-memory content (standard input): the new bytes and what was done."""
    redactor = Redactor(options, ascii_only=ascii_only)
    change, failed = redactor.redact_bytes(options.stdin_name, data)
    changes = (change,) if change is not None else ()
    return (change.redacted if change is not None else data), RedactResult(changes, tuple(failed))


def default_backup_dir() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "keyscan", "redact-backups", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))


def _private_dir(path: str) -> None:
    """Create ``path`` (and parents) owner-only; refuse one someone else can write."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.stat(path)
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise UsageError(f"--backup-dir: {path} belongs to another user")
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700)


def write_changes(changes: Iterable[FileChange], *, backup_dir: Optional[str]) -> list[str]:
    """Write each change atomically (same directory, same mode), after a backup
    copy (mode 0600 under ``backup_dir``, 0700) unless ``backup_dir`` is None.
    A file changed on disk since it was read is left alone and returned."""
    stale: list[str] = []
    for ch in changes:
        with open(ch.path, "rb") as fh:
            if fh.read() != ch.original:
                stale.append(ch.path)
                continue
        st = os.stat(ch.path)
        if backup_dir is not None:
            rel = os.path.abspath(ch.path).lstrip(os.sep)
            dest = os.path.join(backup_dir, rel)
            _private_dir(backup_dir)
            _private_dir(os.path.dirname(dest))
            write_atomic(dest, ch.original, 0o600, fsync=True)
        write_atomic(ch.path, ch.redacted, stat.S_IMODE(st.st_mode), owner=(st.st_uid, st.st_gid), fsync=True)
    return stale


__all__ = ["FileChange", "MARKER_RE", "NotRedacted", "RedactResult", "Redaction", "Redactor", "default_backup_dir",
           "marker", "plan", "redact_stream", "unsafe_reason", "write_changes"]
