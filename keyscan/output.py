"""Writing reports: atomically, owner-only permissions; and the one function
that makes scanned text safe to show (:func:`printable`)."""

from __future__ import annotations

import os
import re
import tempfile

# Characters that must never reach a terminal, a CI log or a report raw when
# they come from scanned content (file names, JSON keys, MCP server names,
# repo rules, config keys): C0 controls, DEL, C1 controls (0x80-0x9f: 8-bit
# CSI/OSC on some terminals), bidi embeddings/overrides/isolates and marks
# (Trojan Source), the Unicode line/paragraph separators, and lone surrogates
# (bytes of a non-UTF-8 file name, which Python carries as U+DC80-U+DCFF).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(m: re.Match) -> str:
    c = m.group(0)
    o = ord(c)
    if c in _NAMED:
        return _NAMED[c]
    if 0xDC80 <= o <= 0xDCFF:  # surrogateescape: the undecodable byte itself
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o <= 0xFF else f"\\u{o:04x}"


def printable(text: str, keep: str = "") -> str:
    """``text`` with every control character, escape sequence introducer, bidi
    override, line separator and undecodable byte written as a visible escape
    (``\\x1b``, ``\\n``, ``\\u202e``, ``\\xff`` for the byte 0xff of a
    non-UTF-8 file name): one line of valid UTF-8 that cannot move the cursor,
    recolour or clear a terminal, start a CI workflow command or reorder what
    is shown.  ``keep`` lists characters left as they are (``"\\n"`` for a
    multi-line block, ``"\\t"`` where the format allows tabs).  Idempotent;
    the same escapes in every format and message."""
    if not _UNSAFE.search(text):
        return text
    if keep:
        return _UNSAFE.sub(lambda m: m.group(0) if m.group(0) in keep else _escape(m), text)
    return _UNSAFE.sub(_escape, text)


_JSON_RAW = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _json_escape(m: re.Match) -> str:
    c = m.group(0)
    if "\ud800" <= c <= "\udfff":  # not a character: shown as printable() shows it (\\xff), as text
        return printable(c).replace("\\", "\\\\")
    return f"\\u{ord(c):04x}"


def json_text(doc: object, *, indent: "int | None" = 2, sort_keys: bool = False) -> str:
    """``doc`` as JSON that is always valid UTF-8 and carries no raw control,
    C1, bidi or line-separator character (JSON escapes them; ``json.dumps``
    alone leaves DEL, C1 and bidi characters raw and fails on the lone
    surrogates of a non-UTF-8 file name).  Ends with a newline."""
    import json

    text = json.dumps(doc, indent=indent, sort_keys=sort_keys, ensure_ascii=False)
    return _JSON_RAW.sub(_json_escape, text) + "\n"


def printable_tree(doc: object) -> object:
    """``doc`` (JSON data) with :func:`printable` applied to every string, keys included."""
    if isinstance(doc, str):
        return printable(doc)
    if isinstance(doc, dict):
        return {printable(k) if isinstance(k, str) else k: printable_tree(v) for k, v in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [printable_tree(v) for v in doc]
    return doc


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600.

    The report appears complete or not at all (an interrupted scan never
    leaves a partial file that looks finished).  A special file is written
    through instead of being replaced (:func:`write_special`): ``-o
    /dev/stdout``, ``/dev/null``, a FIFO, a terminal.
    """
    data = text.encode("utf-8")
    if not write_special(path, data):
        write_atomic(path, data, 0o600)


_FD_PATH = re.compile(r"/(?:dev/(?:fd/(\d+)|(stdout)|(stderr))|proc/self/fd/(\d+))")


def write_special(path: str, data: bytes) -> bool:
    """Write ``data`` through ``path`` when it names an open descriptor
    (``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N``:
    written to that descriptor, whatever it is — a pipe, a terminal, a file
    opened for appending) or is itself a device, FIFO or socket node (opened
    for writing, never created, truncated or replaced).  Returns False for
    anything else, to be replaced atomically: a regular file, a missing
    path, and a symbolic link — a link planted in a scanned tree is
    replaced, never followed to a device."""
    import stat

    m = _fd_path(path)
    if m is None and os.path.islink(path) and os.path.dirname(os.path.abspath(path)) == "/dev":
        m = _fd_path(os.path.join("/dev", os.readlink(path)))  # /dev/stdout -> /proc/self/fd/1 (Linux)
    if m:
        fd = 1 if m.group(2) else 2 if m.group(3) else int(m.group(1) or m.group(4))
        if fd in (1, 2):
            import sys

            stream = sys.stdout if fd == 1 else sys.stderr
            stream.flush()
        _write_all(fd, data)
        return True
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return False
    flags = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)  # a FIFO waits for its reader, as `cmd > fifo` does
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):  # replaced by a regular file meanwhile
            return False
        _write_all(fd, data)
    finally:
        os.close(fd)
    return True


def _fd_path(path: str) -> "re.Match | None":
    if not path.startswith("/"):
        return None
    return _FD_PATH.fullmatch("/" + os.path.normpath(path).lstrip("/"))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_atomic(path: str, data: bytes, mode: int = 0o600, *, owner: "tuple[int, int] | None" = None,
                 fsync: bool = False, prefix: str = ".keyscan-") -> None:
    """Replace ``path`` with ``data`` atomically: a temporary file in the same
    directory (created 0600, then set to ``mode`` and, when allowed, ``owner``)
    renamed over it; on any failure the temporary file is removed and ``path``
    is left as it was."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if owner is not None and hasattr(os, "fchown"):
                try:
                    os.fchown(fh.fileno(), *owner)  # keep the owner when allowed (root rewriting a tree)
                except OSError:
                    pass
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), mode)
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def parse_size(value: str) -> int:
    """``10MB``, ``512k``, ``2G`` or plain bytes -> bytes."""
    v = value.strip().lower().replace(" ", "")
    units = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
    num = v.rstrip("kmgb")
    unit = v[len(num):]
    if unit not in units or not num.replace(".", "", 1).isdigit():
        raise ValueError(f"invalid size {value!r} (e.g. 10MB, 512k, 1048576)")
    return int(float(num) * units[unit])
