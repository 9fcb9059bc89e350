"""Writing reports: atomically, owner-only permissions."""

from __future__ import annotations

import os
import tempfile


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600.

    The report appears complete or not at all (an interrupted scan never
    leaves a partial file that looks finished).
    """
    write_atomic(path, text.encode("utf-8"), 0o600)


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
