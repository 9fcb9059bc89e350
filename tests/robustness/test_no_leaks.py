"""No secret ever leaves in clear.

Every fixture directory is scanned in every output format (stdout and
``--output``), plus ``keyscan report``, ``keyscan mcp``, ``keyscan baseline
create`` and ``keyscan explain``.  The secrets keyscan itself finds (from a
``--show-secrets -f json`` run) must not appear — whole, or as any 12-character
piece of their random part — in any output, stderr, progress line, error
message or written file, except with ``--show-secrets`` (the positive control).
"""

import json
import os
import re
import stat
import subprocess
import sys

import pytest

from keyscan import cli

from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.slow  # end-to-end tier (pyproject.toml: -m slow)

FORMATS = ["table", "json", "sarif", "markdown", "github", "gitlab"]
FIXTURE_DIRS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
WINDOW = 12
KEY = "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"

# Public structure that is part of many secrets and legitimately printed.
_STRUCTURE = re.compile(
    r"-----(?:BEGIN|END) [A-Z ]*-----|PuTTY-User-Key-File-\d|Private-Lines|Private-MAC|Encryption|"
    r"https?://|[a-z+]+://|\\[nr]|ssh-rsa|b3BlbnNzaC1rZXktdjEAAAAA|YmVkcm9jay5hbWF6b25hd3MuY29t"
)


def _random_windows(secret: str) -> set[str]:
    """Every 12-character piece of the secret's random part (its known
    prefix and public structure such as PEM armour removed)."""
    out: set[str] = set()
    for part in _STRUCTURE.split(secret):
        m = re.match(r"^[A-Za-z]{1,12}[_-](?:[a-z0-9]{1,8}[_-])?", part)  # ghp_, sk-proj-, xoxb-...
        if m and len(part) > 20:
            part = part[m.end():]
        for line in re.split(r"[\s\\]+", part):
            if len(line) >= WINDOW:
                out.update(line[i:i + WINDOW] for i in range(len(line) - WINDOW + 1))
    return out


def _run(capfd, monkeypatch, *args, tty=False):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    if tty:  # show the progress bar as on a terminal
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code = cli.main(list(args))
    out, err = capfd.readouterr()
    if tty:
        monkeypatch.undo()
    return code, out, err


@pytest.fixture(scope="module")
def planted():
    """{fixture dir: [secrets keyscan finds there]} from --show-secrets -f json runs."""
    found = {}
    for name in FIXTURE_DIRS:
        proc = subprocess.run([sys.executable, "-m", "keyscan", "scan", str(FIXTURES / name), "--show-secrets",
                               "-f", "json", "--no-progress", "-q", "--exit-zero"],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert proc.returncode == 0, proc.stderr
        found[name] = sorted({f["secret"] for f in json.loads(proc.stdout)["findings"]})
    assert sum(map(len, found.values())) >= 50, {k: len(v) for k, v in found.items()}
    return found


def _public_text() -> str:
    """Rule names, descriptions and patterns: constant token prefixes they
    document (``AgEIcHlwaS5vcmc`` for PyPI...) are not secret.  Examples are left
    out: they may be the very keys planted in the fixtures."""
    from keyscan.ruleset import load_rules

    return "\n".join(f"{r.name}\n{r.description}\n{r.pattern}" for r in load_rules())


@pytest.fixture(scope="module")
def needles(planted):
    secrets = {s for values in planted.values() for s in values}
    windows = set()
    for s in secrets:
        windows |= _random_windows(s)
    public = _public_text()
    windows = {w for w in windows if w not in public}
    return secrets, windows


def _leaks(text: str, needles) -> list[str]:
    secrets, windows = needles
    hits = [s[:4] + "…" for s in secrets if len(s) >= 8 and s in text]
    for i in range(len(text) - WINDOW + 1):
        piece = text[i:i + WINDOW]
        if piece in windows:
            hits.append(f"piece {piece[:3]}… at {i}")
            break
    return hits


def _assert_clean(what: str, text: str, needles) -> None:
    leaks = _leaks(text, needles)
    assert not leaks, f"{what} leaks {len(leaks)} secret(s): {leaks[:5]}"


@pytest.mark.parametrize("name", FIXTURE_DIRS)
def test_every_format_on_stdout_and_in_files_is_redacted(name, planted, needles, capfd, monkeypatch, tmp_path):
    target = str(FIXTURES / name)
    for fmt in FORMATS:
        code, out, err = _run(capfd, monkeypatch, "scan", target, "-f", fmt, "--exit-zero", tty=fmt == "table")
        assert code == 0, err
        _assert_clean(f"scan {name} -f {fmt} (stdout)", out, needles)
        _assert_clean(f"scan {name} -f {fmt} (stderr)", err, needles)
        report = tmp_path / f"report.{fmt}"
        code, out, err = _run(capfd, monkeypatch, "scan", target, "-f", fmt, "--exit-zero", "-o", str(report))
        assert code == 0, err
        _assert_clean(f"scan {name} -f {fmt} -o (stdout+stderr)", out + err, needles)
        _assert_clean(f"scan {name} -f {fmt} -o (file)", report.read_text(encoding="utf-8"), needles)
        assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".keyscan-")], "temporary files left behind"


