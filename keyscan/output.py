"""Writing reports: atomically, owner-only permissions."""

from __future__ import annotations

import os
import tempfile


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600.

    The report appears complete or not at all (an interrupted scan never
    leaves a partial file that looks finished).
    """
    directory = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".keyscan-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600) if hasattr(os, "fchmod") else None
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
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
