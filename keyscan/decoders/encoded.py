"""Encoded values: base64 blobs and URL-encoded strings in any text file.

Base64 (standard or URL-safe alphabet, padded or not) is decoded only for
plausible blobs: 16 characters to 64 KB, a mix of upper and lower case, a
valid length, not an image (``data:image/...``, PNG ``iVBORw0KGgo``, JPEG
``/9j/``, GIF, WebP...), and bytes that decode as UTF-8 text that is almost all
printable.  The decoded text becomes a fragment whose every offset maps to the
encoded blob (a *collapsed* segment): a secret found inside is reported at the
blob's start on disk (line and column of the first encoded character).

Context for the generic (name + entropy) rules: when the blob is the value of
a named setting on the same line (``token: <b64>``, ``"auth": "<b64>"``,
``_auth=<b64>``, ``Authorization: Basic <b64>``) the fragment reads
``<name>=<decoded>``; when the decoded value is a ``user:password`` pair a
second line ``password=<password>`` follows, so a rule that needs a name sees
one.

A blob wrapped over several lines (``base64`` output at 76 columns, YAML
block scalars: full lines of one width, the last no longer) is joined first, so
a secret cut by a line break decodes whole.

URL-encoded tokens (``%XX`` runs) are decoded in place: literal characters map
one to one, each ``%XX`` run maps to its encoded span.

Hex: a run of at least 32 hex digits (one case, even length) is decoded
when the bytes are plausible text, like base64 (hex digests and random
bytes never are).  Located as ``hex-decoded``.

Decoding recurses into the decoded text up to ``Document.decode_depth``
levels (default 3, ``--decode-depth``: a Kubernetes ``.dockerconfigjson``
value holds JSON whose ``auth`` is base64 again; a URL-encoded
``Basic%20<b64>`` header; base64 of hex of base64); inner fragments map to
the outer encoded span, so a finding is placed at the outermost encoded text.
"""

from __future__ import annotations

import binascii
import codecs
import re
import sys
from typing import Iterable, Iterator, Optional

import regex

from ..documents import Document
from .interface import Fragment, Segment

MIN_B64 = 16
MAX_B64 = 64 * 1024
MAX_DEPTH = 3
"""Default decoding depth (``Document.decode_depth`` overrides it)."""
MIN_HEX = 32
_HEX_OF_TEXT = rf"(?:[2-7][0-9a-fA-F]){{{MIN_HEX // 2},}}"
"""Hex of printable ASCII: an even number (>= MIN_HEX) of hex digits, every
other one a high nibble 2-7 (a digest almost never is: the cheap test that
keeps hashes out).  Tried only on a run whose first digit is such a nibble."""
_HEX_TEXT = re.compile(_HEX_OF_TEXT)
_HEX_TEXT_BYTES = re.compile(_HEX_OF_TEXT.encode())
_NIBBLES = "234567"
_NIBBLE_CODES = frozenset(_NIBBLES.encode())
MAX_BLOBS = 2000  # per text; a file full of base64 is data, not configuration

_IMAGE_PREFIXES = ("iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR", "PHN2Zy", "PD94bWwg",
                   "AAABAA", "Qk", "SUkq", "TU0AK", "AAAA", "JVBERi0", "UEsDB", "H4sI")
_IMAGE_CONTEXT = re.compile(r"(?i)data:(?:image|font|audio|video|application/(?:octet-stream|pdf|zip))"
                            r"[^,\s]{0,80},$")
_URLSAFE = str.maketrans("-_", "+/")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_NAME_BEFORE = re.compile(
    r"(?:(?P<basic>(?i:basic))\s+|(?P<name>[A-Za-z_.$@][A-Za-z0-9_.$@-]{0,80})[\"']?\s*(?::|=|:=|=>)\s*[\"']?)$"
)
_USER_PASS = re.compile(r"^(?P<user>[A-Za-z0-9._@+~-]{1,128}):(?!//)(?P<pw>[^\s:]{4,256})$")
_ALNUM = re.compile(r"[A-Za-z0-9]")

_PCT_RUN = re.compile(r"%[0-9A-Fa-f]{2}(?:%[0-9A-Fa-f]{2})*")
_TOKEN_TAIL = re.compile(r"[^\s\"'<>`]{0,4096}")
_TOKEN_DELIMS = " \t\r\n\"'<>`"
MAX_URL_TOKEN = 8192


