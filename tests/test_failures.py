"""Failures are loud (issue 19): what a source could not read is reported."""

import os
import subprocess

import pytest

from keyscan import ScanOptions, scan

from conftest import default_sigint, run_keyscan
from test_git import TOKEN, TOKEN2, commit, git


@pytest.fixture()
def repo(tmp_path):
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    return r


def _history_repo(repo):
    """Six commits: TOKEN added in the 2nd, TOKEN2 in the 5th, both deleted at the end;
    the 3rd commit's blob is then deleted from the object store."""
    (repo / "README.md").write_text("# demo\n")
    commit(repo, "init", "2024-01-01T10:00:00+00:00")
    (repo / "a.env").write_text("GITHUB_TOKEN=" + TOKEN + "\n")
    commit(repo, "a", "2024-01-02T10:00:00+00:00")
    (repo / "lost.txt").write_text("this blob goes missing\n")
    lost = commit(repo, "lost", "2024-01-03T10:00:00+00:00")
    (repo / "other.txt").write_text("x\n")
    commit(repo, "other", "2024-01-04T10:00:00+00:00")
    (repo / "b.env").write_text("GITHUB_TOKEN=" + TOKEN2 + "\n")
    commit(repo, "b", "2024-01-05T10:00:00+00:00")
    (repo / "a.env").unlink()
    (repo / "b.env").unlink()
    commit(repo, "clean", "2024-01-06T10:00:00+00:00")
    return lost


def _delete_blob(repo, rev_path):
    blob = git(repo, "rev-parse", rev_path)
    os.remove(repo / ".git" / "objects" / blob[:2] / blob[2:])
    return blob


def test_history_with_a_missing_object_scans_the_rest_and_names_the_commit(repo):
    lost = _history_repo(repo)
    intact = scan(ScanOptions(paths=(str(repo),), history=True, jobs=1))
    assert len(intact.findings) == 2 and intact.errors == () and intact.commits_scanned == 6
    _delete_blob(repo, f"{lost}:lost.txt")
    result = scan(ScanOptions(paths=(str(repo),), history=True, jobs=1))
    assert sorted(f.prop("commitPath") for f in result.findings) == ["a.env", "b.env"]
    (err,) = result.errors
    assert err.startswith(f"commit {lost[:12]}: git could not read it (fatal: unable to read ")
    assert result.commits_scanned == 5
    assert result.exit_code == 3


def test_history_cli_exits_3_and_says_what_was_not_scanned(repo):
    lost = _history_repo(repo)
    _delete_blob(repo, f"{lost}:lost.txt")
    proc = run_keyscan(str(repo), "--history", "--format", "json", "--no-progress")
    assert proc.returncode == 3, proc.stderr
    assert f"commit {lost[:12]}: git could not read it" in proc.stderr
    import json

    doc = json.loads(proc.stdout)
    assert doc["summary"]["findings"] == 2
    assert doc["summary"]["commits_scanned"] == 5
    assert len(doc["summary"]["errors"]) == 1


def _diff_attr_repo(repo):
    (repo / "README.md").write_text("# demo\n")
    commit(repo, "init", "2024-01-01T10:00:00+00:00")
    (repo / ".gitattributes").write_text("*.env -diff\n")
    (repo / "app.env").write_text("A=1\nGITHUB_TOKEN=" + TOKEN + "\n")


@pytest.mark.parametrize("mode", ["staged", "diff", "history"])
def test_diff_attribute_does_not_hide_added_lines(repo, mode):
    _diff_attr_repo(repo)
    git(repo, "add", "-A")
    if mode != "staged":
        commit(repo, "add env", "2024-01-02T10:00:00+00:00")
    opts = {"staged": dict(staged=True), "diff": dict(diff_ref="HEAD~1"), "history": dict(history=True)}[mode]
    (repo / "app.env").unlink() if mode == "history" else None
    result = scan(ScanOptions(paths=(str(repo),), jobs=1, **opts))
    assert [(f.rule_id, os.path.basename(f.path), f.start_line) for f in result.findings] == [
        ("github-pat-classic", "app.env", 2)]


@pytest.mark.parametrize("mode", ["staged", "diff", "history"])
def test_nul_byte_in_patch_modes_lists_the_file_as_skipped(repo, mode):
    (repo / "README.md").write_text("# demo\n")
    commit(repo, "init", "2024-01-01T10:00:00+00:00")
    (repo / "app.env").write_bytes(b"A=1\x00\nGITHUB_TOKEN=" + TOKEN.encode() + b"\n")
    git(repo, "add", "-A")
    if mode != "staged":
        commit(repo, "add env", "2024-01-02T10:00:00+00:00")
    opts = {"staged": dict(staged=True), "diff": dict(diff_ref="HEAD~1"), "history": dict(history=True)}[mode]
    result = scan(ScanOptions(paths=(str(repo),), jobs=1, **opts))
    # as in a directory scan: a NUL byte makes the file binary, listed, never silently dropped
    assert [(os.path.basename(s.path), s.reason) for s in result.skipped] == [("app.env", "binary")]
    assert result.findings == ()


