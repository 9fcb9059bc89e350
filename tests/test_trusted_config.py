"""The repository under review cannot switch its own gate off (issue 17, item 1).

Each attack of the issue's "Why" is built as a small git repository: ``main``
holds a clean project, the ``pr`` branch adds a key plus one configuration
change that would hide it.  A plain scan of the work tree shows the change is
effective (the key is hidden, exit 0); ``keyscan . --diff main --format github
--fail-on high`` -- the CI example -- still reports the key, reports the
configuration change, and fails.
"""

import json
import os
import subprocess

import pytest
from click.testing import CliRunner

from keyscan import baseline as bl
from keyscan.commands import build_cli

KEY = "ghu_SuyfzAyrf9yX5dVrcPX2fCJbXjask21lyUKQ"  # the rule's own example (high severity)
RULE = "github-app-user-token"

SHADOW_RULE = f"""\
rules:
  - id: repo-shadow
    name: Harmless repository token
    provider: Repo
    pattern: '(?P<secret>ghu_[A-Za-z0-9]{{36}})'
    keywords: [ghu_]
    severity: info
    priority: 1000
    examples:
      - text: 'X={KEY}'
        secret: '{KEY}'
"""


def _baseline_text() -> str:
    b = bl.new()
    return bl.render(bl.Baseline({b.key(RULE, KEY): {"rule_id": RULE, "path": "app.env"}}, bl.VERSION, b.salt))


# name -> (files the pull request adds besides app.env, the file holding the key)
ATTACKS = {
    "allowlist-regex": ({".keyscan.toml": '[allowlist]\nregexes = [".*"]\n'}, "app.env"),
    "allowlist-value": ({".keyscan.toml": f'[allowlist]\nvalues = ["{KEY}"]\n'}, "app.env"),
    "disable-rules": ({".keyscan.toml": f'disable-rules = ["{RULE}"]\n'}, "app.env"),
    "min-severity": ({".keyscan.toml": 'min-severity = "critical"\n'}, "app.env"),
    "max-file-size": ({".keyscan.toml": 'max-file-size = "1"\n'}, "app.env"),
    "baseline": ({".keyscan.toml": 'baseline = "accepted.json"\n', "accepted.json": _baseline_text()},
                 "app.env"),
    "shadow-rule": ({".keyscan.toml": 'rules = ["ci-rules"]\n', "ci-rules/shadow.yml": SHADOW_RULE}, "app.env"),
    "pyproject": ({"pyproject.toml": f'[project]\nname = "x"\n\n[tool.keyscan]\ndisable-rules = ["{RULE}"]\n'},
                  "app.env"),
    "keyscanignore": ({".keyscanignore": "app.env\n"}, "app.env"),
    "nested-keyscanignore": ({"deploy/.keyscanignore": "*.env\n"}, "deploy/app.env"),
}


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.org",
               GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.org")
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def write(repo, files):
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    write(r, {"README.md": "# demo\n", "deploy/README.md": "deploy notes\n"})
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "init")
    git(r, "checkout", "-q", "-b", "pr")
    monkeypatch.chdir(r)
    return r


def keyscan(*args):
    return CliRunner().invoke(build_cli(), ["scan", *args], catch_exceptions=False)


