"""On-disk cache of the compiled rule set: data only, never code.

A cache entry is one JSON file holding the parsed rules (plain fields, not
their examples) and, for the Hyperscan engine, the serialized Hyperscan
database (base64 of ``hyperscan.dumpb``).  Loading it runs no code from the
file: the rules are rebuilt field by field and the database goes through
``hyperscan.loadb``.
Nothing is unpickled (an old ``*.pickle`` file planted in the directory is
never opened).

Because the database bytes reach a native deserializer, an entry is only
read when it cannot have been written by someone else:

* the cache directory is owned by the current user and is not writable by
  group or others (it is created ``0700``);
* the entry is a regular file (not followed through a symlink), owned by the
  current user and not writable by group or others.

Anything else is ignored (the rules are compiled again), and nothing is ever
created outside the cache directory: a missing parent (``$HOME``,
``~/.cache``, ``$XDG_CACHE_HOME``) means no cache, not a new directory.

The cache key covers keyscan's version, the cache format, the prefilter kind
and every rule file's path, size and modification time, so editing a rule
invalidates it.  A cache that cannot be read or written only costs time.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ._version import __version__
from .models import Confidence, Severity
from .output import write_atomic

if TYPE_CHECKING:
    from .detect.engine import Engine
    from .ruleset.model import Rule


def cache_dir() -> Optional[Path]:
    """Where the cache lives, or None when no location is known (no ``$HOME``)."""
    base = os.environ.get("KEYSCAN_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "keyscan"
    home = os.environ.get("HOME")
    if not home:
        return None
    return Path(home) / ".cache" / "keyscan"


FORMAT = 4
"""Bumped whenever the entry layout changes (2 was a pickle, no longer read;
3 held the rules' examples)."""


def cache_key(files: list[Path], kind: str, extra: str = "") -> str:
    """The entry for these rule files: by their names and contents (about 250 KB
    for the built-in rules, hashed in well under a millisecond), not by their
    paths, so rule files read from a temporary copy (the trusted configuration
    of ``--diff`` and ``--staged``) find the entry of the previous run."""
    h = hashlib.sha256(f"{__version__}\x00{FORMAT}\x00{kind}\x00{extra}".encode())
    for f in files:
        try:
            data = f.read_bytes()
        except OSError:
            continue
        h.update(f"{f.name}\x00{len(data)}\x00".encode())
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()[:24]


MAX_ENTRIES = 16
"""Entries kept in the cache directory: storing one removes the least recently
used beyond this (each keyscan version and each rule set has its own)."""


def _private(st: os.stat_result) -> bool:
    """Owned by this user and writable by no one else."""
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _trusted_dir(create: bool) -> Optional[Path]:
    """The cache directory when it is safe to use (created 0700 when asked and
    its parent exists), else None."""
    d = cache_dir()
    if d is None:
        return None
    if create:
        try:
            d.mkdir(mode=0o700)  # never parents: nothing outside the cache directory
        except FileExistsError:
            pass
        except OSError:
            return None
    try:
        st = os.lstat(d)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or not _private(st):
        return None
    return d


def _entry(d: Path, key: str) -> Path:
    return d / f"engine-{key}.json"


def read_entry(key: str) -> Optional[dict]:
    """The JSON document of a trusted cache entry, or None."""
    d = _trusted_dir(create=False)
    if d is None:
        return None
    try:
        fd = os.open(_entry(d, key), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not _private(st):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read()
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("key") != key:
        return None
    try:
        os.utime(_entry(d, key), follow_symlinks=False)  # recently used: kept by _prune
    except OSError:
        pass
    return doc


def load(key: str) -> "Optional[Engine]":
    """The cached engine for ``key``, or None (missing, untrusted, damaged)."""
    doc = read_entry(key)
    if doc is None:
        return None
    try:
        return engine_from_data(doc)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    except ImportError:
        return None
    except Exception as exc:  # hyperscan.error from loadb: a damaged database
        if _is_hyperscan_error(exc):
            return None
        raise


def _is_hyperscan_error(exc: BaseException) -> bool:
    try:
        import hyperscan
    except ImportError:
        return False
    return isinstance(exc, hyperscan.error)


def store(key: str, engine: "Engine") -> None:
    d = _trusted_dir(create=True)
    if d is None:
        return
    doc = engine_to_data(engine)
    doc["format"] = FORMAT
    doc["key"] = key
    data = json.dumps(doc, separators=(",", ":")).encode("utf-8")
    try:
        write_atomic(str(_entry(d, key)), data, 0o600, prefix=".engine-")
    except OSError:
        return
    _prune(d)


def _prune(d: Path) -> None:
    """Remove the least recently used entries beyond :data:`MAX_ENTRIES`
    (a load refreshes an entry's time). Only keyscan's own regular files."""
    entries = []
    for p in d.glob("engine-*.json"):
        try:
            st = p.lstat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            entries.append((st.st_mtime_ns, p))
    for _, p in sorted(entries, reverse=True)[MAX_ENTRIES:]:
        try:
            p.unlink()
        except OSError:
            pass


# -- engine <-> plain data ---------------------------------------------------

def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: Any) -> bytes:
    if not isinstance(s, str):
        raise TypeError("expected base64 text")
    return base64.b64decode(s.encode("ascii"), validate=True)


_NOT_CACHED = ("examples", "negative_examples")
"""Rule fields left out of an entry: only ``keyscan rules check`` runs the
examples, and it reads the rule files (a quarter of an entry's size, parsed on
every start for nothing).  A cached engine's rules have none."""


def rule_to_data(rule: "Rule") -> dict:
    d = {f.name: getattr(rule, f.name) for f in dataclasses.fields(rule) if f.name not in _NOT_CACHED}
    d["severity"] = rule.severity.value
    d["confidence"] = rule.confidence.value
    return d


_TUPLE_FIELDS = ("keywords", "tags", "nhi", "checks", "references")
_STR_FIELDS = ("id", "name", "provider", "pattern", "family", "description", "anchor", "source")
_INT_FIELDS = ("window", "window_before", "starts_within", "priority")


def _cached_fields() -> frozenset[str]:
    from .ruleset.model import Rule

    return frozenset(f.name for f in dataclasses.fields(Rule)) - set(_NOT_CACHED)


def rule_from_data(d: Any, names: Optional[frozenset[str]] = None) -> "Rule":
    """A :class:`Rule` from :func:`rule_to_data` output; every field type-checked
    (``names``: :func:`_cached_fields`, passed in when loading many rules).

    An entry holds a few hundred rules and is read on every start, so the
    checks are C-level: ``str.join`` refuses any item that is not a string,
    and the rule is made without the frozen dataclass's per-field
    ``object.__setattr__`` (it has no ``__post_init__``; the fields left out of
    the cache keep their class defaults)."""
    from .ruleset.model import Rule

    if not isinstance(d, dict):
        raise TypeError("rule must be an object")
    names = names or _cached_fields()
    if d.keys() != names:
        raise ValueError("rule fields differ")
    fields: dict[str, Any] = dict.fromkeys(names)  # keyed by the class's own (interned) names
    fields.update(d)
    _JOIN([fields[k] for k in _STR_FIELDS])  # TypeError unless all are str
    for k in _TUPLE_FIELDS:
        v = fields[k]
        if type(v) is not list:
            raise TypeError(k)
        _JOIN(v)
        fields[k] = tuple(v)
    if not {type(fields[k]) for k in _INT_FIELDS} <= {int}:
        raise TypeError("window, window_before, starts_within, priority")
    if type(fields["generic"]) is not bool or type(fields["placeholder_filter"]) is not bool:
        raise TypeError("flags")
    if type(fields["min_entropy"]) not in (int, float):
        raise TypeError("min_entropy")
    fields["min_entropy"] = float(fields["min_entropy"])
    fields["severity"] = Severity(fields["severity"])
    fields["confidence"] = Confidence(fields["confidence"])
    rule = object.__new__(Rule)
    rule.__dict__.update(fields)
    return rule


_JOIN = "".join


def engine_to_data(engine: "Engine") -> dict:
    pf = engine.prefilter
    prefilter: dict[str, Any] = {
        "kind": pf.name,
        "exprs": [list(e) for e in getattr(pf, "exprs", engine.exprs)],
        "triggers": [_b64(t) for t in pf.triggers],
        "located": [_b64(t) for t in pf.located],
    }
    if pf.name == "hyperscan":
        prefilter["in_database"] = list(pf.in_database)  # type: ignore[attr-defined]
        prefilter["db"] = _b64(pf.serialize())  # type: ignore[attr-defined]
    return {"rules": [rule_to_data(r) for r in engine.rules],
            "generic_min_entropy": engine.generic_min_entropy, "prefilter": prefilter}


def engine_from_data(doc: dict) -> "Engine":
    from .detect.engine import Engine
    from .detect.prefilter import Expr, HyperscanPrefilter, PythonPrefilter

    names = _cached_fields()
    rules = [rule_from_data(r, names) for r in doc["rules"]]
    p = doc["prefilter"]
    exprs = []
    for e in p["exprs"]:
        if not isinstance(e, list) or len(e) != 2 or not all(isinstance(x, str) for x in e):
            raise TypeError("expr")
        exprs.append(Expr(e[0], e[1]))
    triggers = [_unb64(t) for t in p["triggers"]]
    located = [_unb64(t) for t in p["located"]]
    gme = doc["generic_min_entropy"]
    if type(gme) not in (int, float):
        raise TypeError("generic_min_entropy")
    prefilter: Any
    if p["kind"] == "hyperscan":
        in_db = p["in_database"]
        if not isinstance(in_db, list) or len(in_db) != len(exprs) or not all(isinstance(x, bool) for x in in_db):
            raise TypeError("in_database")
        prefilter = HyperscanPrefilter(exprs, triggers, _unb64(p["db"]), in_db, located)
    elif p["kind"] == "python":
        prefilter = PythonPrefilter(exprs, triggers, located)
    else:
        raise ValueError("unknown prefilter")
    engine = Engine(rules, prefilter=prefilter, generic_min_entropy=float(gme))
    if engine.exprs != tuple(exprs):  # the database must answer for exactly these rules
        raise ValueError("prefilter does not match the rules")
    return engine