@pytest.mark.parametrize("mode", ["staged", "diff", "history"])
def test_added_lines_over_the_size_limit_are_listed_as_skipped(repo, mode):
    (repo / "README.md").write_text("# demo\n")
    commit(repo, "init", "2024-01-01T10:00:00+00:00")
    (repo / "big.env").write_text("GITHUB_TOKEN=" + TOKEN + "\n" + "x = 1\n" * 400)
    git(repo, "add", "-A")
    if mode != "staged":
        commit(repo, "add env", "2024-01-02T10:00:00+00:00")
    (repo / "big.env").unlink() if mode == "history" else None
    opts = {"staged": dict(staged=True), "diff": dict(diff_ref="HEAD~1"), "history": dict(history=True)}[mode]
    result = scan(ScanOptions(paths=(str(repo),), jobs=1, max_file_size=1000, **opts))
    assert result.findings == ()
    (s,) = result.skipped
    assert os.path.basename(s.path) == "big.env"
    assert s.reason == "added lines larger than --max-file-size (2453 > 1000 bytes)"


def test_a_symlinked_directory_given_as_root_is_scanned(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "app.env").write_text("GITHUB_TOKEN=" + TOKEN + "\n")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    result = scan(ScanOptions(paths=(str(link),), jobs=1))
    assert [(f.path, f.start_line) for f in result.findings] == [(f"{link}/app.env", 1)]


def test_an_unreadable_target_is_an_error(tmp_path, monkeypatch):
    from keyscan.errors import UsageError

    target = tmp_path / "app.env"
    target.write_text("GITHUB_TOKEN=" + TOKEN + "\n")
    real_open = open

    def deny(path, *args, **kwargs):
        if str(path) == str(target):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(UsageError, match=f"^cannot read {target}: Permission denied$"):
        scan(ScanOptions(paths=(str(target),), jobs=1))


def test_an_unreadable_directory_target_is_an_error(tmp_path, monkeypatch):
    from keyscan.errors import UsageError

    real_scandir = os.scandir

    def deny(path="."):
        if str(path) == str(tmp_path):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", deny)
    with pytest.raises(UsageError, match=f"^cannot read {tmp_path}: Permission denied$"):
        scan(ScanOptions(paths=(str(tmp_path),), jobs=1))


