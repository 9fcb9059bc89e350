"""Baselines: accepted findings stored as hashed fingerprints, never secrets.

The file is JSON with one entry per line, sorted by fingerprint, so that two
branches adding entries rarely conflict when merged::

    {
      "tool": "keyscan",
      "version": 1,
      "entries": [
        {"fingerprint": "028e...", "rule_id": "github-pat-classic", "path": "app.env"},
        ...
      ]
    }

A fingerprint is a hash of the rule id and the secret, so entries survive
line moves, reformatting and file renames.
"""

from __future__ import annotations

import json
from typing import Iterable

from .errors import UsageError
from .models import Finding
from .output import write_private

DEFAULT_NAME = ".keyscan-baseline.json"


def load(path: str) -> dict[str, dict]:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise UsageError(f"baseline not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a keyscan baseline ({exc.__class__.__name__})") from None
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if doc.get("tool") != "keyscan" or not isinstance(entries, list):
        raise UsageError(f"{path}: not a keyscan baseline (expected 'tool': 'keyscan' and 'entries')")
    out: dict[str, dict] = {}
    for e in entries:
        if not isinstance(e, dict) or not isinstance(e.get("fingerprint"), str):
            raise UsageError(f"{path}: every entry needs a 'fingerprint'")
        out[e["fingerprint"]] = e
    return out


def render(entries: Iterable[dict]) -> str:
    unique = {e["fingerprint"]: e for e in entries}
    lines = [json.dumps({"fingerprint": fp, "rule_id": e.get("rule_id", ""), "path": e.get("path", "")},
                        ensure_ascii=False)
             for fp, e in sorted(unique.items())]
    body = ",\n".join("    " + ln for ln in lines)
    return '{\n  "tool": "keyscan",\n  "version": 1,\n  "entries": [\n' + body + ("\n" if body else "") + "  ]\n}\n"


def entries_for(findings: Iterable[Finding]) -> list[dict]:
    return [{"fingerprint": f.fingerprint, "rule_id": f.rule_id, "path": f.path} for f in findings]


def write(path: str, entries: Iterable[dict]) -> None:
    write_private(path, render(entries))


def prune(existing: dict[str, dict], current: Iterable[Finding]) -> tuple[list[dict], int]:
    """Keep only entries still found; returns (entries, number removed)."""
    still = {f.fingerprint for f in current}
    kept = [e for fp, e in existing.items() if fp in still]
    return kept, len(existing) - len(kept)
