"""The prefilter engines agree, windows behave, parallel equals serial."""

import random

import pytest

from keyscan.api import build_engine, scan_bytes
from keyscan.detect.prefilter import Expr, HyperscanPrefilter, PythonPrefilter, hyperscan_available
from keyscan.models import ScanOptions
from keyscan.ruleset import load_rules
from keyscan import scan

from conftest import FIXTURES

needs_hyperscan = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")


@needs_hyperscan
def test_prefilters_report_identical_hits_on_random_text():
    rules = load_rules()
    exprs = sorted({Expr(kw, r.anchor) for r in rules for kw in r.keywords})
    keywords = sorted({e.keyword for e in exprs})
    py, hs = PythonPrefilter(exprs), HyperscanPrefilter(exprs)
    assert any(hs.in_database), "anchored expressions should compile into the Hyperscan database"
    rnd = random.Random(1)
    anchored_hits = 0
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:=\"' \n/+."
    for _ in range(50):
        parts = []
        for _ in range(200):
            r = rnd.random()
            if r < 0.1:  # a keyword followed by something an anchor may accept
                parts.append(rnd.choice(keywords) + rnd.choice(["=", " = '", ": ", "_KEY=", '" : "', " ", "\t--x "])
                             + "".join(rnd.choice(alphabet[:62] + "_-./+") for _ in range(rnd.randint(4, 20))))
            elif r < 0.2:
                parts.append(rnd.choice(keywords))
            else:
                parts.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 30))))
        data = "".join(parts).encode()
        if rnd.random() < 0.5:
            data = data.upper()
        expected = sorted(py.hits(data))
        assert sorted(hs.hits(data)) == expected
        anchored_hits += sum(1 for i, _ in expected if exprs[i].anchor)
    assert anchored_hits > 100


@needs_hyperscan
def test_hyperscan_and_python_engines_give_identical_findings():
    base = dict(paths=(str(FIXTURES),), jobs=1)
    a = scan(ScanOptions(engine="hyperscan", **base))
    b = scan(ScanOptions(engine="python", **base))
    assert a.engine == "hyperscan" and b.engine == "python"
    assert a.findings == b.findings
    assert len(a.findings) > 0


def test_parallel_scan_equals_serial_scan():
    serial = scan(ScanOptions(paths=(str(FIXTURES),), jobs=1))
    parallel = scan(ScanOptions(paths=(str(FIXTURES),), jobs=2))
    assert serial.findings == parallel.findings
    assert serial.files_scanned == parallel.files_scanned
    assert serial.skipped == parallel.skipped


def test_engine_survives_pickling(engine):
    import pickle

    clone = pickle.loads(pickle.dumps(engine))
    assert clone.kind == engine.kind
    text = b"token=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\n"
    assert [m.secret for m in clone.scan(text)] == [m.secret for m in engine.scan(text)]


def test_match_must_contain_a_keyword_hit(engine):
    # A window starting in the middle of a longer token must not invent a match.
    token = "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"
    assert [f.secret for f in scan_bytes(engine, "a.txt", f"x={token}\n".encode())] == [token]
    assert scan_bytes(engine, "a.txt", f"x=AB{token}\n".encode()) == []


def test_non_ascii_text_before_a_key_keeps_columns_right(engine):
    token = "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"
    data = f"# café ünïcode ✓\nnote = \"héllo\" token={token}\n".encode()
    (f,) = [f for f in scan_bytes(engine, "a.txt", data) if f.rule_id == "github-pat-classic"]
    assert (f.start_line, f.start_column) == (2, len('note = "héllo" token=') + 1)
    assert f.end_column == f.start_column + len(token)


def test_utf16_file_with_bom_is_decoded(engine):
    token = "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"
    data = "a=1\ntoken=" + token + "\n"
    (f,) = scan_bytes(engine, "w.txt", data.encode("utf-16"))
    assert (f.rule_id, f.start_line, f.start_column) == ("github-pat-classic", 2, 7)


def test_regex_window_limits_do_not_lose_keys_far_into_a_long_line(engine):
    token = "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"
    data = ("x" * 100_000 + " " + token + " " + "y" * 100_000).encode()
    (f,) = scan_bytes(engine, "min.js", data)
    assert f.start_column == 100_002