def reported(out: str) -> list[str]:
    """(rule, line) of the ``::error``/``::warning``/``::notice`` annotations of --format github."""
    return [ln for ln in out.splitlines() if ln.startswith("::") and RULE in ln]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_pull_request_cannot_switch_its_own_gate_off(repo, attack):
    files, key_file = ATTACKS[attack]
    write(repo, {key_file: f"GITHUB_USER_TOKEN={KEY}\n", **files})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "innocent change")

    # The change works on a plain scan of the work tree: that is the attack
    # (except the shadow rule, which a custom rule can no longer do anywhere:
    # test_a_repository_rule_cannot_lower_a_builtin_rules_severity).
    plain = keyscan(".", "--format", "github", "--fail-on", "high")
    if attack != "shadow-rule":
        assert plain.exit_code == 0, plain.output
        assert reported(plain.stdout) == []

    res = keyscan(".", "--diff", "main", "--format", "github", "--fail-on", "high")
    assert res.exit_code == 1, res.output
    lines = reported(res.stdout)  # (the allowlist-value attack holds the key itself: found there too)
    assert [ln for ln in lines if f"file={key_file},line=1," in ln and ln.startswith("::error ")]
    changed = sorted(p for p in files if p != "accepted.json" or attack == "baseline")
    notices = [ln for ln in res.stderr.splitlines() if "configuration changed by the reviewed change" in ln]
    assert [n.split(": ", 2)[2].split(" (")[0] for n in notices] == changed
    assert all("configuration read from merge base" in n and "failing the scan" in n for n in notices)

    # The same in every report: JSON summary.config_changes, SARIF notifications.
    js = json.loads(keyscan(".", "--diff", "main", "-f", "json", "-q").stdout)
    assert {f["rule_id"] for f in js["findings"]} == {RULE} and key_file in {f["path"] for f in js["findings"]}
    assert js["summary"]["config_changes"] == changed
    sarif = json.loads(keyscan(".", "--diff", "main", "-f", "sarif", "-q").stdout)
    (run,) = sarif["runs"]
    assert {r["ruleId"] for r in run["results"]} == {RULE}
    notes = run["invocations"][0]["toolConfigurationNotifications"]
    assert [n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notes] == changed
    assert {n["level"] for n in notes} == {"error"}


def test_uncommitted_and_staged_changes_are_untrusted_too(repo):
    write(repo, {"app.env": f"GITHUB_USER_TOKEN={KEY}\n", ".keyscan.toml": f'disable-rules = ["{RULE}"]\n'})
    git(repo, "add", "-N", ".")  # --diff sees tracked work-tree changes
    res = keyscan(".", "--diff", "main", "-f", "json")
    assert res.exit_code == 1
    js = json.loads(res.stdout)
    assert [f["rule_id"] for f in js["findings"]] == [RULE]
    assert js["summary"]["config_changes"] == [".keyscan.toml"]
    git(repo, "add", "-A")
    res = keyscan(".", "--staged", "-f", "json", "--quiet")
    assert res.exit_code == 1
    js = json.loads(res.stdout)
    assert [f["rule_id"] for f in js["findings"]] == [RULE]
    assert js["summary"]["config_changes"] == [".keyscan.toml"]
    assert "keyscan: configuration changed by the reviewed change: .keyscan.toml (not applied; configuration " \
           "read from HEAD " in res.stderr


