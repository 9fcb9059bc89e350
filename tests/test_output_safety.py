"""Output that a scanned tree cannot hijack, in every format (issue 17 item 4),
any file name in every format (issue 19 item 4), ``-o`` onto special files
(issue 17 item 7), and contradictory redact flags.

A crafted tree holds file names, a JSON key and an MCP server name with
terminal escape sequences, CI workflow commands after newlines, a bidi
override, rich markup and non-UTF-8 bytes.  Every format (on stdout and with
``-o``) must be valid UTF-8, carry no raw control/C1/bidi character and show
each name with the same visible escapes (:func:`keyscan.output.printable`).
"""

import json
import os
import re
import stat
import subprocess
import sys
import threading
from urllib.parse import quote

import pytest

from conftest import ROOT

KEY = "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"  # fake, CRC-valid GitHub PAT shape (as in tests/robustness)
FORMATS = ("table", "json", "sarif", "markdown", "github", "gitlab")
RAW_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

# file name (bytes on disk) -> how every report shows it
NAMES = {
    b"a\x1b[2K\x1b[1Ab.env": r"a\x1b[2K\x1b[1Ab.env",
    b"n\n::stop-commands::x\nz.env": r"n\n::stop-commands::x\nz.env",
    b"\xff\xfe.env": r"\xff\xfe.env",
    "evil\u202etxt.env".encode(): r"evil\u202etxt.env",
    "c\u009b2Jd.env".encode(): r"c\x9b2Jd.env",
    b"[bold red]x[/].env": "[bold red]x[/].env",  # directory "[bold red]x[" + file "].env": no markup
}
JSON_LOCATION = r'["a\x1b[31mb"].token'
MCP_LOCATION = r'mcpServers["s\x1b[2Jv"].env.GITHUB_TOKEN'


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    root = tmp_path_factory.mktemp("crafted")
    broot = os.fsencode(str(root))
    for name in NAMES:
        path = os.path.join(broot, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(f"TOKEN={KEY}\n".encode())
    (root / "k.json").write_text('{"a\\u001b[31mb": {"token": "%s"}}\n' % KEY)
    (root / ".mcp.json").write_text(
        '{"mcpServers": {"s\\u001b[2Jv": {"command": "x", "env": {"GITHUB_TOKEN": "%s"}}}}\n' % KEY)
    return root


def _keyscan(*args, cwd, stdin=None, env=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "keyscan", *args], cwd=cwd, capture_output=True, env=env,
                          stdin=stdin, timeout=300)


def _safe(data: bytes, what: str) -> str:
    text = data.decode("utf-8")  # strict: valid UTF-8 always
    bad = sorted({f"U+{ord(c):04X}" for c in RAW_UNSAFE.findall(text)})
    assert not bad, f"{what}: raw {bad}"
    injected = [ln for ln in text.splitlines() if ln.startswith("::") and not re.match(r"::(error|warning|notice) ", ln)]
    assert not injected, f"{what}: workflow command injected: {injected}"
    return text


def _shown(fmt: str, text: str) -> list[str]:
    """The file names and logical locations a report shows, as it shows them."""
    if fmt == "json":
        return [x for f in json.loads(text)["findings"] for x in (f["path"], f["location"]) if x]
    if fmt == "gitlab":
        vulns = json.loads(text)["vulnerabilities"]
        return [v["location"]["file"] for v in vulns] + [v["description"] for v in vulns]
    if fmt == "sarif":
        results = json.loads(text)["runs"][0]["results"]
        uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
        fqns = [r["locations"][0].get("logicalLocations", [{}])[0].get("fullyQualifiedName") for r in results]
        return uris + [x for x in fqns if x]
    return text.splitlines()


@pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "-o"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_crafted_names_are_escaped_in_every_format(crafted, tmp_path, fmt, to_file):
    out = tmp_path / f"report.{fmt}"
    args = [".", "--format", fmt, "--no-progress"] + (["-o", str(out)] if to_file else [])
    proc = _keyscan(*args, cwd=crafted)
    assert proc.returncode == 1, proc.stderr.decode("utf-8", "replace")
    text = _safe(out.read_bytes() if to_file else proc.stdout, fmt)
    _safe(proc.stderr, f"{fmt} stderr")
    assert re.match(r"^8 findings, 8 files scanned", proc.stderr.decode().splitlines()[-1])
    shown = _shown(fmt, text)
    for expected in [*NAMES.values(), JSON_LOCATION, MCP_LOCATION]:
        if fmt == "sarif" and expected in NAMES.values():
            expected = quote(expected, safe="/-._~!$&'()*+,;=@")
        elif fmt == "github":
            expected = expected.replace(":", "%3A").replace(",", "%2C") if expected in NAMES.values() else expected
        elif fmt == "markdown" and expected in (JSON_LOCATION, MCP_LOCATION):
            expected = expected.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]").replace("_", "\\_")
        assert any(expected in s for s in shown), f"{fmt}: {expected!r} not shown in {shown}"
    if fmt == "table":  # rich markup is shown as written, not interpreted
        assert any("[bold red]x[/].env:1:7" in s for s in shown)
    if fmt == "github":  # one annotation per finding, nothing else
        assert len(text.splitlines()) == 8
        assert all(ln.startswith("::error file=") for ln in text.splitlines())


def test_printable_escapes():
    from keyscan.output import printable

    assert printable("a\x1b[2Kb") == r"a\x1b[2Kb"
    assert printable("x\n::add-mask::y\r\t") == r"x\n::add-mask::y\r\t"
    assert printable("\x00\x07\x7f\x85\x9b") == r"\x00\x07\x7f\x85\x9b"
    assert printable("\u202eevil\u2066\u2028\u2029") == r"\u202eevil\u2066\u2028\u2029"
    assert printable(os.fsdecode(b"\xff\xfe.env")) == r"\xff\xfe.env"
    assert printable("\ud800") == r"\ud800"
    assert printable("tab\there", keep="\t") == "tab\there"
    assert printable("line\nnext\x1b", keep="\n") == "line\nnext\\x1b"
    plain = "héllo 日本語 [bold] <b> \\x1b ✓"
    assert printable(plain) is plain
    crafted = "a\x1b\n\udcff\u202e\x9b"
    assert printable(printable(crafted)) == printable(crafted)  # idempotent


def test_json_text_is_valid_utf8_and_lossless_for_characters():
    from keyscan.output import json_text

    doc = {"k\x1b": "a\x85b\u202ec\u2028d\x7f", "p": os.fsdecode(b"\xff")}
    text = json_text(doc)
    text.encode("utf-8")
    assert not RAW_UNSAFE.search(text.replace("\n", ""))
    assert json.loads(text) == {"k\x1b": "a\x85b\u202ec\u2028d\x7f", "p": r"\xff"}


def test_config_key_cannot_inject_workflow_commands(tmp_path):
    (tmp_path / ".keyscan.toml").write_text('"x\\n::add-mask::abc\\u001b[2J" = 1\n[allowlist]\n'
                                           'values = []\n"y\\n::stop-commands::t" = 2\n')
    proc = _keyscan(".", "--format", "github", cwd=tmp_path)
    assert proc.returncode == 2
    err = _safe(proc.stderr, "stderr")
    lines = err.splitlines()  # "keyscan: config ..." notes, then the one error line
    assert all(ln.startswith("keyscan: ") for ln in lines) and lines[-1].startswith("keyscan: error: ")
    assert r"x\n::add-mask::abc\x1b[2J" in lines[-1]


def _error_lines(proc) -> list[str]:
    """stderr of a run that failed with exit 2: every line keyscan's own, the
    error last (configuration notes may precede it)."""
    assert proc.returncode == 2
    lines = _safe(proc.stderr, "stderr").splitlines()
    assert all(ln.startswith("keyscan: ") for ln in lines) and lines[-1].startswith("keyscan: error: ")
    return lines


