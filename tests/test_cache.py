"""The compiled-rule cache holds data only and is read only when private."""

from __future__ import annotations

import json
import os
import pickle
import stat
import subprocess
import sys
from dataclasses import replace

import pytest

from keyscan import cache
from keyscan.api import build_engine
from keyscan.models import ScanOptions

from conftest import ROOT

TOKEN = "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"  # fake, valid checksum


class _Boom:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One real build into a fresh cache directory: (directory, key). The
    compile takes seconds, so the other tests copy its entry instead."""
    d = tmp_path_factory.mktemp("cache") / "c"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KEYSCAN_CACHE_DIR", str(d))
        build_engine(ScanOptions())
    (entry,) = d.glob("engine-*.json")
    return d, entry.name[len("engine-"):-len(".json")]


def _key(tmp_path, monkeypatch, built) -> str:
    """A private cache directory at tmp_path/c holding the built entry."""
    src, key = built
    d = tmp_path / "c"
    d.mkdir(mode=0o700)
    entry = d / f"engine-{key}.json"
    entry.write_bytes((src / entry.name).read_bytes())
    os.chmod(entry, 0o600)
    monkeypatch.setenv("KEYSCAN_CACHE_DIR", str(d))
    return key


def test_cache_is_json_in_private_dir(built, monkeypatch):
    d, key = built
    monkeypatch.setenv("KEYSCAN_CACHE_DIR", str(d))
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    entry = d / f"engine-{key}.json"
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    doc = json.loads(entry.read_bytes())
    assert doc["format"] == cache.FORMAT and doc["key"] == key
    assert all("examples" not in r and "negative_examples" not in r for r in doc["rules"])
    engine = cache.load(key)
    fresh = build_engine(ScanOptions(use_cache=False))
    # the examples stay out of the cache (only `rules check` runs them, from the rule files)
    assert any(r.examples for r in fresh.rules)
    bare = tuple(replace(r, examples=(), negative_examples=()) for r in fresh.rules)
    assert engine is not None and engine.rules == bare and engine.exprs == fresh.exprs
    text = f"token = {TOKEN}\n".encode()
    assert [m.secret for m in engine.scan(text)] == [m.secret for m in fresh.scan(text)] == [TOKEN]


def test_planted_pickle_runs_nothing(tmp_path, monkeypatch, built):
    key = _key(tmp_path, monkeypatch, built)
    d = tmp_path / "c"
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Boom(str(marker)))
    # Every name an old or new keyscan might read: the old pickle name, the new
    # entry name (holding a pickle instead of JSON), and a bare file.
    (d / f"engine-{key}.pickle").write_bytes(payload)
    for p in d.glob("engine-*.json"):
        p.write_bytes(payload)
    for p in d.iterdir():
        os.chmod(p, 0o600)
    env = dict(os.environ, KEYSCAN_CACHE_DIR=str(d), PYTHONPATH=str(ROOT))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    proc = subprocess.run([sys.executable, "-m", "keyscan", str(tmp_path / "src"), "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert [f["rule_id"] for f in json.loads(proc.stdout)["findings"]] == ["github-pat-classic"]
    assert not marker.exists()
    assert cache.load(key) is not None  # the damaged entry was rewritten as data


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_entry_owned_by_someone_else_is_ignored(tmp_path, monkeypatch, built):
    key = _key(tmp_path, monkeypatch, built)
    entry = tmp_path / "c" / f"engine-{key}.json"
    assert cache.load(key) is not None
    os.chown(entry, 65534, 65534)
    assert cache.load(key) is None


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_entry_writable_by_others_is_ignored(tmp_path, monkeypatch, mode, built):
    key = _key(tmp_path, monkeypatch, built)
    entry = tmp_path / "c" / f"engine-{key}.json"
    os.chmod(entry, mode)
    assert cache.load(key) is None


@pytest.mark.parametrize("mode", [0o770, 0o777, 0o1777])
def test_directory_writable_by_others_is_ignored(tmp_path, monkeypatch, mode, built, engine):
    key = _key(tmp_path, monkeypatch, built)
    os.chmod(tmp_path / "c", mode)
    assert cache.load(key) is None
    before = sorted(p.name for p in (tmp_path / "c").iterdir())
    cache.store("0" * 24, engine)  # nor is anything written there (build_engine stores this way)
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == before


def test_symlinked_entry_is_ignored(tmp_path, monkeypatch, built):
    key = _key(tmp_path, monkeypatch, built)
    entry = tmp_path / "c" / f"engine-{key}.json"
    real = tmp_path / "elsewhere.json"
    os.replace(entry, real)
    entry.symlink_to(real)
    assert cache.load(key) is None


def test_damaged_entry_is_rebuilt(tmp_path, monkeypatch, built):
    key = _key(tmp_path, monkeypatch, built)
    entry = tmp_path / "c" / f"engine-{key}.json"
    doc = json.loads(entry.read_bytes())
    doc["prefilter"]["db"] = "AAAA"
    entry.write_text(json.dumps(doc))
    assert cache.load(key) is None
    doc["prefilter"]["db"] = 1
    entry.write_text(json.dumps(doc))
    assert cache.load(key) is None
    entry.write_text("{")
    assert cache.load(key) is None
    assert build_engine(ScanOptions()).rules  # rebuilt and stored again
    assert cache.load(key) is not None


@pytest.mark.parametrize("field, value", [
    ("id", ["github-pat"]), ("pattern", None), ("keywords", ["ghp_", 7]), ("keywords", "ghp_"),
    ("window", "512"), ("priority", 1.5), ("generic", 1), ("min_entropy", "3"), ("severity", "urgent"),
])
def test_entry_with_a_mistyped_rule_field_is_ignored(tmp_path, monkeypatch, built, field, value):
    key = _key(tmp_path, monkeypatch, built)
    entry = tmp_path / "c" / f"engine-{key}.json"
    doc = json.loads(entry.read_bytes())
    doc["rules"][3][field] = value
    entry.write_text(json.dumps(doc))
    assert cache.load(key) is None
    del doc["rules"][3][field]
    entry.write_text(json.dumps(doc))
    assert cache.load(key) is None


def test_cached_rules_equal_the_rules_as_loaded(tmp_path, monkeypatch, built):
    """Rules rebuilt from an entry (made without the dataclass's ``__init__``)
    compare, hash and print like the loaded ones, their examples left out."""
    from keyscan.ruleset import load_rules

    key = _key(tmp_path, monkeypatch, built)
    cached = cache.load(key).rules
    loaded = [replace(r, examples=(), negative_examples=()) for r in load_rules()]
    assert list(cached) == loaded
    assert [hash(r) for r in cached] == [hash(r) for r in loaded]
    assert [repr(r) for r in cached] == [repr(r) for r in loaded]
    assert all(type(r.keywords) is tuple and type(r.min_entropy) is float for r in cached)


def test_missing_home_is_not_created(tmp_path):
    home = tmp_path / "no" / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("KEYSCAN_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT))
    src = tmp_path / "src"
    src.mkdir()
    proc = subprocess.run([sys.executable, "-m", "keyscan", str(src)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "no").exists()
    # A missing parent of KEYSCAN_CACHE_DIR is not created either.
    env["KEYSCAN_CACHE_DIR"] = str(tmp_path / "missing" / "cache")
    proc = subprocess.run([sys.executable, "-m", "keyscan", str(src)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "missing").exists()


def test_key_follows_rule_contents_not_their_path(tmp_path):
    """Rule files copied elsewhere (the trusted configuration of --diff and
    --staged is read into a temporary directory on every run) keep their entry;
    a changed rule file gets a new one."""
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "team.yml").write_text("rules: []\n")
    assert cache.cache_key([a / "team.yml"], "auto") == cache.cache_key([b / "team.yml"], "auto")
    (b / "team.yml").write_text("rules: []  # changed\n")
    assert cache.cache_key([a / "team.yml"], "auto") != cache.cache_key([b / "team.yml"], "auto")


def test_store_keeps_the_most_recently_used_entries(tmp_path, monkeypatch, built):
    """Every rule set and keyscan version has its own entry; storing one removes
    the least recently used beyond MAX_ENTRIES (a load counts as a use), and
    nothing but keyscan's own entry files."""
    key = _key(tmp_path, monkeypatch, built)
    d = tmp_path / "c"
    entry = (d / f"engine-{key}.json").read_bytes()
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    for i in range(4):
        old = d / f"engine-old{i}.json"
        old.write_bytes(entry)
        os.utime(old, ns=(10**18 + i, 10**18 + i))
    (d / "notes.txt").write_text("kept")
    os.utime(d / f"engine-{key}.json", ns=(1, 1))  # the oldest file ...
    assert cache.load(key) is not None  # ... until it is used
    cache.store("fresh", cache.load(key))
    assert sorted(p.name for p in d.iterdir()) == sorted(
        ["engine-fresh.json", f"engine-{key}.json", "engine-old3.json", "notes.txt"])