def test_the_trusted_sides_configuration_applies_and_is_named(repo):
    """What main has is configuration (committed by maintainers): applied, and said."""
    write(repo, {".keyscan.toml": f'[allowlist]\nvalues = ["{KEY}"]\n', ".keyscanignore": "fixtures/\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "config on main")
    git(repo, "branch", "-f", "main", "HEAD")
    base = git(repo, "rev-parse", "HEAD")[:8]
    write(repo, {"app.env": f"GITHUB_USER_TOKEN={KEY}\n",
                 "fixtures/other.env": "GITHUB_TOKEN=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\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pr")
    res = keyscan(".", "--diff", "main", "--quiet", "-f", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["findings"] == []
    assert res.stderr.splitlines() == [f"keyscan: config .keyscan.toml (from merge base {base})",
                                       f"keyscan: ignore file .keyscanignore (from merge base {base})",
                                       "keyscan: 1 suppressed (1 allowlist)"]


def test_the_trusted_side_removing_a_file_is_no_configuration(repo):
    """The work tree has a config the trusted side does not: defaults apply."""
    write(repo, {"app.env": f"GITHUB_USER_TOKEN={KEY}\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pr")
    res = keyscan(".", "--diff", "main", "-f", "json", "-q")
    assert res.exit_code == 1 and res.stderr == ""
    assert json.loads(res.stdout)["summary"].get("config_changes", []) == []


def test_every_run_names_its_configuration(repo):
    write(repo, {".keyscan.toml": 'min-severity = "low"\n', ".keyscanignore": "build/\n"})
    res = keyscan(".", "--quiet")
    assert res.exit_code == 0
    assert res.stderr.splitlines() == ["keyscan: config ./.keyscan.toml", "keyscan: ignore file ./.keyscanignore"]
    res = keyscan(".", "--quiet", "--no-config")
    assert res.stderr == ""


def test_no_config_ignores_the_trees_configuration_but_not_the_command_lines(repo, tmp_path):
    write(repo, {"app.env": f"GITHUB_USER_TOKEN={KEY}\n", ".keyscan.toml": f'disable-rules = ["{RULE}"]\n',
                 ".keyscanignore": "app.env\n"})
    assert keyscan(".", "-q").exit_code == 0
    res = keyscan(".", "-q", "--no-config", "-f", "json")
    assert res.exit_code == 1
    assert [f["rule_id"] for f in json.loads(res.stdout)["findings"]] == [RULE]
    trusted = tmp_path / "ci.toml"
    trusted.write_text(f'[allowlist]\nvalues = ["{KEY}"]\n')
    res = keyscan(".", "-q", "--no-config", "--config", str(trusted))
    assert res.exit_code == 0
    assert res.stderr == f"keyscan: config {trusted} (--config)\nkeyscan: 1 suppressed (1 allowlist)\n"


@pytest.mark.parametrize("value", ["../outside", "/etc", "sub/../../outside", "link"])
@pytest.mark.parametrize("key", ["rules", "baseline"])
def test_configuration_paths_cannot_leave_the_tree(repo, tmp_path, key, value):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, repo / "link")
    text = f'rules = ["{value}"]\n' if key == "rules" else f'baseline = "{value}"\n'
    write(repo, {".keyscan.toml": text})
    res = keyscan(".", "-q")
    assert res.exit_code == 2
    (line,) = res.stderr.splitlines()
    assert line.startswith(f"keyscan: error: ./.keyscan.toml: '{key}' path '{value}' leaves the scanned tree")


def test_an_explicit_config_may_name_paths_anywhere(repo, tmp_path):
    rules = tmp_path / "ci-rules"
    rules.mkdir()
    cfg = tmp_path / "ci" / "keyscan.toml"
    cfg.parent.mkdir()
    cfg.write_text('rules = ["../ci-rules"]\n')
    res = keyscan(".", "-q", "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert res.stderr.splitlines() == [f"keyscan: config {cfg} (--config)", f"keyscan: rules {rules}"]


def test_a_symbolic_link_on_the_trusted_side_is_refused(repo, tmp_path):
    os.symlink("/etc/passwd", repo / ".keyscan.toml")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "link")
    git(repo, "branch", "-f", "main", "HEAD")
    res = keyscan(".", "--diff", "main", "-q")
    assert res.exit_code == 2
    assert "a symbolic link in merge base" in res.stderr


def test_a_repository_rule_cannot_lower_a_builtin_rules_severity(repo):
    """Even where the tree's configuration applies (a plain scan), a custom
    rule matching the same text as a built-in one does not hide it."""
    write(repo, {"app.env": f"GITHUB_USER_TOKEN={KEY}\n", ".keyscan.toml": 'rules = ["ci-rules"]\n',
                 "ci-rules/shadow.yml": SHADOW_RULE})
    res = keyscan(".", "-q", "-f", "json", "--fail-on", "high")
    assert res.exit_code == 1
    found = sorted((f["rule_id"], f["severity"], f["path"], f["start_line"]) for f in json.loads(res.stdout)["findings"]
                   if f["path"] == "app.env")
    assert found == [(RULE, "high", "app.env", 1), ("repo-shadow", "info", "app.env", 1)]


# Four GitHub token kinds (the rules' own examples), one per suppression mechanism.
CLASSIC = "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"  # critical: in the baseline
REFRESH = "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"  # high: allowlisted value
INSTALL = "ghs_r7JRlm3OjfVxeMpDIhugLZYqLJSNnK2YpThQ"  # medium: below min-severity high


def _suppressing_tree(repo):
    b = bl.new()
    write(repo, {
        "app.env": f"GITHUB_USER_TOKEN={KEY}  # keyscan:allow\nGITHUB_TOKEN={CLASSIC}\n"
                   f"GITHUB_REFRESH_TOKEN={REFRESH}\nAUTH=Bearer {INSTALL}\n",
        "accepted.json": bl.render(bl.Baseline({b.key("github-pat-classic", CLASSIC): {
            "rule_id": "github-pat-classic", "path": "app.env"}}, bl.VERSION, b.salt)),
        ".keyscan.toml": 'min-severity = "high"\nbaseline = "accepted.json"\n[allowlist]\nregexes = ["^ghr_tWgK"]\n',
    })


def test_suppressed_findings_are_counted_by_mechanism(repo):
    _suppressing_tree(repo)
    res = keyscan(".", "-f", "json")
    assert res.exit_code == 0, res.output
    js = json.loads(res.stdout)
    assert js["findings"] == []
    assert js["summary"]["suppressed"] == {"allowlist": 1, "baseline": 1, "inline-allow": 1, "min-severity": 1}
    assert res.stderr.splitlines()[-1].startswith(
        "0 findings, 5 files scanned (0.0 MB), 4 suppressed (1 allowlist, 1 baseline, 1 inline allow comment, "
        "1 below --min-severity), ")
    quiet = keyscan(".", "-q")
    assert quiet.stderr.splitlines() == [
        "keyscan: config ./.keyscan.toml", "keyscan: baseline accepted.json",
        "keyscan: 4 suppressed (1 allowlist, 1 baseline, 1 inline allow comment, 1 below --min-severity)"]


def test_suppressed_findings_stay_in_sarif_as_suppressed_results(repo, tmp_path):
    _suppressing_tree(repo)
    res = keyscan(".", "-f", "sarif", "-o", str(tmp_path / "out.sarif"))
    assert res.exit_code == 0
    text = (tmp_path / "out.sarif").read_text()
    for secret in (KEY, CLASSIC, REFRESH, INSTALL):
        assert secret not in text and secret[4:20] not in text
    (run,) = json.loads(text)["runs"]
    got = sorted((r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"],
                  [(s["kind"], s["justification"]) for s in r["suppressions"]]) for r in run["results"])
    assert got == [
        ("github-app-user-token", 1, [("inSource", "a keyscan:allow (or gitleaks:allow, pragma: allowlist secret) "
                                                  "comment on the line")]),
        ("github-pat-classic", 2, [("external", "accepted in the baseline")]),
        ("github-refresh-token", 3, [("external", "a value or regex of the configuration's allowlist")]),
    ]  # the medium token is below --min-severity: not a result at all
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [g[0] for g in got]
    from test_reports import VALIDATOR

    if not VALIDATOR.exists():
        pytest.skip("validate-sarif not available")
    proc = subprocess.run([str(VALIDATOR), "--strict", str(tmp_path / "out.sarif")], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0 and "schema errors 0, multitool errors 0, multitool warnings 0" in proc.stdout, \
        proc.stdout + proc.stderr


def test_a_command_line_file_inside_the_reviewed_tree_is_read_but_its_change_reported(repo):
    """--baseline FILE is trusted as a path (the CI author wrote it) and read
    as given; when it lies in the checkout, a pull request editing it is said
    and fails the gate."""
    write(repo, {"app.env": f"GITHUB_USER_TOKEN={KEY}\n", "accepted.json": _baseline_text()})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pr")
    res = keyscan(".", "--diff", "main", "--baseline", "accepted.json", "-q", "-f", "json")
    assert res.exit_code == 1
    js = json.loads(res.stdout)
    assert js["findings"] == [] and js["summary"]["suppressed"] == {"baseline": 1}
    assert js["summary"]["config_changes"] == ["accepted.json"]
    assert res.stderr.splitlines()[0] == "keyscan: baseline accepted.json (--baseline)"


def test_markdown_says_what_was_suppressed_and_which_configuration_changed(repo):
    _suppressing_tree(repo)
    text = keyscan(".", "-q", "-f", "markdown").stdout
    assert "4 suppressed (1 allowlist, 1 baseline, 1 inline allow comment, 1 below --min-severity): not listed " \
           "above." in text
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pr")
    text = keyscan(".", "--diff", "main", "-q", "-f", "markdown").stdout
    assert "Configuration changed by the reviewed change (not applied; the scan fails for it): `.keyscan.toml`, " \
           "`accepted.json`." in text
