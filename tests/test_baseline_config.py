"""Baselines, inline allow comments, configuration files and `keyscan init`."""

import json
import os

import pytest

from keyscan import ScanOptions, scan
from keyscan.config import load_config
from keyscan.errors import UsageError

from conftest import run_keyscan

TOKEN = "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"
TOKEN2 = "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"


def _findings(proc):
    return json.loads(proc.stdout)["findings"]


def test_baseline_create_hides_known_findings_and_survives_line_moves(tmp_path):
    (tmp_path / "a.env").write_text(f"T={TOKEN}\n")
    proc = run_keyscan("baseline", "create", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    bl_path = tmp_path / ".keyscan-baseline.json"
    text = bl_path.read_text()
    assert TOKEN not in text and TOKEN[4:20] not in text
    doc = json.loads(text)
    assert [e["rule_id"] for e in doc["entries"]] == ["github-pat-classic"]
    # One entry per line, sorted: merges rarely conflict.
    assert text.count("\n    {") == 1
    # Move the secret to another line and file, add a new one.
    (tmp_path / "a.env").write_text("\n\n# moved\n")
    (tmp_path / "b.env").write_text(f"X=1\nT = '{TOKEN}'\nU={TOKEN2}\n")
    proc = run_keyscan(str(tmp_path), "--baseline", str(bl_path), "-f", "json")
    assert proc.returncode == 1
    assert [(os.path.basename(f["path"]), f["start_line"]) for f in _findings(proc)] == [("b.env", 3)]
    assert json.loads(proc.stdout)["summary"]["suppressed"] == {"baseline": 1}


def test_baseline_update_prunes_entries_that_are_gone(tmp_path):
    (tmp_path / "a.env").write_text(f"T={TOKEN}\nU={TOKEN2}\n")
    assert run_keyscan("baseline", "create", str(tmp_path)).returncode == 0
    (tmp_path / "a.env").write_text(f"T={TOKEN}\n")
    proc = run_keyscan("baseline", "update", str(tmp_path))
    assert proc.returncode == 0 and "1 entries kept, 1 removed" in proc.stderr
    assert len(json.loads((tmp_path / ".keyscan-baseline.json").read_text())["entries"]) == 1


def test_bad_baseline_is_usage_error(tmp_path):
    (tmp_path / "bl.json").write_text("{not json")
    proc = run_keyscan(str(tmp_path), "--baseline", str(tmp_path / "bl.json"))
    assert proc.returncode == 2 and "not a keyscan baseline" in proc.stderr


@pytest.mark.parametrize("comment", ["# keyscan:allow", "// gitleaks:allow", "# pragma: allowlist secret"])
def test_inline_allow_comments(tmp_path, comment):
    (tmp_path / "a.py").write_text(f'TOKEN = "{TOKEN}"  {comment}\nOTHER = "{TOKEN2}"\n')
    result = scan(ScanOptions(paths=(str(tmp_path),)))
    assert [(f.start_line, f.secret) for f in result.findings] == [(2, TOKEN2)]
    assert dict(result.suppressed) == {"inline-allow": 1}


def test_config_file_options(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text(f"T={TOKEN}\n")
    (tmp_path / "a.env").write_text(f"T={TOKEN}\nU={TOKEN2}\n")
    (tmp_path / ".keyscan.toml").write_text(
        'exclude = ["docs/"]\nfail-on = "critical"\n[allowlist]\nvalues = ["%s"]\n' % TOKEN2)
    proc = run_keyscan(str(tmp_path), "-f", "json")
    assert proc.returncode == 1
    assert [(os.path.basename(f["path"]), f["start_line"]) for f in _findings(proc)] == [("a.env", 1)]
    # Allowlisted twice: in a.env and in .keyscan.toml itself, which names the value.
    assert json.loads(proc.stdout)["summary"]["suppressed"] == {"allowlist": 2}


def test_pyproject_tool_keyscan_section(tmp_path):
    (tmp_path / "a.env").write_text(f"T={TOKEN}\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname="x"\n[tool.keyscan]\ndisable-rules = ["github-pat-classic"]\n')
    proc = run_keyscan(str(tmp_path), "-f", "json")
    assert proc.returncode == 0 and _findings(proc) == []


@pytest.mark.parametrize("body,needle", [
    ('fail-on = "urgent"\n', "'fail-on': unknown severity"),
    ('colour = "red"\n', "unknown key 'colour'"),
    ('exclude = "docs"\n', "'exclude' must be a list of strings"),
    ('[allowlist]\nregexes = ["(unclosed"]\n', "does not compile"),
    ('entropy-threshold = 12\n', "'entropy-threshold' must be a number from 0 to 8"),
    ('this is not toml\n', "invalid TOML"),
])
def test_bad_config_is_one_line_naming_file_and_key(tmp_path, body, needle):
    cfg = tmp_path / ".keyscan.toml"
    cfg.write_text(body)
    proc = run_keyscan(str(tmp_path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(cfg) in lines[0] and needle in lines[0], proc.stderr


def test_init_writes_a_loadable_commented_config_and_pre_commit_hook(tmp_path):
    proc = run_keyscan("init", str(tmp_path), "--pre-commit")
    assert proc.returncode == 0, proc.stderr
    cfg = load_config(str(tmp_path / ".keyscan.toml"))
    assert cfg.exclude == () and cfg.fail_on is None  # everything commented out
    assert "id: keyscan" in (tmp_path / ".pre-commit-config.yaml").read_text()
    again = run_keyscan("init", str(tmp_path))
    assert again.returncode == 2 and "exists" in again.stderr


def test_history_options_need_history(tmp_path):
    proc = run_keyscan(str(tmp_path), "--max-commits", "3")
    assert proc.returncode == 2 and "need --history" in proc.stderr


# --------------------------------------------------------------------------
# One configuration path: every command that scans merges the file and the
# flags through keyscan.config.resolve_settings.


@pytest.mark.parametrize("config", [
    'disable-rules = ["github-pat-classic"]\n',
    'exclude = ["a.env"]\n',
    '[allowlist]\nvalues = ["%s"]\n' % TOKEN,
])
def test_report_honours_the_configuration_like_scan(tmp_path, config):
    """Bug 1 (issue 16): `keyscan report` ignored .keyscan.toml."""
    (tmp_path / "a.env").write_text(f"T={TOKEN}\n")
    (tmp_path / ".keyscan.toml").write_text(config)
    scanned = run_keyscan(str(tmp_path), "-f", "json")
    assert scanned.returncode == 0 and _findings(scanned) == []
    report = run_keyscan("report", str(tmp_path))
    assert report.returncode == 0, report.stderr
    assert "No secrets found" in report.stdout and "github-pat-classic" not in report.stdout


def test_baseline_create_honours_the_configuration(tmp_path):
    (tmp_path / "a.env").write_text(f"T={TOKEN}\n")
    (tmp_path / "b.env").write_text(f"T={TOKEN2}\n")
    (tmp_path / ".keyscan.toml").write_text('exclude = ["b.env"]\n')
    proc = run_keyscan("baseline", "create", str(tmp_path))
    assert proc.returncode == 0 and "1 entries" in proc.stderr


def test_resolve_settings_parses_once_and_the_command_line_wins(tmp_path):
    from keyscan.config import resolve_settings
    from keyscan.models import Severity

    (tmp_path / ".keyscan.toml").write_text(
        'max-file-size = "2MB"\nmin-severity = "high"\nfail-on = "critical"\ndisable-rules = ["a"]\n'
        'entropy = false\nbaseline = "bl.json"\n')
    cfg = load_config(str(tmp_path / ".keyscan.toml"))
    assert (cfg.max_file_size, cfg.min_severity, cfg.fail_on) == (2 * 1024 * 1024, Severity.HIGH, Severity.CRITICAL)
    s = resolve_settings([str(tmp_path)])
    assert (s.options.max_file_size, s.options.min_severity, s.fail_on) == (2 * 1024 * 1024, Severity.HIGH,
                                                                          Severity.CRITICAL)
    assert s.options.disabled_rules == ("a",) and s.options.entropy is False
    assert s.options.baseline == str(tmp_path / "bl.json")
    s = resolve_settings([str(tmp_path)], max_file_size="1k", min_severity="low", fail_on="medium",
                         disable_rules=["b"], entropy=True, use_baseline=False, jobs=1)
    assert (s.options.max_file_size, s.options.min_severity, s.fail_on) == (1024, Severity.LOW, Severity.MEDIUM)
    assert s.options.disabled_rules == ("a", "b") and s.options.entropy is True
    assert s.options.baseline is None and s.options.jobs == 1
    with pytest.raises(UsageError, match="--fail-on: unknown severity"):
        resolve_settings([str(tmp_path)], fail_on="urgent")
