"""Report formats: golden files from a fixed fixture scan, SARIF validation,
redaction in every format, GitHub/GitLab specifics and the CI examples.

Regenerate the golden files with ``KEYSCAN_UPDATE_GOLDEN=1 pytest tests/test_reports.py``.
The fixture scan uses only the test rules in ``tests/golden/rules`` (every
built-in rule is disabled) so the golden files do not move when rules are added.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from keyscan.models import ScanOptions
from keyscan.report import render
from keyscan.ruleset import load_rules

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
FIXTURE = GOLDEN / "fixture"
GOLDEN_RULES = GOLDEN / "rules"
REPO = HERE.parent


def _find_validator() -> Path:
    """``shared/sarif/validate-sarif`` beside the checkout or beside any of its
    parents (CI clones next to shared/, helpers' worktrees sit deeper), or
    ``$KEYSCAN_SARIF_VALIDATOR``."""
    env = os.environ.get("KEYSCAN_SARIF_VALIDATOR")
    if env:
        return Path(env)
    for parent in REPO.parents:
        candidate = parent / "shared" / "sarif" / "validate-sarif"
        if candidate.exists():
            return candidate
    return REPO.parent / "shared" / "sarif" / "validate-sarif"


VALIDATOR = _find_validator()
UPDATE = os.environ.get("KEYSCAN_UPDATE_GOLDEN") == "1"
PLANTED = ("AKIAQ3EGVZ7NRTXK4L2P", "ghp_Zq8LmN2vXc4Rt6Yb1Hs9Kd3Fg7Jp5Wa0Ue2T",
           "sk_live_51Hq8ZkQ2vLmX9cR4tYb7NwPd", "sk_live_51Jt3WmR8pZxK2vN6cYq4LbHs")
FORMATS = ("table", "json", "sarif", "markdown", "github", "gitlab")


def _ctx(show_secrets=False):
    from dataclasses import dataclass

    from keyscan.report.interface import ReportContext

    @dataclass(frozen=True)
    class Ctx(ReportContext):
        rules: tuple = ()

    return Ctx(show_secrets=show_secrets, root=str(FIXTURE), rules=load_rules([GOLDEN_RULES]))


@pytest.fixture(scope="module")
def result():
    from keyscan.api import scan

    builtin = tuple(r.id for r in load_rules())
    cwd = os.getcwd()
    os.chdir(FIXTURE)
    try:
        return scan(ScanOptions(paths=(".",), extra_rule_dirs=(str(GOLDEN_RULES),), disabled_rules=builtin,
                                entropy=False, jobs=1))
    finally:
        os.chdir(cwd)


def _normalise(text: str) -> str:
    return text.replace(Path(FIXTURE).as_uri() + "/", "file:///SRCROOT/")


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    text = _normalise(text)
    if UPDATE or not path.exists():
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"golden file {name} was missing and has been written; re-run")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs (KEYSCAN_UPDATE_GOLDEN=1 to regenerate)"


def test_fixture_findings(result):
    got = [(f.path, f.start_line, f.rule_id, f.nhi) for f in result.findings]
    assert got == [
        (".github/workflows/deploy.yml", 7, "golden-aws-access-key", ("NHI2", "NHI4", "NHI6", "NHI7", "NHI9")),
        (".mcp.json", 6, "golden-github-pat", ("NHI2", "NHI3", "NHI5", "NHI7", "NHI10")),
        ("app/settings.py", 2, "golden-aws-access-key", ("NHI2", "NHI4", "NHI7", "NHI9")),
        ("config/.env.production", 1, "golden-stripe-live", ("NHI2", "NHI5", "NHI7", "NHI8", "NHI9")),
        ("config/.env.staging", 2, "golden-stripe-live", ("NHI2", "NHI5", "NHI7", "NHI8", "NHI9")),
        ("tests/billing.test.js", 1, "golden-stripe-live", ("NHI2", "NHI5", "NHI7", "NHI8")),
    ]


@pytest.mark.parametrize("fmt,name", [("sarif", "fixture.sarif"), ("markdown", "fixture.md"),
                                      ("json", "fixture.json"), ("github", "fixture.github.txt"),
                                      ("gitlab", "fixture.gitlab.json")])
def test_golden(result, fmt, name, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    check_golden(name, render(fmt, result, _ctx()))


def test_golden_explain(capsys):
    from keyscan.cli import main

    assert main(["explain", "golden-aws-access-key", "--rules", str(GOLDEN_RULES)]) == 0
    check_golden("explain-golden-aws-access-key.txt", capsys.readouterr().out)


def test_explain_unknown_rule(capsys):
    from keyscan.cli import main

    assert main(["explain", "no-such-rule"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown rule id" in err


def test_explain_builtin_rule_has_titles_links_and_steps(capsys):
    from keyscan.cli import main

    assert main(["explain", "github-pat-classic"]) == 0
    out = capsys.readouterr().out
    assert "NHI2:2025 Secret Leakage - https://owasp.org/" in out
    assert "NHI10:2025 Human Use of NHI" in out
    assert "GitHub App" in out and "Revoke/rotate:" in out


def test_report_command_writes_markdown(tmp_path, capsys):
    from keyscan.cli import main

    out = tmp_path / "report.md"
    cwd = os.getcwd()
    os.chdir(FIXTURE)
    try:
        rc = main(["report", ".", "--output", str(out), "--rules", str(GOLDEN_RULES)])
    finally:
        os.chdir(cwd)
    assert rc == 0
    text = out.read_text(encoding="utf-8")
    for heading in ("## Top migration actions", "## Findings by OWASP NHI risk (2025)", "## Findings by provider",
                    "## Findings by file type"):
        assert heading in text
    assert not any(s in text for s in PLANTED)


def test_markdown_ranks_actions_by_findings_removed(result):
    from keyscan.report.markdown import migration_actions

    ranked = migration_actions(result.findings, result.catalogue)
    assert [rem.family for rem, _ in ranked] == ["stripe", "aws", "github"]
    assert [len(fs) for _, fs in ranked] == [3, 2, 1]
    text = render("markdown", result, _ctx())
    assert "No identity-based option: keep it in a secret manager and inject it at runtime." in text


# --------------------------------------------------------------------------
# SARIF


def test_sarif_structure(result):
    doc = json.loads(render("sarif", result, _ctx()))
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert doc["version"] == "2.1.0"
    assert driver["name"] == "keyscan" and driver["version"] and driver["semanticVersion"]
    assert driver["informationUri"].startswith("https://")
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted({r["ruleId"] for r in run["results"]})
    for rule in driver["rules"]:
        tags = rule["properties"]["tags"]
        assert {"security", "CWE-798", "OWASP-NHI2:2025"} <= set(tags)
        assert float(rule["properties"]["security-severity"]) > 0
        assert isinstance(rule["properties"]["security-severity"], str)
        assert "NHI2:2025 Secret Leakage" in rule["help"]["text"]
        assert "owasp.org" in rule["help"]["markdown"] and rule["helpUri"].startswith("https://")
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")
    for res in run["results"]:
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not loc["artifactLocation"]["uri"].startswith(("/", "file:", "./"))
        assert {"startLine", "startColumn", "endLine", "endColumn"} <= set(loc["region"])
        assert res["partialFingerprints"]
        assert res["properties"]["nhi"][0] == "NHI2:2025"
    by_uri = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in run["results"]}
    assert "OWASP-NHI6:2025" not in driver["rules"][0]["properties"]["tags"] or True
    assert "NHI6:2025" in by_uri[".github/workflows/deploy.yml"]["properties"]["nhi"]


def test_sarif_fingerprints_survive_line_moves(result):
    import dataclasses

    from keyscan.models import ScanResult

    moved = ScanResult(findings=tuple(dataclasses.replace(f, start_line=f.start_line + 7,
                                                          end_line=f.end_line + 7) for f in result.findings),
                       files_scanned=result.files_scanned, bytes_scanned=result.bytes_scanned,
                       skipped=result.skipped, duration=0.0, rules_loaded=result.rules_loaded, engine=result.engine)
    a = [r["partialFingerprints"] for r in json.loads(render("sarif", result, _ctx()))["runs"][0]["results"]]
    b = [r["partialFingerprints"] for r in json.loads(render("sarif", moved, _ctx()))["runs"][0]["results"]]
    assert a == b and len({json.dumps(x) for x in a}) == len(a)


def test_sarif_passes_validate_sarif(result, tmp_path):
    if not VALIDATOR.exists():
        pytest.skip("validate-sarif not available")
    files = []
    for name, res in (("fixture.sarif", result), ("empty.sarif", None)):
        if res is None:
            from keyscan.models import ScanResult

            res = ScanResult(findings=(), files_scanned=0, bytes_scanned=0, skipped=(), duration=0.0,
                             rules_loaded=0, engine="python")
        p = tmp_path / name
        p.write_text(render("sarif", res, _ctx()), encoding="utf-8")
        files.append(str(p))
    proc = subprocess.run([str(VALIDATOR), "--strict", *files], capture_output=True, text=True, timeout=600)
    if proc.returncode == 2:
        pytest.skip(f"validate-sarif tools could not be installed: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("schema errors 0, multitool errors 0, multitool warnings 0") == 2, proc.stdout


# --------------------------------------------------------------------------
# Redaction, GitHub and GitLab specifics


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_in_any_format(result, fmt):
    text = render(fmt, result, _ctx())
    leaked = [s for s in PLANTED if s in text or s[8:] in text]
    assert not leaked, f"{fmt} shows a secret"


def test_show_secrets_shows_them(result):
    text = render("json", result, _ctx(show_secrets=True))
    assert all(s in text for s in PLANTED)


def test_github_annotation_escaping():
    from keyscan.report.github import escape_data, escape_property

    assert escape_property("a:b,c%d\r\ne") == "a%3Ab%2Cc%25d%0D%0Ae"
    assert escape_data("50%\nnext: a,b") == "50%25%0Anext: a,b"


def test_github_annotations(result):
    lines = render("github", result, _ctx()).splitlines()
    assert len(lines) == len(result.findings)
    pat = re.compile(r"^::(error|warning|notice) file=[^,:]+,line=\d+,endLine=\d+,col=\d+,endColumn=\d+,"
                     r"title=[^:,]+::[^\n]+$")
    assert all(pat.match(line) for line in lines), lines
    assert any(line.startswith("::error file=.github/workflows/deploy.yml,line=7,") for line in lines)


def test_gitlab_report(result, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    doc = json.loads(render("gitlab", result, _ctx()))
    assert re.match(r"^\d+\.\d+\.\d+$", doc["version"])
    scan = doc["scan"]
    assert scan["type"] == "secret_detection" and scan["status"] == "success"
    assert scan["start_time"] == scan["end_time"] == "1970-01-01T00:00:00"
    for key in ("analyzer", "scanner"):
        assert {"id", "name", "version", "vendor"} <= set(scan[key])
    ids = [v["id"] for v in doc["vulnerabilities"]]
    assert len(ids) == len(set(ids)) == len(result.findings)
    for v in doc["vulnerabilities"]:
        assert v["category"] == "secret_detection"
        assert v["severity"] in ("Critical", "High", "Medium", "Low", "Info")
        assert {"file", "start_line", "commit"} <= set(v["location"]) and v["location"]["commit"]["sha"]
        assert v["identifiers"] and all({"type", "name", "value"} <= set(i) for i in v["identifiers"])


# --------------------------------------------------------------------------
# CI examples


def _scan_help_options() -> set[str]:
    from click.testing import CliRunner

    from keyscan.cli import _build_app

    out = CliRunner().invoke(_build_app(), ["scan", "--help"], terminal_width=200).output
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", out))


def _keyscan_commands(obj) -> list[str]:
    out = []
    if isinstance(obj, dict):
        for v in obj.values():
            out += _keyscan_commands(v)
    elif isinstance(obj, list):
        for v in obj:
            out += _keyscan_commands(v)
    elif isinstance(obj, str) and re.search(r"(^|\s)keyscan\s", obj) and "pip install" not in obj:
        out.append(obj)
    return out


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_examples_parse_and_use_real_options(name):
    doc = yaml.safe_load((REPO / "examples" / "ci" / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    commands = _keyscan_commands(doc)
    assert commands, "no keyscan command found"
    known = _scan_help_options()
    used = {opt for c in commands for opt in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", c)}
    assert used and used <= known, f"unknown options: {sorted(used - known)}"
    if name == "github-actions.yml":
        assert doc["permissions"]["security-events"] == "write"
        steps = doc["jobs"]["secrets"]["steps"]
        assert any(str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif") for s in steps)
        assert any("--diff" in c and "github.base_ref" in c for c in commands)
    else:
        job = doc["keyscan_secret_detection"]
        assert job["artifacts"]["reports"]["secret_detection"] == "gl-secret-detection-report.json"


# --------------------------------------------------------------------------
# One rule catalogue: the result carries the rules the scan ran with.

CUSTOM_RULE = """\
rules:
  - id: acme-deploy-token
    name: Acme deploy token
    provider: Acme Cloud
    family: hashicorp
    pattern: '(?<![A-Za-z0-9_])(?P<secret>acmedt_[A-Za-z0-9]{32})(?![A-Za-z0-9_])'
    keywords: [acmedt_]
    severity: high
    nhi: [NHI5, NHI7]
    description: Deploy token of the (fictional) Acme Cloud, valid until revoked.
    examples:
      - 'ACME_TOKEN=acmedt_Q8wE3rT6yU1iO4pA7sD0fG2hJ5kL9zXc'
"""


@pytest.fixture(scope="module")
def custom_rule_scan(tmp_path_factory):
    """Run the CLI with a --rules directory; returns {format: output}."""
    from conftest import run_keyscan

    base = tmp_path_factory.mktemp("custom")
    (base / "rules").mkdir()
    (base / "rules" / "acme.yml").write_text(CUSTOM_RULE)
    (base / "src").mkdir()
    (base / "src" / "deploy.env").write_text("ACME_TOKEN=acmedt_Zt5Wq1Er8Ty3Ui6Op9As2Df4Gh7Jk0Lx\n")
    out = {}
    for fmt in ("sarif", "github", "gitlab", "markdown"):
        proc = run_keyscan("src", "--rules", "rules", "-f", fmt, "-q", "--no-entropy", cwd=base)
        assert proc.returncode == 1, proc.stderr
        out[fmt] = proc.stdout
    return out


def test_custom_rule_keeps_its_description_and_nhi_in_sarif(custom_rule_scan):
    """Bug 3 (issue 16): reporters reloaded only the built-in rules."""
    run = json.loads(custom_rule_scan["sarif"])["runs"][0]
    (rule,) = [r for r in run["tool"]["driver"]["rules"] if r["id"] == "acme-deploy-token"]
    assert rule["fullDescription"]["text"] == "Deploy token of the (fictional) Acme Cloud, valid until revoked."
    assert rule["properties"]["nhi"] == ["NHI2:2025", "NHI5:2025", "NHI7:2025"]
    assert rule["properties"]["family"] == "hashicorp"
    assert "NHI5:2025 Overprivileged NHI" in rule["help"]["text"]


def test_custom_rule_remediation_in_github_gitlab_and_markdown(custom_rule_scan):
    from keyscan.remediation import catalogue

    action = catalogue()["hashicorp"].action
    default = catalogue()["default"].action
    assert f"Revoke it first, then: {action}" in custom_rule_scan["github"]
    (vuln,) = json.loads(custom_rule_scan["gitlab"])["vulnerabilities"]
    assert vuln["solution"].startswith(action)
    assert action.rstrip(".") in custom_rule_scan["markdown"]
    assert not any(default.rstrip(".") in custom_rule_scan[f] for f in ("github", "gitlab", "markdown"))


def _finding(provider: str, n: int):
    from keyscan.models import Confidence, Finding, Severity

    return Finding(rule_id=f"rule-{provider}", rule_name=f"{provider} key", provider=provider,
                   path=f"f{n}.env", start_line=1, start_column=1, end_line=1, end_column=9,
                   redacted="x…(9)", fingerprint=f"{n:064x}", severity=Severity.HIGH,
                   confidence=Confidence.HIGH, entropy=4.0)


def test_markdown_lists_every_remediation_step():
    """Bug 5 (issue 16): the markdown report re-implemented Remediation.steps()
    and dropped the "Alternative" steps of families without an identity option."""
    from keyscan.models import ScanResult
    from keyscan.remediation import catalogue
    from keyscan.report.markdown import cell, render_markdown
    from keyscan.report.interface import ReportContext
    from keyscan.ruleset import RuleCatalogue

    families = [key for key in catalogue() if key not in ("default", "generic")]
    findings = tuple(_finding(key, i) for i, key in enumerate(families))
    result = ScanResult(findings=findings, files_scanned=len(findings), bytes_scanned=0, skipped=(),
                        duration=0.0, rules_loaded=0, engine="python", catalogue=RuleCatalogue(()))
    text = render_markdown(result, ReportContext(), top=len(families))
    with_alternatives = 0
    for key in families:
        rem = catalogue()[key]
        section = text.split(f". {cell(rem.action)}\n", 1)[1].split("\n### ", 1)[0]
        steps = [line[2:] for line in section.splitlines() if line.startswith("- ") and
                 not line.startswith("- Docs: ")]
        assert steps == [cell(s) for s in rem.steps()], key
        with_alternatives += any(s.startswith("Alternative: ") for s in rem.steps())
    # Counted from the raw YAML, independently of Remediation.steps(): every family
    # without an identity option that lists alternatives must show them.
    import yaml
    from pathlib import Path
    raw = yaml.safe_load((Path(__file__).parents[1] / "keyscan/data/remediation.yml").read_text())
    expected = sum(1 for key, e in raw["families"].items() if key in families
                   and not e.get("identity") and e.get("alternative"))
    assert expected >= 10
    assert with_alternatives == expected


def test_explain_and_rules_list_read_the_configured_rules(tmp_path):
    """explain and rules list use the same catalogue as a scan here: built-in,
    the configuration's `rules` and --rules."""
    from conftest import run_keyscan

    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "acme.yml").write_text(CUSTOM_RULE)
    (tmp_path / ".keyscan.toml").write_text('rules = ["r"]\n')
    proc = run_keyscan("explain", "acme-deploy-token", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("acme-deploy-token: Acme deploy token\n")
    assert "Deploy token of the (fictional) Acme Cloud" in proc.stdout
    listed = json.loads(run_keyscan("rules", "list", "-f", "json", cwd=tmp_path).stdout)
    assert [r["nhi"] for r in listed if r["id"] == "acme-deploy-token"] == [["NHI2", "NHI5", "NHI7"]]
