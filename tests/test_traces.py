"""Agent / prompt trace fixtures (fixtures/traces) and generic JSON fixtures
(fixtures/json): every labelled finding at its exact (file, line, column, rule,
location), nothing else, and nothing on planted look-alikes."""

from __future__ import annotations

import filecmp
import importlib.util
from pathlib import Path

import pytest
import yaml

from keyscan.api import scan_bytes

ROOT = Path(__file__).resolve().parent.parent
DIRS = [ROOT / "fixtures" / "traces", ROOT / "fixtures" / "json"]


def _labels(d: Path) -> list[dict]:
    return yaml.safe_load((d / "labels.yml").read_text(encoding="utf-8"))["labels"]


ALL = [(d, e) for d in DIRS for e in _labels(d)]
POSITIVE = [(d, e) for d, e in ALL if not e.get("negative")]
NEGATIVE = [(d, e) for d, e in ALL if e.get("negative")]
FILES = sorted({(d, e["file"]) for d, e in ALL})


@pytest.fixture
def eng(engine):
    return engine


_cache: dict = {}


def findings(eng, d: Path, name: str):
    key = (d, name)
    if key not in _cache:
        _cache[key] = scan_bytes(eng, f"{d.name}/{name}", (d / name).read_bytes())
    return _cache[key]


def _loaded(eng) -> set[str]:
    return {r.id for r in eng.rules}


@pytest.mark.parametrize("d,e", POSITIVE, ids=[f"{e['file']}:{e['line']}:{e['column']}" for _, e in POSITIVE])
def test_expected_finding(eng, d, e):
    if e["rule"] not in _loaded(eng):
        pytest.fail(f"rule {e['rule']} missing")
    got = [(f.start_line, f.start_column, f.rule_id, f.location) for f in findings(eng, d, e["file"])]
    assert (e["line"], e["column"], e["rule"], e["location"]) in got


@pytest.mark.parametrize("d,name", FILES, ids=[n for _, n in FILES])
def test_no_unlabelled_findings(eng, d, name):
    expected = {(e["line"], e["column"], e["rule"]) for dd, e in POSITIVE if dd == d and e["file"] == name}
    got = {(f.start_line, f.start_column, f.rule_id) for f in findings(eng, d, name)}
    assert got <= expected, sorted(got - expected)


@pytest.mark.parametrize("d,e", NEGATIVE, ids=[f"{e['file']}:{e['line']}:{e['note']}" for _, e in NEGATIVE])
def test_decoy_line_is_clean(eng, d, e):
    planted = {e2["line"] for dd, e2 in POSITIVE if dd == d and e2["file"] == e["file"]}
    if e["line"] in planted:
        pytest.skip("a planted key shares this line; covered by test_no_unlabelled_findings")
    lines = {f.start_line for f in findings(eng, d, e["file"])}
    assert e["line"] not in lines


def test_labels_cover_every_fixture_file():
    for d in DIRS:
        names = {e["file"] for e in _labels(d)}
        on_disk = {p.name for p in d.iterdir() if p.is_file() and p.name not in ("labels.yml", "generate.py")}
        assert on_disk == names, d


def test_keys_split_across_stream_deltas_are_joined(eng, monkeypatch):
    """No single event of stream_split_deltas.txt holds a whole key: they are
    found only because the stream decoder joins the deltas of each path, and
    each is reported where its first piece starts."""
    from keyscan.decoders import registry

    got = {(f.start_line, f.start_column, f.rule_id, f.location)
           for f in findings(eng, DIRS[0], "stream_split_deltas.txt")}
    assert got == {(3, 172, "openai-project-key", "choices[0].delta.content"),
                   (17, 211, "github-pat-classic", "choices[0].delta.tool_calls[0].function.arguments"),
                   (34, 84, "anthropic-api-key", "delta.text")}
    monkeypatch.setattr(registry, "DECODERS", tuple(d for d in registry.DECODERS if d.name != "stream"))
    raw = (DIRS[0] / "stream_split_deltas.txt").read_bytes()
    assert scan_bytes(eng, "traces/stream_split_deltas.txt", raw) == []


def test_generator_reproduces_the_fixtures(tmp_path):
    spec = importlib.util.spec_from_file_location("gen_traces", DIRS[0] / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(tmp_path)
    for d in DIRS:
        out = tmp_path / d.name
        names = [p.name for p in out.iterdir()]
        match, mismatch, errors = filecmp.cmpfiles(out, d, names, shallow=False)
        assert not mismatch and not errors, (d, mismatch, errors)