def test_a_fifo_target_is_an_error_that_says_what_to_do(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    proc = run_keyscan(str(fifo), "--no-progress")
    assert proc.returncode == 2
    assert proc.stderr == (f"keyscan: error: cannot scan {fifo}: not a regular file (name a file or "
                           "directory, or - for standard input)\n")


# -- nothing hangs -----------------------------------------------------------


def _many_files(root, n=80):
    for i in range(n):
        (root / f"f{i}.txt").write_text("x = 1\n" * 200)
    (root / "app.env").write_text("GITHUB_TOKEN=" + TOKEN + "\n")


def test_a_killed_worker_fails_the_scan_with_exit_3(tmp_path):
    _many_files(tmp_path)
    proc = run_keyscan(str(tmp_path), "-j", "2", "--no-progress", env={"KEYSCAN_TEST_WORKER": "kill"})
    assert proc.returncode == 3
    assert proc.stderr == ("keyscan: error: a worker process was killed by SIGKILL (the out-of-memory killer "
                           "does this); the scan is incomplete. Run it again, with fewer workers (-j 1) or a "
                           "lower --max-file-size if memory is short\n")


def test_a_killed_history_worker_fails_the_scan(repo, monkeypatch):
    from keyscan.pipeline import runner
    from keyscan.errors import ScanError

    for i in range(4):
        (repo / f"f{i}.env").write_text(f"N={i}\n")
        commit(repo, f"c{i}", f"2024-01-0{i + 1}T10:00:00+00:00")
    monkeypatch.setattr(runner, "HISTORY_PARALLEL_MIN_COMMITS", 2)
    monkeypatch.setenv("KEYSCAN_TEST_WORKER", "kill")
    with pytest.raises(ScanError, match="^a worker process was killed by SIGKILL"):
        scan(ScanOptions(paths=(str(repo),), history=True, jobs=2))


def test_the_exclude_list_is_refused_above_its_limit(tmp_path):
    from keyscan.errors import UsageError
    from keyscan.sources.pathfilter import MAX_EXCLUDE_PATTERNS

    many = tuple(f"dir{i}/**/*.log" for i in range(MAX_EXCLUDE_PATTERNS + 1))
    with pytest.raises(UsageError, match="^exclude has 1001 patterns, more than the 1000 keyscan accepts"):
        scan(ScanOptions(paths=(str(tmp_path),), exclude=many))
    (tmp_path / "a.env").write_text("GITHUB_TOKEN=" + TOKEN + "\n")
    (tmp_path / "dir7").mkdir()
    (tmp_path / "dir7" / "x.log").write_text("GITHUB_TOKEN=" + TOKEN2 + "\n")
    result = scan(ScanOptions(paths=(str(tmp_path),), exclude=many[:-1]))
    assert [os.path.basename(f.path) for f in result.findings] == ["a.env"]


def _children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc")
@pytest.mark.parametrize("sig,code,message", [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")])
def test_signals_stop_the_scan_and_reap_the_workers(tmp_path, sig, code, message):
    import signal
    import sys
    import time

    _many_files(tmp_path)
    env = dict(os.environ, KEYSCAN_TEST_WORKER="hang")
    proc = subprocess.Popen([sys.executable, "-m", "keyscan", str(tmp_path), "-j", "2", "--no-progress"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    try:
        for _ in range(600):  # the two workers are up (and hang on their first task)
            kids = _children(proc.pid)
            if len(kids) == 2:
                break
            time.sleep(0.1)
        assert len(kids) == 2
        time.sleep(0.5)
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code
    assert err == f"keyscan: {message}\n"
    assert [k for k in kids if os.path.exists(f"/proc/{k}")] == []


def test_sigterm_while_reading_stdin_exits_143():
    import signal
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "keyscan", "-", "--no-progress"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    try:
        proc.stdin.write("GITHUB_TOKEN=")
        proc.stdin.flush()
        time.sleep(1.5)  # start-up; SIGTERM before the handler is installed would kill it (-15)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, err) == (143, "keyscan: terminated\n")


# -- bounded cost: YAML aliases, deep TOML -------------------------------------

_LAUGHS = "".join(f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10) if i else ', '.join(['lol'] * 10)}]\n"
                  for i in range(9))


def test_yaml_alias_bomb_in_a_rule_file_fails_fast_with_exit_2(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bomb.yml").write_text(_LAUGHS + "rules: []\n")
    proc = run_keyscan(str(tmp_path), "--rules", str(rules), "--no-progress")
    assert proc.returncode == 2
    # the one error line is the last (a scan names its configuration first)
    assert proc.stderr.splitlines()[-1] == (
        f"keyscan: error: {rules}/bomb.yml: cannot read rule file: its aliases expand to "
        "more than 1,000,000 nodes (a YAML 'billion laughs' document); write the values out instead")


def test_yaml_aliases_within_the_limit_and_recursive_ones():
    from keyscan import safeyaml

    assert safeyaml.load("a: &x [1, 2]\nb: *x\nc: [*x, *x]\n") == {"a": [1, 2], "b": [1, 2], "c": [[1, 2], [1, 2]]}
    assert safeyaml.expanded_size(safeyaml.load("a: &x [1, 2]\nb: *x\n")) == 9
    with pytest.raises(safeyaml.YamlBombError, match="recursive"):
        safeyaml.load("a: &x [1, *x]\n")
    with pytest.raises(safeyaml.YamlBombError, match="billion laughs"):
        safeyaml.load(_LAUGHS)


def test_yaml_alias_bomb_in_an_mcp_config_is_a_parse_error_of_that_file(tmp_path):
    from keyscan.mcp.clients import CLIENTS
    from keyscan.mcp.inventory import load_config

    goose = next(c for c in CLIENTS if c.format == "yaml")
    from keyscan.safeyaml import YamlBombError

    with pytest.raises(YamlBombError):
        load_config(_LAUGHS + "extensions: {}\n", goose)


def test_deeply_nested_toml_config_is_a_config_error(tmp_path):
    (tmp_path / ".keyscan.toml").write_text("exclude = " + "[" * 100000 + "]" * 100000 + "\n")
    proc = run_keyscan(str(tmp_path), "--no-progress")
    assert proc.returncode == 2
    assert proc.stderr == f"keyscan: error: {tmp_path}/.keyscan.toml: invalid TOML: nested too deeply\n"


# -- a report people read ------------------------------------------------------


def test_table_at_80_columns_keeps_rule_ids_whole_and_each_finding_on_two_lines():
    import io
    from dataclasses import replace

    from rich.console import Console

    from keyscan.report import ReportContext
    from keyscan.report.table import build_table

    from conftest import FIXTURES

    result = scan(ScanOptions(paths=(str(FIXTURES / "mcp"),), jobs=1))
    from keyscan.models import Provenance

    deep = replace(result.findings[0], path="very/long/directory/names/that/go/on/and/on/" + "x" * 50 + ".json",
                   provenance=Provenance(commit="0123456789abcdef0123456789abcdef01234567", history_only=True))
    result = replace(result, findings=result.findings + (deep,))
    assert len(result.findings) > 20
    buf = io.StringIO()
    Console(file=buf, width=80, no_color=True, highlight=False).print(build_table(result, ReportContext()))
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2 * len(result.findings)
    assert max(len(ln) for ln in lines) <= 80
    for f, first, second in zip(result.findings, lines[::2], lines[1::2]):
        assert first.split()[:2] == [f.severity.value.upper(), f.rule_id]  # never cut
        assert first.endswith(f":{f.start_line}:{f.start_column}")
        assert second.startswith(" " * 10 + f.redacted)
    shown = lines[-2].split()[2]  # the path shortened from the left, the file name's end kept
    assert shown.startswith("…x") and shown.endswith(f"xxx.json:{deep.start_line}:{deep.start_column}")
    assert "commit 01234567 (history only)" in lines[-1]


def test_rules_list_never_cuts_ids_and_explain_suggests_the_closest():
    proc = run_keyscan("rules", "list", env={"COLUMNS": "80"})
    assert proc.returncode == 0
    import re

    assert "openai-project-key" in proc.stdout and "…" not in "".join(
        ln.split("│")[1] for ln in proc.stdout.splitlines() if ln.count("│") > 2)
    proc = run_keyscan("explain", "openai-projec…")
    assert proc.returncode == 2
    assert proc.stderr == ("keyscan: error: unknown rule id 'openai-projec…' (did you mean 'openai-project-key'? "
                           "see 'keyscan rules list')\n")
    assert re.search(r"\d+ rules", proc.stdout) is None


def test_report_advice_is_worded_by_confidence():
    from dataclasses import replace

    from keyscan.models import Confidence
    from keyscan.report.markdown import _advice

    from conftest import FIXTURES

    fs = list(scan(ScanOptions(paths=(str(FIXTURES / "mcp"),), jobs=1)).findings[:3])
    sure = [replace(f, confidence=Confidence.HIGH) for f in fs]
    low = [replace(f, confidence=Confidence.LOW) for f in fs]
    assert _advice(sure).startswith("Every finding is a credential that must be **revoked or rotated first**")
    assert _advice(low).startswith("Every finding is **low confidence**")
    assert "must be" not in _advice(low)
    assert _advice(sure[:1] + low[1:]).startswith("1 finding is high or medium confidence: **revoke or rotate "
                                                  "those first**")


# -- exit codes: one test per row of the README's table (0 and 1: test_cli) ----


@pytest.mark.parametrize("command", [["scan", "-f", "json"], ["report"], ["mcp", "--no-home", "-f", "json"]])
def test_an_unwritable_output_is_a_runtime_error_exit_3(tmp_path, command):
    (tmp_path / "ok.txt").write_text("nothing here\n")
    out = tmp_path / "no-such-dir" / "report.out"
    proc = run_keyscan(*command, str(tmp_path), "-o", str(out))
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith(f"keyscan: error: cannot write {out}: No such file or directory (")
    assert proc.stderr.count("\n") == 1


def test_a_usage_error_is_exit_2_on_one_line(tmp_path):
    proc = run_keyscan(str(tmp_path / "missing"))
    assert (proc.returncode, proc.stderr.count("\n")) == (2, 1)
    assert proc.stderr.startswith("keyscan: error: ")


def test_a_named_file_partly_decoded_is_reported_not_an_error(tmp_path):
    """A JSON file escaped past the decoder's depth limit, named on the command
    line: the key is still found (exit 1), and the file is listed once as
    partially scanned and counted in the summary (not a 'cannot scan' error)."""
    import json

    from keyscan.decoders.json_decoder import MAX_DEPTH

    s = json.dumps({"env": {"GITHUB_TOKEN": TOKEN}})
    for _ in range(MAX_DEPTH + 6):
        s = json.dumps({"arguments": s})
    path = tmp_path / "trace.jsonl"
    path.write_text(s + "\n" + s.replace(TOKEN, "x" * len(TOKEN)) + "\n")
    proc = run_keyscan(str(path), "-f", "json", "--no-progress")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert [f["rule_id"] for f in doc["findings"]] == ["github-pat-classic"]
    assert doc["skipped"] == [{"path": str(path), "reason": f"JSON escaped more than {MAX_DEPTH} levels deep: "
                               "partially scanned (deeper strings were scanned as raw text only, not decoded)"}]
    assert doc["summary"]["files_skipped"] == 1
