"""On-disk cache of the compiled rule set (parsed rules + prefilter database).

The cache key covers keyscan's version, the prefilter kind and every rule
file's path, size and modification time, so editing a rule invalidates it.
A cache that cannot be read or written is ignored: it only saves time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Optional

from ._version import __version__


def cache_dir() -> Path:
    base = os.environ.get("KEYSCAN_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "keyscan" if xdg else Path.home() / ".cache" / "keyscan"


FORMAT = 2
"""Bumped whenever the pickled engine's layout changes."""


def cache_key(files: list[Path], kind: str, extra: str = "") -> str:
    h = hashlib.sha256(f"{__version__}\x00{FORMAT}\x00{kind}\x00{extra}".encode())
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        h.update(f"{f.resolve()}\x00{st.st_size}\x00{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def load(key: str) -> Optional[object]:
    path = cache_dir() / f"engine-{key}.pickle"
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, truncated, from another version: rebuild
        return None


def store(key: str, value: object) -> None:
    d = cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".engine-")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, d / f"engine-{key}.pickle")
    except OSError:
        pass
