"""The command line: exit codes, exact findings, formats, redaction, errors."""

import json
import os
import stat

import pytest

from conftest import ROOT, run_keyscan

TOKEN = "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"


def _repo(tmp_path, text=f"GITHUB_TOKEN={TOKEN}\n"):
    (tmp_path / "app.env").write_text(text)
    return tmp_path


def test_findings_exit_1_and_table_on_stdout(tmp_path):
    proc = run_keyscan(str(_repo(tmp_path)), "--no-progress")
    assert proc.returncode == 1
    first, second = proc.stdout.splitlines()  # one finding: two lines
    sev, rule, where = first.split()
    assert (sev, rule) == ("CRITICAL", "github-pat-classic") and where.endswith("app.env:1:14")
    assert second.split()[0] == "ghp_…(40)"
    assert TOKEN not in proc.stdout + proc.stderr
    assert "1 finding" in proc.stderr


def test_no_findings_exit_0(tmp_path):
    (tmp_path / "ok.txt").write_text("nothing here\n")
    proc = run_keyscan(str(tmp_path))
    assert proc.returncode == 0
    assert proc.stdout == ""


def test_scan_subcommand_and_default_command_agree(tmp_path):
    _repo(tmp_path)
    a = run_keyscan("scan", str(tmp_path), "-f", "json")
    b = run_keyscan(str(tmp_path), "-f", "json")
    assert a.returncode == b.returncode == 1
    assert a.stdout == b.stdout


def test_json_report_exact_fields(tmp_path):
    proc = run_keyscan(str(_repo(tmp_path)), "-f", "json", "-q")
    assert proc.returncode == 1
    assert proc.stderr == ""
    doc = json.loads(proc.stdout)
    assert doc["schema_version"] == 1
    (f,) = doc["findings"]
    assert f["path"] == str(tmp_path / "app.env")
    assert (f["rule_id"], f["start_line"], f["start_column"], f["end_column"]) == ("github-pat-classic", 1, 14, 54)
    assert f["secret"] == "ghp_…(40)" and f["secret_redacted"] is True
    assert f["checks"] == {"checksum": "valid"}
    assert f["nhi"][0] == "NHI2"


def test_show_secrets(tmp_path):
    proc = run_keyscan(str(_repo(tmp_path)), "-f", "json", "--show-secrets")
    assert json.loads(proc.stdout)["findings"][0]["secret"] == TOKEN


def _medium_example() -> str:
    """A medium-severity finding (the Slack webhook rule's own example)."""
    from keyscan.ruleset import load_rules

    (rule,) = [r for r in load_rules() if r.id == "slack-webhook-url"]
    assert rule.severity.value == "medium"
    return rule.examples[0].text + "\n"


def test_exit_zero_and_fail_on(tmp_path):
    (tmp_path / "hooks.env").write_text(_medium_example())
    # only a medium finding: --fail-on critical passes, --fail-on medium fails
    assert run_keyscan(str(tmp_path), "--fail-on", "critical").returncode == 0
    assert run_keyscan(str(tmp_path), "--fail-on", "medium").returncode == 1
    _repo(tmp_path)
    assert run_keyscan(str(tmp_path), "--exit-zero").returncode == 0
    # github-pat-classic is critical: --fail-on critical now fails.
    assert run_keyscan(str(tmp_path), "--fail-on", "critical").returncode == 1


def test_min_severity_filters(tmp_path):
    _repo(tmp_path)
    (tmp_path / "hooks.env").write_text(_medium_example())
    every = json.loads(run_keyscan(str(tmp_path), "-f", "json").stdout)["findings"]
    assert sorted(f["rule_id"] for f in every) == ["github-pat-classic", "slack-webhook-url"]
    proc = run_keyscan(str(tmp_path), "--min-severity", "critical", "-f", "json")
    assert [f["rule_id"] for f in json.loads(proc.stdout)["findings"]] == ["github-pat-classic"]


def test_output_file_is_private_and_complete(tmp_path):
    _repo(tmp_path)
    out = tmp_path / "report.json"
    proc = run_keyscan(str(tmp_path / "app.env"), "-f", "json", "-o", str(out))
    assert proc.returncode == 1 and proc.stdout == ""
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert json.loads(out.read_text())["summary"]["findings"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".keyscan-")] == []


@pytest.mark.parametrize("args,needle", [
    (["/definitely/not/here"], "path does not exist"),
    (["--min-severity", "urgent", "."], "unknown severity"),
    (["--max-file-size", "ten", "."], "invalid size"),
])
def test_usage_errors_are_one_line_exit_2(args, needle):
    proc = run_keyscan(*args)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_option_is_exit_2():
    proc = run_keyscan("--format", "xml", ".")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_stdin_dash(tmp_path):
    proc = run_keyscan("-", "-f", "json", input=f"a\nb={TOKEN}\n")
    (f,) = json.loads(proc.stdout)["findings"]
    assert (f["path"], f["start_line"]) == ("<stdin>", 2)


def test_version_and_module_entry_point():
    proc = run_keyscan("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("keyscan ")


def test_help_lists_commands_and_options():
    top = run_keyscan("--help")
    assert top.returncode == 0
    for cmd in ("scan", "rules"):
        assert cmd in top.stdout
    sub = run_keyscan("scan", "--help")
    for opt in ("--format", "--output", "--no-progress", "--quiet", "--show-secrets", "--min-severity",
                "--rules", "--exit-zero", "--max-file-size"):
        assert opt in sub.stdout


def test_format_choices_are_the_report_formats():
    from keyscan.commands import FORMATS
    from keyscan.report import REPORTERS

    assert FORMATS == tuple(REPORTERS)


@pytest.mark.parametrize("args,code", [
    (["rules"], 2),  # a group without a command prints its help
    (["explain"], 2),  # missing argument
    (["explain", "no-such-rule"], 2),  # KeyscanError from the library
    (["scan", "--since", "2020-01-01", "."], 2),
    (["--jobs", "-1", "."], 2),
])
def test_usage_exit_codes(args, code):
    proc = run_keyscan(*args)
    assert proc.returncode == code
    assert "Traceback" not in proc.stderr


def test_repository_itself_is_clean():
    """Dogfooding: keyscan's own tree (minus test data in .keyscanignore) has no findings."""
    proc = run_keyscan(str(ROOT), "-q", "-f", "json", "--max-file-size", "2MB")
    assert json.loads(proc.stdout)["findings"] == []