class EncodedDecoder:
    name = "encoded"

    def wants(self, doc: Document) -> bool:
        return True  # any text file; the blob regex itself is the cheap test

    def locate(self, doc: Document, offset: int) -> Optional[str]:
        return None

    def fragments(self, doc: Document) -> Iterable[Fragment]:
        depth = doc.decode_depth
        if depth < 1:
            return []
        text = doc.text
        out: list[Fragment] = []
        # An ASCII file's bytes are its characters: no re-encoding needed.
        _decode_all(text, None, 1, out, None, doc.data if len(doc.data) == len(text) else None, depth)
        return out


def _b64_table() -> bytes:
    table = bytearray(b"b" * 256)
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/":
        table[c] = ord("a")
    return bytes(table)


_TABLE = _b64_table()
_RUN = b"a" * MIN_B64
LONG_RUN = 256
# Runs of >= MIN_B64 alphabet symbols; the literal prefix lets the regex engine
# jump between candidates with a native substring search.  It counts at most
# LONG_RUN symbols (see _runs).
_RUNS = regex.compile(re.escape(_RUN) + b"a{0,%d}+" % (LONG_RUN - MIN_B64))


def _runs(symbols: bytes) -> list[tuple[int, int]]:
    """Spans of the runs of >= MIN_B64 "a" in ``symbols`` (the translated text).

    The regex counts the symbols of a run one by one (~8 instructions each);
    a run it stops counting at LONG_RUN (an image in a notebook, a ``data:``
    URI: tens of kilobytes) ends at the next "b", found by memchr, and the
    search resumes there.
    """
    found: list[tuple[int, int]] = []
    pos = 0
    # concurrent=False: by default the regex module releases and takes back the
    # GIL around every match (~1k instructions each); a worker runs nothing beside it.
    while True:
        for m in _RUNS.finditer(symbols, pos, concurrent=False):
            s, e = span = m.span()
            if e - s == LONG_RUN:
                pos = symbols.find(b"b", e)
                if pos < 0:
                    pos = len(symbols)
                found.append((s, pos))
                break
            found.append(span)
        else:
            return found
_DASH_CODES = frozenset(b"-_")
_URLSAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64_spans(text: str, ascii_bytes: Optional[bytes] = None) -> list[tuple[int, int]]:
    """Spans of runs of >= MIN_B64 base64-alphabet characters (plus ``=`` padding).

    The text is mapped to two symbols with ``bytes.translate`` and runs of the
    standard alphabet are found by a regex with a 16-symbol literal prefix:
    both native, no per-position attempt (snake_case identifiers never form a
    run).  A run touching ``-``/``_`` is extended over the URL-safe alphabet.
    Encoding with ``ascii``/``replace`` keeps one byte per character, so
    offsets are character offsets (``ascii_bytes``: the document's bytes when
    they are its characters one to one).

    Most runs are hex digests, lower-case words and paths, CONSTANTS: base64 of
    text mixes cases, so a run of one case is dropped, unless it touches
    ``-``/``_`` (the URL-safe extension decides) or is hex of text (see
    :func:`_is_hex`).  The bulk of the runs ends at that test: it reads the
    run with its two neighbours in one slice (they are no letters, so they
    change neither case test).
    """
    raw = ascii_bytes if ascii_bytes is not None else text.encode("ascii", "replace")
    n = len(text)
    spans: list[tuple[int, int]] = []
    done = 0  # end of the last URL-safe extension: runs inside it were covered
    for s, e in _runs(raw.translate(_TABLE)):
        if s < done:
            # Only a run touching "-"/"_" can reach into an extended span (the
            # character before it is URL-safe but not standard): the rest of
            # it, after the "+" or "/" that stopped the extension, is a run of
            # its own.  Its neighbour before may be a letter: not in the slice.
            if e - done < MIN_B64:
                continue
            s = done
            run = raw[s:e + 1]
            urlsafe = raw[s - 1] in _DASH_CODES or run[-1] in _DASH_CODES
        else:
            run = raw[s - 1:e + 1] if s else raw[:e + 1]  # with its neighbours: no letters
            urlsafe = run[0] in _DASH_CODES or run[-1] in _DASH_CODES
        if not urlsafe:
            if (run.islower() or run.isupper()) and not (
                    raw[s] in _NIBBLE_CODES and raw[s + 2] in _NIBBLE_CODES  # a cheap gate:
                    and raw[s + 4] in _NIBBLE_CODES and raw[s + 6] in _NIBBLE_CODES  # 2 % of digests pass
                    and _HEX_TEXT_BYTES.fullmatch(raw, s, e) is not None):
                continue  # lower-case words and paths, CONSTANTS, digests: never base64 of text
        else:
            lo = max(0, s - 4096)
            while s > lo and text[s - 1] in _URLSAFE_CHARS:
                s -= 1
            hi = min(n, e + 4096)
            while e < hi and text[e] in _URLSAFE_CHARS:
                e += 1
        done = stop = e
        while e < n and e - stop < 2 and text[e] == "=":
            e += 1
        if not (e < n and text[e] == "="):  # "===" is not base64 padding
            spans.append((s, e))
    return spans