@pytest.mark.parametrize("name", FIXTURE_DIRS)
def test_show_secrets_is_the_positive_control(name, planted, needles, capfd, monkeypatch):
    if not planted[name]:
        pytest.skip("no findings in this fixture")
    for fmt in ("json", "table"):
        code, out, _ = _run(capfd, monkeypatch, "scan", str(FIXTURES / name), "-f", fmt, "--show-secrets",
                            "--exit-zero")
        assert code == 0
        shown = [s for s in planted[name] if s in out]
        if fmt == "json":
            assert sorted({f["secret"] for f in json.loads(out)["findings"]}) == planted[name]
            one_line = [s for s in planted[name] if "\n" not in s and '"' not in s and "\\" not in s]
            assert [s for s in shown if s in one_line] == one_line
        else:  # the table may wrap long values; some must be there in full
            assert shown
        assert _leaks(out, needles)  # the detector of leaks sees them


@pytest.mark.parametrize("name", FIXTURE_DIRS)
def test_report_baseline_and_mcp_commands_are_redacted(name, needles, capfd, monkeypatch, tmp_path):
    target = str(FIXTURES / name)
    code, out, err = _run(capfd, monkeypatch, "report", target)
    assert code == 0, err
    _assert_clean(f"report {name}", out + err, needles)
    md = tmp_path / "report.md"
    code, out, err = _run(capfd, monkeypatch, "report", target, "-o", str(md))
    assert code == 0, err
    _assert_clean(f"report {name} -o", out + err + md.read_text(encoding="utf-8"), needles)
    assert stat.S_IMODE(md.stat().st_mode) == 0o600

    base = tmp_path / "baseline.json"
    code, out, err = _run(capfd, monkeypatch, "baseline", "create", target, "-o", str(base), "--no-progress")
    assert code == 0, err
    text = base.read_text(encoding="utf-8")
    _assert_clean(f"baseline create {name}", out + err + text, needles)
    doc = json.loads(text)
    assert stat.S_IMODE(base.stat().st_mode) == 0o600
    for entry in doc["entries"]:  # hashes only
        assert set(entry) == {"fingerprint", "rule_id", "path"}
        assert re.fullmatch(r"[0-9a-f]{32}", entry["fingerprint"])

    for fmt in ("json", "table"):
        mcp_out = tmp_path / f"mcp.{fmt}"
        code, out, err = _run(capfd, monkeypatch, "mcp", target, "--format", fmt, "--home", str(tmp_path / "nohome"),
                              "--exit-zero")
        assert code == 0, err
        _assert_clean(f"mcp {name} --format {fmt}", out + err, needles)
        code, out, err = _run(capfd, monkeypatch, "mcp", target, "--format", fmt, "--no-home", "--exit-zero",
                              "-o", str(mcp_out))
        assert code == 0, err
        _assert_clean(f"mcp {name} --format {fmt} -o", out + err + mcp_out.read_text(encoding="utf-8"), needles)
        assert stat.S_IMODE(mcp_out.stat().st_mode) == 0o600