def test_config_path_in_error_message_is_escaped(tmp_path):
    (tmp_path / ".keyscan.toml").write_text('rules = ["a\\n::stop-commands::b\\u001b\\u202e.yml"]\n')
    proc = _keyscan(".", "--format", "github", cwd=tmp_path)
    lines = _error_lines(proc)
    assert r"a\n::stop-commands::b\x1b\u202e.yml" in lines[-1]


def test_click_usage_errors_are_escaped(tmp_path):
    proc = _keyscan(".", "--format", "x\n::add-mask::y\x1b[2J", cwd=tmp_path)
    assert proc.returncode == 2
    err = _safe(proc.stderr, "stderr")
    assert r"x\n::add-mask::y\x1b[2J" in err


RULE = """\
rules:
  - id: acme-token
    name: "Acme [bold red]token[/] \\e[2J\\u202e"
    provider: "Acme\\e]8;;http://x\\a"
    pattern: '(?P<secret>acme_[a-z0-9]{32})'
    keywords: [acme_]
    severity: high
    examples: ["acme_q7w2x9k4m1z8r5t3y6u0p2l9n4b7v1c8"]
"""
ACME = "acme_q7w2x9k4m1z8r5t3y6u0p2l9n4b7v1c8"  # matches the made-up rule above only


def test_repo_rule_names_are_shown_escaped_and_literal(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "acme.yml").write_text(RULE)
    (tmp_path / "a.txt").write_text(f"x = {ACME}\n")
    listing = _keyscan("rules", "list", "--rules", "rules", cwd=tmp_path, env={"COLUMNS": "250"})
    assert listing.returncode == 0, listing.stderr
    row = [ln for ln in _safe(listing.stdout, "rules list").splitlines() if "acme-token" in ln]
    assert len(row) == 1 and r"Acme [bold red]token[/] \x1b[2J\u202e" in row[0]  # markup shown, not applied
    assert r"Acme\x1b]8;;http://x\x07" in row[0]
    name = r"Acme [bold red]token[/] \x1b[2J\u202e"
    for fmt in FORMATS:
        proc = _keyscan(".", "--rules", "rules", "--format", fmt, "--no-progress", cwd=tmp_path)
        assert proc.returncode == 1, (fmt, proc.stderr)
        out = _safe(proc.stdout, fmt)
        if fmt == "json":
            assert {f["rule_name"] for f in json.loads(out)["findings"]} == {name}
        elif fmt == "gitlab":
            assert {v["name"] for v in json.loads(out)["vulnerabilities"]} == {name}
        elif fmt == "sarif":
            assert all(r["message"]["text"].startswith(name) for r in json.loads(out)["runs"][0]["results"])
        elif fmt == "github":
            assert all(name in ln for ln in out.splitlines())
        elif fmt == "markdown":
            assert r"Acme\\x1b\]8;;http://x\\x07" in out  # the provider column
    explain = _keyscan("explain", "acme-token", "--rules", "rules", cwd=tmp_path)
    assert explain.returncode == 0 and r"\x1b[2J" in _safe(explain.stdout, "explain")


