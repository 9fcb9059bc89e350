"""Shared checks for fixture directories that carry a ``labels.yml``.

``labels:`` entries are ``{file, line, column, rule[, location]}`` for expected
findings and ``{file, line, negative: true}`` for planted look-alikes.  The
checks are strict: every planted key's rule must exist and the findings of a
file must equal its labels exactly.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from keyscan.api import scan_bytes


def load_labels(carrier: Path) -> list[dict]:
    return yaml.safe_load((carrier / "labels.yml").read_text())["labels"]


def scan_fixture(engine, carrier: Path, rel: str):
    return scan_bytes(engine, f"fixtures/{carrier.name}/{rel}", (carrier / rel).read_bytes())


def assert_exact(engine, carrier: Path, labels: list[dict], rel: str) -> None:
    expected = {(e["line"], e["column"], e["rule"], e.get("location"))
                for e in labels if e["file"] == rel and not e.get("negative")}
    got = {(f.start_line, f.start_column, f.rule_id, f.location) for f in scan_fixture(engine, carrier, rel)}
    assert got == expected


def assert_decoys_quiet(engine, carrier: Path, labels: list[dict], rel: str) -> None:
    decoy_lines = {e["line"] for e in labels if e["file"] == rel and e.get("negative")}
    hits = [(f.start_line, f.rule_id) for f in scan_fixture(engine, carrier, rel) if f.start_line in decoy_lines]
    assert hits == []


def assert_planted_rules_exist(engine, labels: list[dict]) -> None:
    loaded = {r.id for r in engine.rules}
    assert sorted({e["rule"] for e in labels if not e.get("negative")} - loaded) == []
