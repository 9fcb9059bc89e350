"""Baselines: accepted findings stored as salted slow fingerprints, never secrets.

The file is JSON with one entry per line, sorted by fingerprint, so that two
branches adding entries rarely conflict when merged::

    {
      "tool": "keyscan",
      "version": 2,
      "fingerprint": {"scheme": "scrypt", "n": 1024, "r": 8, "p": 1, "baseline_id": "9f1c..."},
      "entries": [
        {"fingerprint": "028e...", "rule_id": "github-pat-classic", "path": "app.env"},
        ...
      ]
    }

An entry's fingerprint is ``scrypt(rule NUL secret)`` salted with the
baseline's own random ``baseline_id`` (not named "salt": it is no secret, and
a secret-like name would make keyscan report its own baseline) (see :mod:`keyscan.fingerprint`), so entries survive line moves,
reformatting and file renames, and a committed baseline is no cheap oracle
for guessing the secrets it accepts.  Version 1 files (unsalted SHA-256
fingerprints) are still read; ``keyscan baseline update`` rewrites them in
the current version.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from typing import Iterable, Optional

from . import fingerprint as fp
from .errors import UsageError
from .models import Finding
from .output import write_private

DEFAULT_NAME = ".keyscan-baseline.json"
VERSION = 2


@dataclass(frozen=True)
class Baseline:
    """A loaded (or new) baseline: its fingerprint scheme and entries by fingerprint."""

    entries: dict[str, dict] = field(default_factory=dict)
    version: int = VERSION
    salt: bytes = b""

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def __contains__(self, fingerprint: object) -> bool:
        return fingerprint in self.entries

    def key(self, rule_id: str, secret: str) -> str:
        """The fingerprint this baseline stores for ``secret`` found by ``rule_id``."""
        if self.version == 1:
            return fp.legacy_fingerprint(rule_id, secret)
        return fp.fingerprint(rule_id, secret, self.salt)

    def matches(self, f: Finding) -> bool:
        """Is ``f`` accepted?  (Only findings of a rule the baseline names pay for a hash.)"""
        if not self.entries or f.rule_id not in self.rule_ids:
            return False
        return self.key(f.rule_id, f.secret) in self.entries

    @functools.cached_property
    def rule_ids(self) -> frozenset[str]:
        return frozenset(e.get("rule_id", "") for e in self.entries.values())


def new(salt: Optional[bytes] = None) -> Baseline:
    return Baseline({}, VERSION, salt if salt is not None else os.urandom(16))


def load(path: str) -> Baseline:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise UsageError(f"baseline not found: {path!r}") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path!r}: not a keyscan baseline ({exc.__class__.__name__})") from None
    return parse(doc, path)


def parse(doc: object, path: str = "<baseline>") -> Baseline:
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or doc.get("tool") != "keyscan" or not isinstance(entries, list):
        raise UsageError(f"{path!r}: not a keyscan baseline (expected 'tool': 'keyscan' and 'entries')")
    version = doc.get("version", 1)
    salt = b""
    if version == 1:
        pass
    elif version == 2:
        scheme = doc.get("fingerprint")
        expected = {"scheme": fp.SCHEME, "n": fp.N, "r": fp.R, "p": fp.P}
        if not isinstance(scheme, dict) or any(scheme.get(k) != v for k, v in expected.items()):
            raise UsageError(f"{path!r}: unsupported fingerprint scheme (expected {expected})")
        try:
            salt = bytes.fromhex(scheme.get("baseline_id", ""))
        except (TypeError, ValueError):
            salt = b""
        if len(salt) < 8:
            raise UsageError(f"{path!r}: the fingerprint baseline_id must be at least 8 bytes of hex")
    else:
        raise UsageError(f"{path!r}: baseline version {version!r} is newer than this keyscan (1 or 2)")
    out: dict[str, dict] = {}
    for e in entries:
        if not isinstance(e, dict) or not isinstance(e.get("fingerprint"), str):
            raise UsageError(f"{path!r}: every entry needs a 'fingerprint'")
        out[e["fingerprint"]] = e
    return Baseline(out, version, salt)


def render(baseline: Baseline) -> str:
    lines = [json.dumps({"fingerprint": k, "rule_id": e.get("rule_id", ""), "path": e.get("path", "")},
                        ensure_ascii=True)
             for k, e in sorted(baseline.entries.items())]
    body = ",\n".join("    " + ln for ln in lines)
    head = json.dumps({"scheme": fp.SCHEME, "n": fp.N, "r": fp.R, "p": fp.P, "baseline_id": baseline.salt.hex()})
    return ('{\n  "tool": "keyscan",\n  "version": 2,\n  "fingerprint": ' + head + ',\n  "entries": [\n' + body +
            ("\n" if body else "") + "  ]\n}\n")


def entries_for(findings: Iterable[Finding], baseline: Optional[Baseline] = None) -> Baseline:
    """A baseline accepting ``findings`` (a new random salt unless ``baseline``
    gives the one to keep)."""
    base = baseline if baseline is not None and baseline.version == VERSION else new()
    entries = {base.key(f.rule_id, f.secret): {"rule_id": f.rule_id, "path": f.path} for f in findings}
    return Baseline(entries, VERSION, base.salt)


def write(path: str, baseline: Baseline) -> None:
    if baseline.version != VERSION:
        raise ValueError("only the current baseline version is written")
    write_private(path, render(baseline))


def prune(existing: Baseline, current: Iterable[Finding]) -> tuple[Baseline, int]:
    """Keep only entries still found, in the current version (keeping the salt
    of a current-version baseline and each entry's recorded path); returns
    (baseline, number removed)."""
    base = existing if existing.version == VERSION else new()
    entries: dict[str, dict] = {}
    for f in current:
        if existing.matches(f):
            old = existing.entries[existing.key(f.rule_id, f.secret)]
            entries[base.key(f.rule_id, f.secret)] = {"rule_id": f.rule_id, "path": old.get("path", f.path)}
    kept = Baseline(entries, VERSION, base.salt)
    return kept, len(existing) - len(kept)
