"""One error policy for decoders (issue 16, bug 8): decoders keep no state
between documents; a decoder that raises is caught once per (document,
decoder) and reported for that file without quoting it, the raw scan's and
the other decoders' findings are kept; strict mode re-raises; a regex
time-out is reported with its rule id."""

import pytest

from keyscan import ScanOptions, scan
from keyscan.decoders.json_decoder import JSON_DECODER
from keyscan.decoders.registry import DECODERS

TOKEN = "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"
TOKEN2 = "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"


def test_decoders_hold_no_per_document_state():
    for d in DECODERS:
        assert vars(d) == {}, f"decoder {d.name} keeps state on the shared instance: {sorted(vars(d))}"


def _files(tmp_path):
    # TOKEN raw on line 1; TOKEN2 only decoded (JSON-escaped) on line 2
    escaped = TOKEN2
    (tmp_path / "a.json").write_text('{"t": "' + TOKEN + '",\n "u": "x\\n' + escaped.replace("ghp_", "ghp\\u005f") + '"}\n')
    (tmp_path / "ok.env").write_text(f"T={TOKEN2}\n")


def test_failing_decoder_is_reported_and_other_findings_kept(tmp_path, monkeypatch):
    _files(tmp_path)
    before = scan(ScanOptions(paths=(str(tmp_path),), jobs=1))
    got = sorted((f.path.rsplit("/", 1)[-1], f.start_line, f.secret) for f in before.findings)
    assert got == [("a.json", 1, TOKEN), ("a.json", 2, TOKEN2), ("ok.env", 1, TOKEN2)]
    assert before.skipped == ()

    def boom(doc):
        raise RuntimeError("content: " + doc.text)

    monkeypatch.setattr(type(JSON_DECODER), "fragments", lambda self, doc: boom(doc))
    res = scan(ScanOptions(paths=(str(tmp_path),), jobs=1))
    got = sorted((f.path.rsplit("/", 1)[-1], f.start_line, f.secret) for f in res.findings)
    assert got == [("a.json", 1, TOKEN), ("ok.env", 1, TOKEN2)]  # the raw finding is kept
    assert [(s.path.rsplit("/", 1)[-1], s.reason) for s in res.skipped] == [
        ("a.json", "decoder json failed on this file (RuntimeError); findings of the raw text and other "
                   "decoders kept")]
    assert TOKEN not in repr(res.skipped) and "content" not in repr(res.skipped)
    assert res.files_scanned == 2

    with pytest.raises(RuntimeError):
        scan(ScanOptions(paths=(str(tmp_path),), jobs=1, strict=True))
    monkeypatch.setenv("KEYSCAN_STRICT", "1")
    with pytest.raises(RuntimeError):
        scan(ScanOptions(paths=(str(tmp_path),), jobs=1))


def test_failing_locate_is_reported_once(tmp_path, monkeypatch):
    (tmp_path / "a.json").write_text('{"t": "' + TOKEN + '", "u": "' + TOKEN2 + '"}\n')
    monkeypatch.setattr(type(JSON_DECODER), "locate", lambda self, doc, offset: 1 / 0)
    res = scan(ScanOptions(paths=(str(tmp_path),), jobs=1))
    assert sorted(f.secret for f in res.findings) == sorted([TOKEN, TOKEN2])
    assert [s.reason.split(";")[0] for s in res.skipped] == ["decoder json failed on this file (ZeroDivisionError)"]


def test_regex_timeout_is_reported_with_the_rule_id(tmp_path, monkeypatch):
    import keyscan.detect.engine as engine_mod

    (tmp_path / "a.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    monkeypatch.setattr(engine_mod, "REGEX_TIMEOUT", 1e-9)
    res = scan(ScanOptions(paths=(str(tmp_path),), jobs=1))
    reasons = [s.reason for s in res.skipped]
    assert reasons and all(r.startswith("rule ") and "timed out on this file" in r for r in reasons)
    assert any(r.startswith("rule github-pat-classic timed out") for r in reasons)
