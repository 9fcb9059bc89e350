"""keyscan redact: secrets replaced in their encoding, nothing else changed.

Notebooks are validated with ``nbformat`` (a test dependency); JSON and JSONL
with ``json``.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shutil
import sqlite3
import stat
import zipfile
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from keyscan.api import scan
from keyscan.models import ScanOptions
from keyscan.redaction import MARKER_RE, Redactor, marker, plan, redact_stream, write_changes

from conftest import FIXTURES

_spec = importlib.util.spec_from_file_location("fakekeys", FIXTURES / "encoded" / "fakekeys.py")
fakekeys = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakekeys)  # type: ignore[union-attr]

ESC = "\x1b"


def _nest(value: str, depth: int) -> str:
    """``value`` as the body of a JSON string nested ``depth`` times."""
    for _ in range(depth):
        value = json.dumps(value)[1:-1]
    return value


def generate(root: Path) -> dict[str, str]:
    """A tree with secrets at every escape depth and in every carrier; returns name -> secret."""
    k = fakekeys.FakeKeys(1818)
    s = {
        "gh": k.github(), "ant": k.anthropic(), "oai": k.openai_project(), "hf": k.huggingface(),
        "npm": k.npm(), "stripe": k.stripe_live(), "slack": k.slack_bot(), "gh2": k.github(),
        "ant2": k.anthropic(), "gh3": k.github("gho_"),
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / ".env").write_text(f"# local\nGITHUB_TOKEN={s['gh']}\nHF_TOKEN=\"{s['hf']}\"\nDEBUG=1\n")
    # JSON strings escaped 0..4 times: {"d0": {"k": "<key>"}} then the whole thing as a string, again and again
    inner = {"config": {"api_key": s["ant"]}}
    layers = {}
    text = json.dumps(inner)
    for depth in range(5):
        layers[f"depth{depth}"] = text
        text = json.dumps({"payload": text})
    (root / "nested.json").write_text(json.dumps({"layers": layers, "note": "α ünïcode ok"}, indent=2,
                                                 ensure_ascii=False) + "\n")
    # JSONL transcript: a user message, a tool result holding a JSON document, a doubly escaped one
    lines = [
        {"type": "user", "message": {"role": "user", "content": f"deploy with {s['oai']} please"}},
        {"type": "tool_result", "content": json.dumps({"stdout": f"NPM_TOKEN={s['npm']}\n"})},
        {"type": "assistant", "message": {"content": json.dumps(json.dumps({"key": s["stripe"]}))}},
        {"type": "summary", "text": "nothing here"},
    ]
    (root / "session.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    # notebook: source, stream output, execute_result, error traceback with ANSI codes, split source lines
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
             "source": ["import os\n", f"os.environ[\"SLACK_BOT_TOKEN\"] = \"{s['slack']}\"\n"],
             "outputs": [
                 {"output_type": "stream", "name": "stdout", "text": [f"token: {s['gh2']}\n"]},
                 {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                  "data": {"text/plain": [f"'{s['ant2']}'"]}},
             ]},
            {"cell_type": "code", "execution_count": 2, "id": "c2", "metadata": {},
             "source": [f"gh = login(\"{s['gh3'][:12]}", f"{s['gh3'][12:]}\")\n"],
             "outputs": [
                 {"output_type": "error", "ename": "AuthError", "evalue": "bad token",
                  "traceback": [f"{ESC}[0;31mAuthError{ESC}[0m: token {ESC}[1m{s['hf']}{ESC}[0m rejected"]},
             ]},
            {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": ["# notes"]},
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (root / "analysis.ipynb").write_text(json.dumps(nb, indent=1) + "\n")
    # ANSI log: codes before the key, codes inside the key, CRLF line ends
    log = (f"{ESC}[32m[info]{ESC}[0m starting\r\n"
           f"{ESC}[33mexport GITHUB_TOKEN={ESC}[0m{s['gh']}\r\n"
           f"auth: {ESC}[1m{s['ant'][:20]}{ESC}[22m{s['ant'][20:]}{ESC}[0m\r\n"
           "done\r\n")
    (root / "build.log").write_bytes(log.encode())
    # base64: a Kubernetes secret, a docker config auth (user:token), wrapped base64
    b64 = base64.b64encode(s["npm"].encode()).decode()
    auth = base64.b64encode(f"deploy:{s['gh2']}".encode()).decode()
    (root / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: npm\ndata:\n"
        f"  NPM_TOKEN: {b64}\n  other: aGVsbG8gd29ybGQ=\n")
    (root / "docker-config.json").write_text(json.dumps({"auths": {"ghcr.io": {"auth": auth}}}, indent=2) + "\n")
    blob = base64.b64encode(f"# settings\nANTHROPIC_API_KEY={s['ant2']}\nregion=eu-west-1\n".encode()).decode()
    wrapped = "\n".join(blob[i:i + 76] for i in range(0, len(blob), 76))
    (root / "settings.b64").write_text(wrapped + "\n")
    # URL-encoded: a key inside an encoded callback URL, and a plain query value
    basic = base64.b64encode(f"ci:{s['npm']}?".encode()).decode()
    cb = quote(f"https://hooks.example.com/ci?token={s['slack']}&x=1", safe="")
    (root / "access.log").write_text(
        f"GET /oauth/callback?next={cb} HTTP/1.1 200\n"
        f"GET /api?access_token={s['gh3']}&page=2 HTTP/1.1 200\n"
        f"proxy header=Authorization%3A%20Basic%20{quote(basic, safe='')}\n")
    # unsafe carriers: binary, SQLite, zip
    (root / "blob.bin").write_bytes(b"\x00\x01\x02 " + s["gh"].encode() + b" \x00\xff")
    con = sqlite3.connect(root / "cache.db")
    con.execute("create table kv (k text, v text)")
    con.execute("insert into kv values (?, ?)", ("token", s["gh"]))
    con.commit()
    con.close()
    with zipfile.ZipFile(root / "bundle.zip", "w") as zf:
        zf.writestr("config/.env", f"GITHUB_TOKEN={s['gh']}\n")
    return s


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _options(root: Path) -> ScanOptions:
    return ScanOptions(paths=(str(root),), jobs=1)


def _parses(name: str, data: bytes) -> bool:
    """Whether a JSON, JSONL (every line) or notebook (nbformat-valid) file parses."""
    import nbformat

    suffix = os.path.splitext(name)[1]
    try:
        text = data.decode("utf-8")
        if suffix == ".ipynb":
            nbformat.validate(nbformat.reads(text, as_version=4))
        elif suffix in (".json", ".har"):
            json.loads(text)
        elif suffix == ".jsonl":
            for line in text.splitlines():
                if line.strip():
                    json.loads(line)
        else:
            return True
    except (ValueError, nbformat.ValidationError):
        return False
    return True


def _check_parses(root: Path, before: dict[str, bytes]) -> int:
    """Every JSON, JSONL and notebook file that parsed before still parses
    (a few fixtures are JSONC or deliberately broken)."""
    after = _snapshot(root)
    checked = 0
    for name, data in before.items():
        if os.path.splitext(name)[1] in (".ipynb", ".json", ".har", ".jsonl") and _parses(name, data):
            assert _parses(name, after[name]), name
            checked += 1
    return checked


def _check_only_spans_changed(changes) -> None:
    """The bytes outside the reported spans are identical, and what replaced
    each span is a marker (as is, percent-encoded or inside base64) or nothing."""
    for ch in changes:
        before = ch.original.decode("utf-8", "surrogateescape")
        after = ch.redacted.decode("utf-8", "surrogateescape")
        spans = [(s, t) for s, t, _ in ch.spans]
        # the new text is the gaps between spans, in order, with a replacement
        # in each span: a marker, nothing (a later piece of a split secret),
        # a percent-encoded marker or base64 holding one
        gaps, pos = [], 0
        for s, t in spans:
            gaps.append(before[pos:s])
            pos = t
        gaps.append(before[pos:])
        m = re.fullmatch("(.*?)".join(re.escape(g) for g in gaps), after, re.S)
        assert m, ch.path
        for rep in m.groups():
            assert rep == "" or _holds_marker(rep), (ch.path, rep[:80])


def _holds_marker(rep: str, depth: int = 0) -> bool:
    """A marker, percent-encoded or not, or base64 (nested up to 3 deep) holding one."""
    rep = unquote(rep)
    if "REDACTED:" in rep:
        return True
    if depth > 3:
        return False
    joined = re.sub(r"\s+", "", rep)
    for run in re.findall(r"[A-Za-z0-9+/_-]{16,}={0,2}", joined):
        body = run.rstrip("=")
        try:
            decoded = base64.b64decode(body + "=" * (-len(body) % 4),
                                       altchars=b"-_" if "-" in body or "_" in body else None)
        except ValueError:
            continue
        if _holds_marker(decoded.decode("utf-8", "replace"), depth + 1):
            return True
    return False


def _redact_in_place(root: Path):
    result = plan(_options(root))
    write_changes(result.changes, backup_dir=None)
    return result


def test_generated_tree_every_carrier(tmp_path):
    root = tmp_path / "gen"
    secrets = generate(root)
    before = _snapshot(root)
    result = _redact_in_place(root)
    after = _snapshot(root)
    # every secret file changed, the unsafe carriers did not
    for name in ("blob.bin", "cache.db", "bundle.zip"):
        assert after[name] == before[name]
    listed = {Path(n.path.split("!")[0]).name: n.reason for n in result.not_redacted}
    assert {"blob.bin", "cache.db", "bundle.zip"} <= set(listed), listed
    assert "binary" in listed["blob.bin"]
    assert listed["cache.db"] in ("not rewritable: SQLite database", "not scanned: binary")
    assert listed["bundle.zip"] in ("not rewritable: archive member (the archive is left as it is)",
                                    "not scanned: binary")
    changed = {Path(c.path).name for c in result.changes}
    assert changed == {".env", "nested.json", "session.jsonl", "analysis.ipynb", "build.log", "secret.yaml",
                       "docker-config.json", "settings.b64", "access.log"}
    # no secret left anywhere in a rewritten file, in any encoding we wrote it in
    for name in changed:
        data = after[name].decode("utf-8")
        for value in secrets.values():
            for depth in range(6):
                assert _nest(value, depth) not in data, (name, depth)
            assert base64.b64encode(value.encode()).decode()[:24] not in data
    # the scan finds none of the redacted secrets (nor anything else in rewritten files)
    again = scan(_options(root))
    fps = {r.fingerprint for r in result.redactions}
    left = [f for f in again.findings if f.fingerprint in fps]
    # only the copies in the carriers listed as not rewritable remain
    assert {Path(f.path.split("!")[0]).name for f in left} <= {"cache.db", "bundle.zip"}
    assert not [f for f in again.findings if f.path in {c.path for c in result.changes}]
    assert _check_parses(root, before) == 4
    _check_only_spans_changed(result.changes)
    # idempotent
    second = plan(_options(root))
    assert second.changes == ()
    assert _snapshot(root) == after


def test_generated_layers(tmp_path):
    root = tmp_path / "gen"
    secrets = generate(root)
    result = plan(_options(root))
    layers = {(Path(r.path).name, r.layer) for r in result.redactions}
    assert (".env", "raw") in layers
    assert ("secret.yaml", "base64 > raw") in layers
    assert ("docker-config.json", "base64 > raw") in layers
    assert ("settings.b64", "base64 > raw") in layers
    assert ("access.log", "url") in layers  # written as is inside an encoded URL
    assert [x for x in layers if x[0] == "access.log" and x[1].startswith("url-encoded > ")]
    assert ("analysis.ipynb", "split in 2 pieces") in layers
    assert ("build.log", "split in 2 pieces") in layers
    by_name = {}
    for c in result.changes:
        by_name[Path(c.path).name] = c.redacted.decode("utf-8")
    ant = secrets["ant"]
    fp = next(r.fingerprint for r in result.redactions if Path(r.path).name == "nested.json")
    nested = json.loads(by_name["nested.json"])["layers"]
    # the key is redacted at every depth and each layer still decodes
    for depth in range(5):
        value = nested[f"depth{depth}"]
        for _ in range(depth):
            value = json.loads(value)["payload"]
        assert json.loads(value) == {"config": {"api_key": marker("anthropic-api-key", fp)}}
        assert ant not in value
    # URL encoding: the marker is percent-encoded inside the encoded callback
    assert quote("[REDACTED:slack-bot-token:", safe="") in by_name["access.log"]
    # base64: decodes to the ASCII marker
    yaml_value = by_name["secret.yaml"].split("NPM_TOKEN: ")[1].split("\n")[0]
    assert MARKER_RE.fullmatch(base64.b64decode(yaml_value).decode())
    # wrapped base64 keeps its width
    wrapped = by_name["settings.b64"].splitlines()
    assert {len(x) for x in wrapped[:-1]} == {76}
    assert b"[REDACTED:anthropic-api-key:" in base64.b64decode("".join(wrapped))
    # ANSI codes around and inside the key are kept
    log = by_name["build.log"]
    assert log.count(ESC) == 7 and "\r\n" in log


def test_dry_run_diff_never_shows_secrets(tmp_path):
    root = tmp_path / "gen"
    secrets = generate(root)
    before = _snapshot(root)
    result = plan(_options(root))
    assert _snapshot(root) == before  # planning writes nothing
    diff = "".join(c.diff() for c in result.changes)
    assert "«REDACTED:github-pat-classic:fp:" in diff
    for value in secrets.values():
        assert value[:12] not in diff
    assert result.exit_code == 1


def test_in_place_backup_and_mode(tmp_path):
    root = tmp_path / "gen"
    generate(root)
    env = root / ".env"
    os.chmod(env, 0o640)
    original = env.read_bytes()
    result = plan(_options(root))
    backups = tmp_path / "backups"
    write_changes(result.changes, backup_dir=str(backups))
    assert stat.S_IMODE(env.stat().st_mode) == 0o640
    copy = backups / str(env.resolve()).lstrip("/")
    assert copy.read_bytes() == original
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700


def test_stale_file_is_left_alone(tmp_path):
    root = tmp_path / "gen"
    generate(root)
    result = plan(_options(root))
    env = next(c for c in result.changes if c.path.endswith(".env"))
    Path(env.path).write_text("changed meanwhile\n")
    stale = write_changes([env], backup_dir=None)
    assert stale == [env.path]
    assert Path(env.path).read_text() == "changed meanwhile\n"


def test_stream_filter():
    k = fakekeys.FakeKeys(7)
    token = k.github()
    data = f"line one\nexport GITHUB_TOKEN={token}\n".encode()
    out, result = redact_stream(ScanOptions(paths=("-",), stdin_data=data), data)
    assert token.encode() not in out
    assert out.startswith(b"line one\nexport GITHUB_TOKEN=\xc2\xabREDACTED:github-pat-classic:fp:")
    assert result.exit_code == 1
    clean, result2 = redact_stream(ScanOptions(paths=("-",)), out)
    assert clean == out and result2.exit_code == 0


def test_not_utf8_file_gets_ascii_marker(tmp_path):
    k = fakekeys.FakeKeys(8)
    token = k.github()
    data = b"caf\xe9 GITHUB_TOKEN=" + token.encode() + b" \xff\xfe end\n"
    red = Redactor(ScanOptions())
    change, failed = red.redact_bytes(str(tmp_path / "latin1.txt"), data)
    assert change is not None and not failed
    assert change.redacted.startswith(b"caf\xe9 GITHUB_TOKEN=[REDACTED:github-pat-classic:fp:")
    assert change.redacted.endswith(b"] \xff\xfe end\n")


def test_utf16_file_round_trips(tmp_path):
    k = fakekeys.FakeKeys(9)
    token = k.github()
    data = "\ufeffGITHUB_TOKEN=".encode("utf-16-le") + f"{token}\r\n".encode("utf-16-le")
    red = Redactor(ScanOptions())
    change, failed = red.redact_bytes("x.env", data)
    assert change is not None and not failed
    text = change.redacted.decode("utf-16")
    assert text.startswith("GITHUB_TOKEN=«REDACTED:github-pat-classic:fp:") and text.endswith("»\r\n")


def test_min_severity_and_baseline_respected(tmp_path):
    from dataclasses import replace

    from keyscan import baseline
    from keyscan.models import Severity

    root = tmp_path / "gen"
    generate(root)
    everything = plan(_options(root))
    critical = plan(replace(_options(root), min_severity=Severity.CRITICAL))
    assert critical.redactions
    assert {r.fingerprint for r in critical.redactions} < {r.fingerprint for r in everything.redactions}
    sev = {f.fingerprint: f.severity for f in everything.scan.findings}
    assert all(sev[r.fingerprint] == Severity.CRITICAL for r in critical.redactions if r.fingerprint in sev)
    # a baseline accepting the .env findings keeps .env as it is
    env_findings = [f for f in everything.scan.findings if f.path.endswith(".env")]
    path = tmp_path / "baseline.json"
    baseline.write(str(path), baseline.entries_for(env_findings))
    accepted = plan(replace(_options(root), baseline=str(path)))
    assert not [c for c in accepted.changes if c.path.endswith(".env")]


def _fixture_dirs():
    return sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


@pytest.mark.slow
@pytest.mark.parametrize("name", _fixture_dirs())
def test_fixture_copies(tmp_path, name):
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    before = _snapshot(root)
    first = scan(_options(root))
    result = _redact_in_place(root)
    again = scan(_options(root))
    fps = {r.fingerprint for r in result.redactions}
    assert not [f for f in again.findings if f.fingerprint in fps]
    # everything found was redacted, or is listed with the reason
    listed = {(n.path, n.rule_id) for n in result.not_redacted}
    for f in again.findings:
        assert (f.path, f.rule_id) in listed, (f.path, f.start_line, f.rule_id)
    assert len(fps) >= len({f.fingerprint for f in first.findings}) - len(listed)
    _check_parses(root, before)
    _check_only_spans_changed(result.changes)
    unchanged = {str(Path(c.path).relative_to(root)) for c in result.changes}
    after = _snapshot(root)
    for rel, data in before.items():
        if rel not in unchanged:
            assert after[rel] == data, rel
    assert plan(_options(root)).changes == ()


# -- command line ----------------------------------------------------------------


def test_cli_dry_run_in_place_and_second_run(tmp_path):
    from conftest import run_keyscan

    root = tmp_path / "gen"
    secrets = generate(root)
    for name in ("cache.db", "bundle.zip"):  # carriers that are never rewritten: tested above
        (root / name).unlink()
    before = _snapshot(root)
    dry = run_keyscan("redact", str(root), "--no-progress")
    assert dry.returncode == 1, dry.stderr
    assert _snapshot(root) == before
    assert "+GITHUB_TOKEN=«REDACTED:github-pat-classic:fp:" in dry.stdout
    assert "-GITHUB_TOKEN=ghp_…(40)" in dry.stdout
    for value in secrets.values():
        assert value not in dry.stdout and value not in dry.stderr
    assert "would be redacted" in dry.stderr
    assert f"not redacted: {root}/blob.bin: not scanned: binary" in dry.stderr
    backups = tmp_path / "bk"
    wet = run_keyscan("redact", "--in-place", "--backup-dir", str(backups), str(root), "--no-progress")
    assert wet.returncode == 1 and wet.stdout == ""
    assert f"originals backed up in {backups}" in wet.stderr
    assert run_keyscan("scan", str(root), "-q").returncode == 0
    again = run_keyscan("redact", "--in-place", "--no-backup", str(root), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert "redacted 0 secret(s) in 0 file(s)" in again.stderr


def test_cli_stdin_filter():
    from conftest import run_keyscan

    token = fakekeys.FakeKeys(11).github()
    proc = run_keyscan("redact", "-", input=f"a\nGITHUB_TOKEN={token}\nb\n")
    assert proc.returncode == 1
    assert proc.stdout.startswith("a\nGITHUB_TOKEN=«REDACTED:github-pat-classic:fp:")
    assert proc.stdout.endswith("»\nb\n") and token not in proc.stdout + proc.stderr
    clean = run_keyscan("redact", "-", input="nothing here\n")
    assert clean.returncode == 0 and clean.stdout == "nothing here\n"


def test_cli_usage_errors(tmp_path):
    from conftest import run_keyscan

    proc = run_keyscan("redact", "--in-place", "--no-backup", "--backup-dir", str(tmp_path), str(tmp_path))
    assert proc.returncode == 2 and "cannot be combined" in proc.stderr
    proc = run_keyscan("redact", "-", str(tmp_path), input="")
    assert proc.returncode == 2