def test_explain_every_rule_that_found_something(planted, needles, capfd, monkeypatch):
    proc = subprocess.run([sys.executable, "-m", "keyscan", "scan", str(FIXTURES), "-f", "json", "--no-progress",
                           "-q", "--exit-zero"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    rule_ids = sorted({f["rule_id"] for f in json.loads(proc.stdout)["findings"]})
    assert rule_ids
    _assert_clean("scan fixtures -f json", proc.stdout + proc.stderr, needles)
    for rid in rule_ids:
        code, out, err = _run(capfd, monkeypatch, "explain", rid)
        assert code == 0, err
        _assert_clean(f"explain {rid}", out + err, needles)


def test_stdin_and_error_messages_are_redacted(needles, capfd, monkeypatch, tmp_path):
    # an unknown rule id, a bad path and a bad baseline named after a secret
    code, out, err = _run(capfd, monkeypatch, "scan", str(tmp_path / f"x-{KEY}"))
    assert code == 2 and KEY in err  # the path is the user's own argument: echoed as given
    bad = tmp_path / "baseline.json"
    bad.write_text(json.dumps({"tool": "other", "entries": [KEY]}))
    code, out, err = _run(capfd, monkeypatch, "scan", str(tmp_path), "--baseline", str(bad))
    assert code == 2 and KEY not in out + err
    bad.write_text("{not json " + KEY)
    code, out, err = _run(capfd, monkeypatch, "scan", str(tmp_path), "--baseline", str(bad))
    # one error line (after the "keyscan: baseline FILE (--baseline)" configuration note)
    assert code == 2 and KEY not in out + err and len([ln for ln in err.splitlines() if ln.startswith("keyscan: error")]) == 1
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f'min_severity = "{KEY}"\n')
    code, out, err = _run(capfd, monkeypatch, "scan", str(tmp_path), "--config", str(cfg))
    assert code == 2 and KEY not in out + err, err


# -- an exception inside the pipeline ---------------------------------------

FAILED = "decoder json failed on this file ({}); findings of the raw text and other decoders kept"

_CRASH = """
import sys
from keyscan.decoders.json_decoder import JSON_DECODER

def boom(doc):
    raise RuntimeError("decoder failed on: " + doc.text)

JSON_DECODER.fragments = boom
from keyscan.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("fmt", ["table", "json", "sarif"])
def test_an_exception_holding_file_content_is_not_printed(tmp_path, jobs, fmt):
    for i in range(3):
        (tmp_path / f"c{i}.json").write_text(json.dumps({"token": KEY, "n": i}))
    proc = subprocess.run([sys.executable, "-c", _CRASH, "scan", str(tmp_path), "-f", fmt, "-j", jobs,
                           "-o", str(tmp_path / "out.txt")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={k: v for k, v in os.environ.items() if k not in ("KEYSCAN_DEBUG", "KEYSCAN_STRICT")})
    # The default error policy: a failing decoder is reported per file with the exception type
    # only; the raw scan's findings are kept (exit 1) and the scan completes.
    assert proc.returncode == 1, proc.stderr
    report = (tmp_path / "out.txt").read_text()
    everything = proc.stdout + proc.stderr + report
    assert KEY not in everything and KEY[4:16] not in everything
    assert "3 skipped" in proc.stderr
    if fmt == "json":
        data = json.loads(report)
        assert {s["reason"] for s in data["skipped"]} == {FAILED.format("RuntimeError")}
        assert sorted(f["path"] for f in data["findings"]) == sorted(str(tmp_path / f"c{i}.json") for i in range(3))
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".keyscan-")]


def test_an_exception_in_process_is_not_printed(tmp_path, capfd, monkeypatch):
    from keyscan.decoders import json_decoder

    def boom(doc):
        raise ValueError(f"cannot decode {doc.text}")

    monkeypatch.setattr(json_decoder.JSON_DECODER, "fragments", boom)
    monkeypatch.delenv("KEYSCAN_DEBUG", raising=False)
    monkeypatch.delenv("KEYSCAN_STRICT", raising=False)
    (tmp_path / "c.json").write_text(json.dumps({"token": KEY}))
    code = cli.main(["scan", str(tmp_path), "-f", "json"])
    out, err = capfd.readouterr()
    assert code == 1  # the raw scan's finding is kept
    assert KEY not in out + err and KEY[4:16] not in out + err
    assert [s["reason"] for s in json.loads(out)["skipped"]] == [FAILED.format("ValueError")]


# -- --output files ------------------------------------------------------------


def test_output_is_atomic_and_owner_only(tmp_path, capfd, monkeypatch):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "k.env").write_text(f"GITHUB_TOKEN={KEY}\n")
    report = tmp_path / "report.json"
    report.write_text("previous complete report\n")
    os.chmod(report, 0o644)
    inode = report.stat().st_ino
    code, out, err = _run(capfd, monkeypatch, "scan", str(tmp_path / "src"), "-f", "json", "-o", str(report))
    assert code == 1, err
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert report.stat().st_ino != inode, "the report must be replaced (rename), not rewritten in place"
    assert KEY not in report.read_text() and json.loads(report.read_text())["findings"]

    # a failure while writing leaves the previous report untouched and no temporary file
    report.write_text("previous complete report\n")

    def fail_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail_replace)
    code, out, err = _run(capfd, monkeypatch, "scan", str(tmp_path / "src"), "-f", "json", "-o", str(report))
    monkeypatch.undo()
    assert code == 3 and "No space left on device" in err and KEY not in out + err  # runtime error (README table)
    assert report.read_text() == "previous complete report\n"
    assert sorted(os.listdir(tmp_path)) == ["report.json", "src"]

    # umask does not widen the mode
    old = os.umask(0)
    try:
        fresh = tmp_path / "fresh.sarif"
        code, _, err = _run(capfd, monkeypatch, "scan", str(tmp_path / "src"), "-f", "sarif", "-o", str(fresh))
        assert code == 1, err
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_progress_line_is_redacted(tmp_path, capfd, monkeypatch):
    src = tmp_path / "dir-with-files"
    src.mkdir()
    for i in range(50):
        (src / f"f{i}.env").write_text(f"GITHUB_TOKEN={KEY}\n" * 3)
    code, out, err = _run(capfd, monkeypatch, "scan", str(src), "-f", "json", tty=True)
    assert code == 1
    assert KEY not in out + err and KEY[4:16] not in out + err


# -- a key in every position a decoder can report -----------------------------

KEY2 = "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"


def _pieces(*keys: str) -> set[str]:
    return {k[4:][i:i + WINDOW] for k in keys for i in range(len(k) - 4 - WINDOW + 1)}


def _carriers() -> dict[str, str]:
    """Files where a key is a JSON object key, an array element, a nested
    JSON string, an MCP env key or server name, a notebook output key, a JSONL
    trace key, a header map key; each with a second key nested under the first,
    so the first is part of the second's location."""
    nested = json.dumps({"inner": {KEY: {"refresh": KEY2}}})
    return {
        "token-cache.json": json.dumps({"cache": {KEY: {"refresh_token": KEY2, "expires": 1}}}, indent=2),
        "headers.json": json.dumps({"headers": {KEY: "x", "Authorization": f"token {KEY2}"},
                                    "by_key": {KEY: [KEY2]}}),
        "arrays.json": json.dumps({"list": [KEY, [KEY2, {KEY: KEY2}]]}),
        "nested.json": json.dumps({"nested": nested, "twice": json.dumps({"n": nested})}),
        ".mcp.json": json.dumps({"mcpServers": {
            "srv": {"command": "npx", "env": {KEY: KEY2, "GITHUB_TOKEN": KEY}},
            KEY: {"command": "node", "env": {"T": KEY2}},
        }}, indent=2),
        "trace.jsonl": "\n".join(json.dumps({"messages": [{"role": "tool", "content": {KEY: KEY2}}]})
                                 for _ in range(2)) + "\n",
        "nb.ipynb": json.dumps({"cells": [{"cell_type": "code", "source": ["x = 1\n"], "metadata": {},
                                           "outputs": [{"output_type": "execute_result", "metadata": {},
                                                        "data": {"application/json": {KEY: KEY2}},
                                                        "execution_count": 1}],
                                           "execution_count": 1}],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
        "config.yaml": f"tokens:\n  {KEY}:\n    refresh: {KEY2}\n",
    }


def _render_all(result, root) -> dict[str, str]:
    from keyscan.report import render
    from keyscan.report.interface import ReportContext

    return {fmt: render(fmt, result, ReportContext(root=str(root))) for fmt in FORMATS}


def test_a_key_in_every_position_stays_redacted(tmp_path, capfd, monkeypatch):
    for name, text in _carriers().items():
        (tmp_path / name).write_text(text)
    pieces = _pieces(KEY, KEY2)
    for fmt in FORMATS:
        code, out, err = _run(capfd, monkeypatch, "scan", str(tmp_path), "-f", fmt)
        assert code == 1, err
        leaked = sorted(p for p in pieces if p in out + err)
        assert not leaked, f"-f {fmt} shows a key: {leaked[:2]}"
    code, out, err = _run(capfd, monkeypatch, "scan", str(tmp_path), "-f", "json")
    findings = json.loads(out)["findings"]
    located = {(os.path.basename(f["path"]), f["location"]) for f in findings}
    # The keys were found in every carrier, and a location still names the
    # structure around a redacted key.
    assert {p for p, _ in located} >= set(_carriers()) - {"config.yaml"}, located
    assert ("token-cache.json", "cache.ghp_…(40).refresh_token") in located
    assert (".mcp.json", "mcpServers.srv.env.ghp_…(40)") in located
    for cmd in (["report", str(tmp_path)], ["mcp", str(tmp_path), "--no-home", "--exit-zero"],
                ["mcp", str(tmp_path), "--no-home", "--exit-zero", "--format", "json"]):
        code, out, err = _run(capfd, monkeypatch, *cmd)
        leaked = sorted(p for p in pieces if p in out + err)
        assert not leaked, f"{cmd[0]} shows a key: {leaked[:2]}"


def _boundary_file(path, chunk: int, overlap: int, note_words: int = 80) -> None:
    """One long JSON line whose chunk boundaries fall inside strings, with
    keys as object keys and values all along it."""
    entry = json.dumps({"note": "lorem ipsum " * note_words, "auth": {KEY: {"v": KEY2}}, "v": KEY})
    n = (chunk * 2) // (len(entry) + 2) + 2
    body = "[" + ", ".join([entry] * n) + "]"
    # Shift the content so the second chunk starts in the middle of a "note" string.
    start = chunk - overlap
    inside = body.index('"note": "', start - len(entry)) + 500
    pad = (inside - start) % (len(entry) + 2)
    path.write_text(" " * (len(entry) + 2 - pad) + body)


@pytest.mark.slow
def test_chunk_boundary_inside_a_json_string_leaks_nothing(tmp_path):
    """A JSON file over the chunk size (8 MB), one line: the second chunk starts
    inside a string, so its tokenizer would take values for keys."""
    from keyscan import ScanOptions, scan
    from keyscan.documents.chunked import CHUNK_SIZE, overlap_for

    src = tmp_path / "src"
    src.mkdir()
    _boundary_file(src / "big.json", CHUNK_SIZE, overlap_for(CHUNK_SIZE), note_words=8000)
    assert (src / "big.json").stat().st_size > CHUNK_SIZE
    result = scan(ScanOptions(paths=(str(src),), max_file_size=0, jobs=1))
    assert {f.rule_id for f in result.findings} == {"github-pat-classic"}
    assert len(result.findings) > 100
    pieces = _pieces(KEY, KEY2)
    for fmt, out in _render_all(result, src).items():
        leaked = sorted(p for p in pieces if p in out)
        assert not leaked, f"-f {fmt} shows a key: {leaked[:2]}"


@pytest.mark.parametrize("chunk", [2048, 3001, 4099])
def test_small_chunks_inside_json_strings_leak_nothing(tmp_path, chunk):
    from keyscan import ScanOptions, scan
    from keyscan.documents.chunked import overlap_for

    src = tmp_path / "src"
    src.mkdir()
    _boundary_file(src / "big.json", chunk, overlap_for(chunk))
    result = scan(ScanOptions(paths=(str(src),), chunk_size=chunk, max_file_size=0, jobs=1))
    assert len(result.findings) > 10
    pieces = _pieces(KEY, KEY2)
    for fmt, out in _render_all(result, src).items():
        leaked = sorted(p for p in pieces if p in out)
        assert not leaked, f"-f {fmt} shows a key: {leaked[:2]}"