def test_rule_file_errors_are_one_escaped_line(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yml").write_text(RULE.replace("    examples:", '    "k\\n::add-mask::v\\e": 1\n    examples:'))
    proc = _keyscan(".", "--rules", "rules", cwd=tmp_path)
    lines = _error_lines(proc)
    assert r"k\n::add-mask::v\x1b" in lines[-1]


def test_rule_id_with_a_trailing_newline_is_refused(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yml").write_text(RULE.replace("id: acme-token", 'id: "acme-token\\n"'))
    proc = _keyscan("rules", "list", "--rules", "rules", cwd=tmp_path)
    assert proc.returncode == 2 and b"id must be lower-case" in proc.stderr


def test_mcp_inventory_escapes_server_names(crafted, tmp_path):
    table = _keyscan("mcp", ".", "--no-home", cwd=crafted)
    assert table.returncode == 1
    assert r"s\x1b[2Jv" in _safe(table.stdout, "mcp table")
    as_json = _keyscan("mcp", ".", "--no-home", "-f", "json", "-o", str(tmp_path / "mcp.json"), cwd=crafted)
    assert as_json.returncode == 1
    doc = json.loads(_safe((tmp_path / "mcp.json").read_bytes(), "mcp json"))
    assert [s["name"] for f in doc["files"] for s in f["servers"]] == [r"s\x1b[2Jv"]


def test_skipped_reasons_and_summary_are_escaped(tmp_path):
    name = b"big\x1b[2J\xff.txt"
    with open(os.path.join(os.fsencode(str(tmp_path)), name), "wb") as fh:
        fh.write(b"x" * 2048)
    proc = _keyscan(".", "--max-file-size", "1k", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(_safe(proc.stdout, "json"))
    assert [s["path"] for s in doc["skipped"]] == [r"big\x1b[2J\xff.txt"]
    _safe(proc.stderr, "stderr")


def test_history_only_fields_from_git_are_escaped(tmp_path):
    """Paths a commit held are shown escaped too (provenance ``commitPath``)."""
    from dataclasses import replace

    from keyscan.models import Provenance
    from keyscan.report.interface import for_display
    from keyscan import ScanOptions, scan

    (tmp_path / "a.env").write_text(f"T={KEY}\n")
    result = scan(ScanOptions(paths=(str(tmp_path),)))
    (f,) = result.findings
    crafted = replace(f, provenance=Provenance(commit="0" * 40, commit_path="x\x1b[2J\ny",
                                               archive_member="m\u202e"))
    shown = for_display(replace(result, findings=(crafted,)))
    assert shown.findings[0].prop("commitPath") == r"x\x1b[2J\ny"
    assert shown.findings[0].prop("archive_member") == r"m\u202e"
    assert for_display(result) is result  # nothing to escape: the same object


# --------------------------------------------------------------------------
# -o onto special files (issue 17 item 7)


def _scan_to(target, cwd, fmt="json"):
    return _keyscan(".", "--format", fmt, "--no-progress", "-q", "-o", str(target), cwd=cwd)


@pytest.fixture
def keyed(tmp_path):
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.env").write_text(f"TOKEN={KEY}\n")
    return root


def test_output_to_a_fifo_is_written_through(keyed, tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = _scan_to(fifo, keyed)
    reader.join(60)
    assert proc.returncode == 1, proc.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert json.loads(got[0])["summary"]["findings"] == 1


def test_output_to_a_device_keeps_the_device(keyed, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.stat("/dev/null").st_rdev)
    proc = _scan_to(node, keyed)
    assert proc.returncode == 1, proc.stderr
    st = os.lstat(node)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.stat("/dev/null").st_rdev
    # The real /dev/null, only once the copy above proved the node is written through
    # (the bug being tested replaces the node: never risk that on the machine's /dev/null).
    proc = _scan_to("/dev/null", keyed)
    assert proc.returncode == 1, proc.stderr
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


@pytest.mark.parametrize("target", ["/dev/fd/1", "/proc/self/fd/1", "/dev/stdout"])
def test_output_to_stdout_paths(keyed, target):
    from keyscan.output import _fd_path

    if target == "/dev/stdout":  # never run the bug on the machine's /dev/stdout link
        assert os.path.islink("/dev/stdout") is False or _fd_path("/dev/stdout") is not None
        before = os.lstat("/dev/stdout")
    proc = _scan_to(target, keyed, fmt="sarif")
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["runs"][0]["results"][0]["ruleId"] == "github-pat-classic"
    if target == "/dev/stdout":
        after = os.lstat("/dev/stdout")
        assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


def test_output_through_a_planted_symlink_replaces_the_link(keyed, tmp_path):
    """A link in the scanned tree pointing at a device is replaced, never followed."""
    if os.geteuid() != 0:
        pytest.skip("mknod needs root")
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.stat("/dev/null").st_rdev)
    link = keyed / "report.json"
    link.symlink_to(node)
    proc = _scan_to(link, keyed)
    assert proc.returncode == 1, proc.stderr
    assert stat.S_ISREG(os.lstat(link).st_mode) and stat.S_ISCHR(os.lstat(node).st_mode)
    assert json.loads(link.read_text())["summary"]["findings"] == 1


# --------------------------------------------------------------------------
# redact: contradictory flags


def test_redact_dry_run_and_in_place_together_is_a_usage_error(keyed):
    before = (keyed / "a.env").read_text()
    for flags in (["--in-place", "--dry-run"], ["--dry-run", "--in-place"]):
        proc = _keyscan("redact", *flags, "--no-backup", ".", cwd=keyed)
        assert proc.returncode == 2
        assert proc.stderr.decode() == "keyscan: error: --dry-run and --in-place cannot be combined\n"
    assert (keyed / "a.env").read_text() == before


# --------------------------------------------------------------------------
# SARIF of the crafted tree passes strict validation (issue 17 item 5)


@pytest.mark.slow
def test_crafted_sarif_passes_strict_validation(crafted, tmp_path):
    import shutil

    from test_reports import VALIDATOR

    if not VALIDATOR.exists() or not shutil.which("npm"):
        pytest.skip("validate-sarif not available")
    out = tmp_path / "crafted.sarif"
    proc = _keyscan(".", "--format", "sarif", "-o", str(out), cwd=crafted)
    assert proc.returncode == 1, proc.stderr
    check = subprocess.run([str(VALIDATOR), "--strict", str(out)], capture_output=True, text=True, timeout=1800)
    if check.returncode == 2:
        pytest.skip(f"validate-sarif tools could not be installed: {check.stderr.strip()[:200]}")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "schema errors 0, multitool errors 0, multitool warnings 0" in check.stdout


def test_sarif_context_region_is_a_proper_superset(tmp_path):
    """A secret longer than the context width: contextRegion must not equal region (SARIF1008)."""
    from keyscan import ScanOptions, scan
    from keyscan.report import render
    from keyscan.report.interface import ReportContext

    src = ROOT / "fixtures" / "quality" / "corpus" / "config"
    doc = json.loads(render("sarif", scan(ScanOptions(paths=(str(src),))), ReportContext(root=str(src))))
    checked = 0
    for r in doc["runs"][0]["results"]:
        loc = r["locations"][0]["physicalLocation"]
        reg, ctx = loc["region"], loc.get("contextRegion")
        if ctx is not None:
            checked += 1
            span = lambda x: (x["startLine"], x["startColumn"], x["endLine"], x["endColumn"])  # noqa: E731
            assert span(ctx) != span(reg), r["ruleId"]
    long_ones = [r for r in doc["runs"][0]["results"]
                 if r["locations"][0]["physicalLocation"]["region"]["endColumn"]
                 - r["locations"][0]["physicalLocation"]["region"]["startColumn"] > 240]
    assert checked and long_ones


def test_redact_diff_escapes_names_and_lines(tmp_path):
    with open(os.path.join(os.fsencode(str(tmp_path)), b"\xff\x1b[2J.env"), "wb") as fh:
        fh.write(f"A=1\x1b[1A\r\nTOKEN={KEY}\r\n".encode())
    proc = _keyscan("redact", ".", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    out = _safe(proc.stdout, "redact diff")
    assert "\r" not in out
    assert out.splitlines()[:2] == [r"--- a/\xff\x1b[2J.env", r"+++ b/\xff\x1b[2J.env"]
    assert r" A=1\x1b[1A\r" in out.splitlines()


def test_suppressed_findings_in_sarif_are_escaped_too(tmp_path):
    """Baselined/allowlisted findings stay in SARIF as suppressed results: their names are escaped too."""
    name = b"s\x1b[2J\xff.env"
    with open(os.path.join(os.fsencode(str(tmp_path)), name), "wb") as fh:
        fh.write(f"TOKEN={KEY}\n".encode())
    (tmp_path / ".keyscan.toml").write_text(f'[allowlist]\nvalues = ["{KEY}"]\n')
    out = tmp_path / "r.sarif"
    proc = _keyscan(".", "--format", "sarif", "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(_safe(out.read_bytes(), "sarif"))
    results = [r for r in doc["runs"][0]["results"]
               if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(".env")]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results] == [
        quote(r"s\x1b[2J\xff.env", safe="/-._~!$&'()*+,;=@")]
    assert results[0]["suppressions"]