def _is_hex(blob: str) -> bool:
    """Hex of printable text (:data:`_HEX_OF_TEXT`), digits of one case."""
    return blob[0] in _NIBBLES and _HEX_TEXT.fullmatch(blob) is not None \
        and (blob.islower() or blob.isupper() or blob.isdigit())


def _hex_text(blob: str) -> Optional[str]:
    try:
        raw = binascii.a2b_hex(blob)
    except (binascii.Error, ValueError):
        return None
    return _plausible(raw)


def _decode_all(text: str, parent: Optional[Fragment], depth: int, out: list[Fragment],
                parent_loc: Optional[str], ascii_bytes: Optional[bytes] = None,
                max_depth: int = MAX_DEPTH) -> None:
    """Append fragments for every encoded value in ``text`` (a document text when
    ``parent`` is None, else the text of ``parent``), ``max_depth`` levels deep."""
    seen: dict[str, Optional[str]] = {}
    n = 0
    for s, e, blob in _blobs(text, ascii_bytes):
        if len(blob) > MAX_B64:
            continue
        # A JSON/shell escape right before the blob (`\nZ2hw...`) glued a letter onto it.
        if s >= 1 and text[s - 1] == "\\":
            s += 1
            blob = blob[1:]
            if len(blob) < MIN_B64:
                continue
        kind = "base64"
        if blob.islower() or blob.isupper() or blob.isdigit():
            if not _is_hex(blob):
                continue  # snake_case words, CONSTANTS: base64 of text mixes cases
            kind = "hex"
        n += 1
        if n > MAX_BLOBS:
            break
        if blob in seen:
            decoded = seen[blob]
        else:
            decoded = seen[blob] = _hex_text(blob) if kind == "hex" else _b64_text(blob, text, s)
        if decoded is None:
            continue
        ctx = _NAME_BEFORE.search(text, max(0, s - 100), s)
        name = None
        basic = False
        if ctx is not None:
            basic = ctx.group("basic") is not None
            name = "Authorization" if basic else ctx.group("name")
        frag_text = _with_context(decoded, name, basic)
        shown = name
        if name and parent_loc and f"{name} (" in parent_loc:
            shown = None  # the name the outer layer put in front: said once
        loc = f"{shown} ({kind}-decoded)" if shown else f"{kind}-decoded"
        if parent_loc:
            loc = f"{parent_loc} > {loc}"
        ds, de = _span(parent, s, e)
        frag = Fragment(frag_text, EncodedDecoder.name,
                        [Segment(0, len(frag_text), ds, collapsed=True, doc_end=de, location=loc)],
                        depth=depth)
        out.append(frag)
        if depth < max_depth:
            _decode_all(frag_text, frag, depth + 1, out, loc, max_depth=max_depth)
    if "%" in text:
        _url_tokens(text, parent, depth, out, parent_loc, max_depth)


MIN_WRAP = 40
"""Shortest line width of a wrapped blob (``base64`` wraps at 76, PEM-style at 64)."""


def _blobs(text: str, ascii_bytes: Optional[bytes] = None) -> list[tuple[int, int, str]]:
    """``(start, end, blob)`` of every base64 run, with a blob wrapped over
    several lines (``base64`` output, YAML block scalars: full lines of one
    width, the last no longer) joined into one: a secret encoded across a line
    break decodes whole, reported at the block's first character."""
    blobs: list[tuple[int, int, str]] = []
    block: list[tuple[int, int]] = []  # whole-line runs that may be one wrapped blob

    def flush() -> None:
        if len(block) > 1:
            blobs.append((block[0][0], block[-1][1], "".join(text[a:b] for a, b in block)))
        else:
            a, b = block[0]
            blobs.append((a, b, text[a:b]))
        block.clear()

    n = len(text)
    for s, e in _b64_spans(text, ascii_bytes):
        # Most runs end before their line does: that cheap test first.
        if (e < n and text[e] not in "\r\n") or not _whole_line(text, s, e):
            if block:
                flush()
            blobs.append((s, e, text[s:e]))
            continue
        if block:
            ps, pe = block[-1]
            width = block[0][1] - block[0][0]
            joins = (pe - ps == width and width >= MIN_WRAP and width % 4 == 0 and e - s <= width
                     and not text[ps:pe].endswith("=") and _next_line(text, pe, s))
            if not joins:
                flush()
        block.append((s, e))
    if block:
        flush()
    return blobs