def test_unknown_engine_is_a_usage_error():
    from keyscan.errors import UsageError

    with pytest.raises(UsageError):
        build_engine(ScanOptions(engine="turbo"))


@needs_hyperscan
def test_prefilters_report_identical_triggers():
    triggers = (b"getenv(", b'"value"', b"process.env.", b"\x1b[", b"aa")
    located = (b"getenv(", b"aa")  # every occurrence reported (overlapping ones too)
    exprs = [Expr("token"), Expr("ghp_")]
    py, hs = PythonPrefilter(exprs, triggers, located), HyperscanPrefilter(exprs, triggers, located=located)
    expected = {
        b"": {},
        b"x = os.getenv('A', 'b') # token": {b"getenv(": [14]},
        b'{"value": 1} \x1b[0m getenv(getenv(': {b'"value"': [], b"\x1b[": [], b"getenv(": [25, 32]},
        b"GETENV( Value process.env": {},
        b"process.env.X ?? 'y' aaa": {b"process.env.": [], b"aa": [23, 24]},
    }
    for data, seen in expected.items():
        (py_hits, py_seen), (hs_hits, hs_seen) = py.scan(data), hs.scan(data)
        assert sorted(py_hits) == sorted(hs_hits)
        assert py_seen == hs_seen == seen


def test_decoder_gates_are_answered_by_the_raw_scan(engine):
    from keyscan.decoders.registry import decoder_triggers
    from keyscan.documents import read_document
    from keyscan.pipeline import scan_document

    assert b"getenv(" in engine.triggers and set(decoder_triggers()) == set(engine.triggers)
    key = "7uQYQo1hSnDbPbbLrAUtKiD1XkUq0g4XwGqSpu3y"
    doc = read_document("app.py", f'k = os.getenv("COHERE_API_KEY", "{key}")\n'.encode())
    (f,) = scan_document(doc, engine)
    assert (f.rule_id, f.secret, f.start_line, f.start_column) == ("cohere-api-key", key, 1, 34)
    assert doc.has(b"getenv(") and not doc.has(b"process.env.")


@needs_hyperscan
@pytest.mark.parametrize("guess", ["syntax", "none"])
def test_hyperscan_support_guess_gives_the_exact_per_anchor_verdict(engine, monkeypatch, guess):
    """Which anchors Hyperscan checks is first guessed by syntax and compiled once;
    a wrong guess falls back to compiling each anchor alone. Either way the
    verdicts equal the per-anchor compile's."""
    # The anchors Hyperscan refuses and as many it takes (each alone compiles in ~30 ms)
    import keyscan.detect.prefilter as pf_mod
    every = engine.prefilter
    # built-in anchors are all ones Hyperscan takes (see the next test): lookarounds of its own
    refused = [Expr("sk_", "[a-f0-9]{48}(?![A-Za-z0-9_-])"), Expr("sua", "(?<=u)[A-Z2-7]{55}"),
               Expr("fc-", "(?=[a-f0-9]{32})[a-f]{4}")]
    taken = [e for e, db in zip(every.exprs, every.in_database) if db][:len(refused)]
    exprs = refused + taken
    if guess == "none":  # the guess misses every unsupported construct: the fallback decides
        monkeypatch.setattr(pf_mod, "_HS_UNSUPPORTED", pf_mod.regex.compile(rb"(?!)"))
    pf = HyperscanPrefilter(exprs)
    exact = tuple(bool(e.anchor) and pf_mod._anchor_width(e.anchor) is not None
                  and pf._compiles(pf_mod._expression(e, True)) for e in exprs)
    assert pf.in_database == exact
    assert refused and sum(exact) == len(taken)  # lookarounds stay out of the database


@needs_hyperscan
def test_every_builtin_anchor_is_checked_by_hyperscan(engine):
    """An anchor Hyperscan cannot check (a look-around, say ``(?!...)`` instead
    of ``(?:[^...]|$)``) makes every occurrence of the keyword a Python call
    that runs the anchor: "sua" in "usual" cost 3,400 calls per 100 MB."""
    pf = engine.prefilter
    assert [(e.keyword, e.anchor) for e, db in zip(pf.exprs, pf.in_database) if e.anchor and not db] == []