def _whole_line(text: str, s: int, e: int) -> bool:
    """The run is all of its line but indentation."""
    if e < len(text) and text[e] not in "\r\n":
        return False
    i = s
    while i > 0 and text[i - 1] in " \t":
        i -= 1
    return i == 0 or text[i - 1] == "\n"


def _next_line(text: str, end: int, start: int) -> bool:
    """``start`` begins the line right after the one ending at ``end``."""
    gap = text[end:start]
    return gap.lstrip("\r").startswith("\n") and gap.count("\n") == 1 and not gap.strip()


def _span(parent: Optional[Fragment], s: int, e: int) -> tuple[int, int]:
    if parent is None:
        return s, e
    return parent.to_doc(s), parent.to_doc_end(e)


if sys.version_info >= (3, 11):
    def _b64decode(s: str) -> bytes:
        return binascii.a2b_base64(s, strict_mode=True)
else:  # Python 3.10: no strict_mode (it raised TypeError there, lost as a decoder failure)
    _STRICT_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")

    def _b64decode(s: str) -> bytes:
        if not _STRICT_B64.fullmatch(s):
            raise binascii.Error("not strict base64")
        return binascii.a2b_base64(s)


def _b64_text(blob: str, text: str, start: int) -> Optional[str]:
    """The decoded text of a plausible base64 blob, or None.

    The cheap tests come first: most blobs are camelCase identifiers, whose
    bytes are no UTF-8 from the first few on, and a long blob is most often an
    image or archive.  Every test only ever answers None, so their order does
    not change the answer.
    """
    body = blob.rstrip("=")
    rem = len(body) % 4
    if rem == 1:
        return None
    if len(blob) != len(body) and len(blob) % 4:
        return None  # padding that does not complete a quantum
    if "-" in body or "_" in body:
        if "+" in body or "/" in body:
            return None
        body = body.translate(_URLSAFE)
    # The first whole quanta (all alphabet characters) decode to the first bytes.
    if not _may_be_utf8(binascii.a2b_base64(body[:min(len(body), _HEAD_B64) // 4 * 4])):
        return None
    if blob.startswith(_IMAGE_PREFIXES):
        return None
    try:
        raw = _b64decode(body + "=" * ((4 - rem) % 4))
    except (binascii.Error, ValueError):
        return None
    decoded = _plausible(raw)
    if decoded is None:
        return None
    if start and _IMAGE_CONTEXT.search(text, max(0, start - 100), start):
        return None
    return decoded


_HEAD = 48
"""Bytes that :func:`_may_be_utf8` reads: most bytes that are no text say so early."""
_HEAD_B64 = _HEAD // 3 * 4
"""Base64 characters that decode to ``_HEAD`` bytes: a blob's start is checked
before the whole is decoded."""
_REPLACEMENT = "\ufffd".encode()


def _may_be_utf8(head: bytes) -> bool:
    """False when ``head``, the start of some bytes, holds a sequence that is
    no UTF-8 whatever follows it; then the bytes are no text.

    Most candidates are identifiers (camelCase reads as base64) or binary data
    whose bytes are no UTF-8 from the first few on.  Decoding with "replace"
    marks that with U+FFFD instead of raising an exception, and with
    ``final=False`` a character cut at the end of ``head`` is no error.  Bytes
    that spell U+FFFD themselves get the benefit of the doubt.
    """
    # final=False is utf_8_decode's default (passing False costs an internal
    # TypeError), and bytes.find, unlike ``in``, does not first try its
    # operand as an integer (another TypeError raised and cleared).
    return "\ufffd" not in codecs.utf_8_decode(head, "replace")[0] or head.find(_REPLACEMENT) >= 0


def _plausible(raw: bytes) -> Optional[str]:
    """Decoded bytes as text, when they are almost all printable text."""
    if raw.isascii():
        decoded = raw.decode("ascii")
    else:
        if not _may_be_utf8(raw[:_HEAD]):
            return None
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if len(decoded) < 8:
        return None
    if not decoded.isprintable():
        bad = len(_CTRL.findall(decoded))
        if bad * 20 > len(decoded):
            return None
    if len(_ALNUM.findall(decoded)) * 2 < len(decoded):
        return None  # punctuation soup
    return decoded


def _with_context(decoded: str, name: Optional[str], basic: bool) -> str:
    if "\n" in decoded or len(decoded) > 1024:
        return decoded
    text = f"{name}={decoded}" if name else decoded
    up = _USER_PASS.match(decoded.strip())
    if up is not None and (basic or name or up.group("pw")):
        text += f"\nusername={up.group('user')}\npassword={up.group('pw')}"
    return text


def _url_tokens(text: str, parent: Optional[Fragment], depth: int, out: list[Fragment],
                parent_loc: Optional[str], max_depth: int = MAX_DEPTH) -> None:
    from urllib.parse import unquote

    last_end = -1
    for m in _pct_runs(text):
        if m.start() < last_end:
            continue
        hit = m.start()
        lo = max(last_end, hit - MAX_URL_TOKEN, 0)
        start = lo
        for c in _TOKEN_DELIMS:
            k = text.rfind(c, lo, hit)
            if k + 1 > start:
                start = k + 1
        tail = _TOKEN_TAIL.match(text, hit)
        end = tail.end() if tail else m.end()
        last_end = end
        token = text[start:end]
        if len(token) > MAX_URL_TOKEN:
            continue
        parts: list[str] = []
        segs: list[Segment] = []
        flen = 0
        pos = start
        changed = False
        for r in _PCT_RUN.finditer(text, start, end):
            rs, re_ = r.span()
            if rs > pos:
                lit = text[pos:rs]
                segs.append(_literal_segment(parent, pos, rs, flen))
                parts.append(lit)
                flen += len(lit)
            dec = unquote(r.group(), errors="replace")
            if dec != r.group():
                changed = True
            if dec:
                ds, de = _span(parent, rs, re_)
                segs.append(Segment(flen, len(dec), ds, collapsed=True, doc_end=de))
                parts.append(dec)
                flen += len(dec)
            pos = re_
        if pos < end:
            segs.append(_literal_segment(parent, pos, end, flen))
            parts.append(text[pos:end])
            flen += end - pos
        if not changed or not segs:
            continue
        loc = f"{parent_loc} > url-decoded" if parent_loc else "url-decoded"
        segs = [Segment(sg.frag_start, sg.length, sg.doc_start, sg.steps, loc, sg.collapsed,
                        sg.doc_end) for sg in segs]
        frag = Fragment("".join(parts), EncodedDecoder.name, segs, depth=depth)
        out.append(frag)
        if depth < max_depth:
            _decode_all(frag.text, frag, depth + 1, out, loc, max_depth=max_depth)


MAX_PCT_MISSES = 64


def _pct_runs(text: str) -> Iterator[re.Match[str]]:
    """The matches of :data:`_PCT_RUN` in ``text``, the same as ``finditer``.

    Every match starts with ``%``, so ``str.find`` (memchr) jumps from one ``%``
    to the next and the pattern is tried there: most files hold a few ``%``
    (printf formats, percentages) and no ``%XX`` at all, and the regex's own
    scan reads every character (~5 instructions each).  After
    ``MAX_PCT_MISSES`` ``%`` that start no match, ``finditer`` takes over: a
    text dense in ``%`` costs what it did.
    """
    pos = 0
    misses = 0
    while (i := text.find("%", pos)) >= 0:
        m = _PCT_RUN.match(text, i)
        if m is None:
            misses += 1
            if misses > MAX_PCT_MISSES:
                yield from _PCT_RUN.finditer(text, i + 1)
                return
            pos = i + 1
        else:
            yield m
            pos = m.end()


def _literal_segment(parent: Optional[Fragment], s: int, e: int, flen: int) -> Segment:
    """Literal characters of a URL token: one to one in the document, or collapsed
    to the parent's encoded span when the token itself came from decoding."""
    if parent is None:
        return Segment(flen, e - s, s)
    ds, de = _span(parent, s, e)
    return Segment(flen, e - s, ds, collapsed=True, doc_end=de)


DECODER = EncodedDecoder()
