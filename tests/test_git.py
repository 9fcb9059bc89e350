"""Git history, staged and diff modes on real temporary repositories."""

import json
import os
import subprocess

import pytest

from keyscan import ScanOptions, scan
from keyscan.errors import UsageError

from conftest import run_keyscan

TOKEN = "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"
TOKEN2 = "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"


def git(repo, *args, env=None):
    full = dict(os.environ, GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.org",
                GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.org", **(env or {}))
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env=full).stdout.strip()


def commit(repo, message, date):
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture()
def repo(tmp_path):
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    return r


def _check_token2_valid():
    from keyscan.detect.checks import github_crc32

    assert github_crc32(TOKEN2).value == "valid"


def test_history_finds_deleted_secret_with_introducing_commit(repo):
    _check_token2_valid()
    (repo / "README.md").write_text("# demo\n")
    c1 = commit(repo, "init", "2024-01-01T10:00:00+00:00")
    (repo / "config.env").write_text("A=1\nB=2\nGITHUB_TOKEN=" + TOKEN + "\n")
    c2 = commit(repo, "add config", "2024-01-02T10:00:00+00:00")
    (repo / "config.env").write_text("A=1\nB=2\nC=3\nGITHUB_TOKEN=" + TOKEN + "\n")  # line moves
    commit(repo, "more config", "2024-01-03T10:00:00+00:00")
    (repo / "config.env").write_text("A=1\n")
    commit(repo, "remove token", "2024-01-04T10:00:00+00:00")

    tree_only = scan(ScanOptions(paths=(str(repo),)))
    assert tree_only.findings == ()
    result = scan(ScanOptions(paths=(str(repo),), history=True))
    (f,) = result.findings
    assert (f.rule_id, os.path.relpath(f.path, repo), f.start_line, f.start_column) == (
        "github-pat-classic", "config.env", 3, 14)
    assert f.prop("commit") == c2 and c2 != c1
    assert f.prop("commitDate") == "2024-01-02T10:00:00+00:00"
    assert f.prop("commitPath") == "config.env"
    assert f.prop("history_only") == "true"
    assert "NHI1" in f.nhi


def test_history_working_tree_finding_gets_commit_and_uncommitted_files_count(repo):
    (repo / "a.env").write_text("T=" + TOKEN + "\n")
    c1 = commit(repo, "add", "2024-02-01T00:00:00+00:00")
    (repo / "new.env").write_text("x\nT=" + TOKEN2 + "\n")  # not committed
    result = scan(ScanOptions(paths=(str(repo),), history=True))
    got = sorted((os.path.relpath(f.path, repo), f.start_line, f.prop("commit"), f.prop("history_only"))
                 for f in result.findings)
    assert got == [("a.env", 1, c1, None), ("new.env", 2, None, None)]


def test_history_renames_binary_blobs_and_merges(repo):
    (repo / "base.txt").write_text("base\n")
    commit(repo, "base", "2024-03-01T00:00:00+00:00")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "blob.bin").write_bytes(b"\x00\x01\x02" + TOKEN2.encode() + b"\x00")
    (repo / "secret.txt").write_text("line1\nkey: " + TOKEN + "\n")
    cf = commit(repo, "feature secret", "2024-03-02T00:00:00+00:00")
    git(repo, "mv", "secret.txt", "moved.txt")
    commit(repo, "rename", "2024-03-03T00:00:00+00:00")
    git(repo, "checkout", "-q", "main")
    (repo / "other.txt").write_text("other\n")
    commit(repo, "main work", "2024-03-04T00:00:00+00:00")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature",
        env={"GIT_AUTHOR_DATE": "2024-03-05T00:00:00+00:00", "GIT_COMMITTER_DATE": "2024-03-05T00:00:00+00:00"})
    result = scan(ScanOptions(paths=(str(repo),), history=True))
    got = sorted((os.path.relpath(f.path, repo), f.start_line, f.prop("commit")) for f in result.findings)
    # The renamed blob is the same blob: scanned once; the binary blob is skipped.
    assert got == [("moved.txt", 2, cf)]


def test_history_finds_a_secret_written_by_a_merge_resolution(repo):
    """A conflict resolution (or an "evil merge") can add lines that neither
    parent has; plain `git log -p` shows no diff for merges, --cc does."""
    (repo / "f.txt").write_text("a\nb\nc\n")
    commit(repo, "base", "2024-06-01T00:00:00+00:00")
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "f.txt").write_text("a\nb side\nc\n")
    commit(repo, "side", "2024-06-02T00:00:00+00:00")
    git(repo, "checkout", "-q", "main")
    (repo / "f.txt").write_text("a\nb main\nc\n")
    commit(repo, "main", "2024-06-03T00:00:00+00:00")
    with pytest.raises(subprocess.CalledProcessError):  # conflict
        git(repo, "merge", "-q", "side")
    (repo / "f.txt").write_text("a\nb merged\nGITHUB_TOKEN=" + TOKEN + "\nc\n")
    merge = commit(repo, "merge side", "2024-06-04T00:00:00+00:00")
    (repo / "f.txt").write_text("a\nb merged\nc\n")
    commit(repo, "remove token", "2024-06-05T00:00:00+00:00")
    result = scan(ScanOptions(paths=(str(repo),), history=True))
    (f,) = result.findings
    assert (os.path.relpath(f.path, repo), f.start_line, f.start_column) == ("f.txt", 3, 14)
    assert (f.prop("commit"), f.prop("history_only")) == (merge, "true")


def test_history_branch_and_max_commits(repo):
    (repo / "a.txt").write_text("T=" + TOKEN + "\n")
    commit(repo, "one", "2024-04-01T00:00:00+00:00")
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "b.txt").write_text("T=" + TOKEN2 + "\n")
    commit(repo, "two", "2024-04-02T00:00:00+00:00")
    git(repo, "rm", "-q", "b.txt")
    commit(repo, "three", "2024-04-03T00:00:00+00:00")
    git(repo, "checkout", "-q", "main")
    all_refs = scan(ScanOptions(paths=(str(repo),), history=True))
    assert sorted(os.path.basename(f.path) for f in all_refs.findings) == ["a.txt", "b.txt"]
    main_only = scan(ScanOptions(paths=(str(repo),), history=True, branch="main"))
    assert [os.path.basename(f.path) for f in main_only.findings] == ["a.txt"]
    since = scan(ScanOptions(paths=(str(repo),), history=True, since="2024-04-02T12:00:00"))
    # b.txt was added before --since: only its deletion is in range, so only the tree finding remains.
    assert [os.path.basename(f.path) for f in since.findings] == ["a.txt"]


def test_history_parallel_equals_serial(repo, monkeypatch):
    from keyscan.pipeline import runner

    for i in range(30):
        (repo / f"f{i}.txt").write_text(f"v{i}\n" + ("T=" + TOKEN + "\n" if i % 7 == 0 else ""))
        commit(repo, f"c{i}", f"2024-05-{i % 28 + 1:02d}T00:00:00+00:00")
    serial = scan(ScanOptions(paths=(str(repo),), history=True, jobs=1))
    monkeypatch.setattr(runner, "HISTORY_PARALLEL_MIN_COMMITS", 2)
    parallel = scan(ScanOptions(paths=(str(repo),), history=True, jobs=2))
    assert serial.findings == parallel.findings
    assert len(serial.findings) == 5


def test_staged_scans_only_what_the_next_commit_adds(repo):
    (repo / "old.txt").write_text("T=" + TOKEN + "\n")
    commit(repo, "old", "2024-06-01T00:00:00+00:00")
    (repo / "new.txt").write_text("a\nb\nT=" + TOKEN2 + "\n")
    (repo / "unstaged.txt").write_text("T=" + TOKEN2 + "\n")
    git(repo, "add", "new.txt")
    result = scan(ScanOptions(paths=(str(repo),), staged=True))
    assert [(os.path.relpath(f.path, repo), f.start_line) for f in result.findings] == [("new.txt", 3)]


def test_diff_scans_only_lines_added_since_ref(repo):
    (repo / "app.txt").write_text("1\nT=" + TOKEN + "\n3\n")
    commit(repo, "base", "2024-07-01T00:00:00+00:00")
    git(repo, "branch", "base")
    (repo / "app.txt").write_text("1\nT=" + TOKEN + "\n3\n4\nU=" + TOKEN2 + "\n")
    commit(repo, "pr", "2024-07-02T00:00:00+00:00")
    proc = run_keyscan(str(repo), "--diff", "base", "-f", "json", "-q")
    assert proc.returncode == 1, proc.stderr
    got = [(f["path"], f["start_line"], f["start_column"]) for f in json.loads(proc.stdout)["findings"]]
    assert got == [(str(repo / "app.txt"), 5, 3)]


def test_git_modes_outside_a_repository_are_usage_errors(tmp_path):
    (tmp_path / "x.txt").write_text("hi\n")
    with pytest.raises(UsageError, match="not a git repository"):
        scan(ScanOptions(paths=(str(tmp_path),), history=True))
    proc = run_keyscan(str(tmp_path), "--history")
    assert proc.returncode == 2 and "not a git repository" in proc.stderr and "Traceback" not in proc.stderr


def test_modes_cannot_be_combined(repo):
    proc = run_keyscan(str(repo), "--history", "--staged")
    assert proc.returncode == 2 and "cannot be combined" in proc.stderr


def test_empty_repository_history_is_fine(repo):
    result = scan(ScanOptions(paths=(str(repo),), history=True))
    assert result.findings == ()


# -- issue 16, bug 2: one path filter for every source ---------------------


@pytest.mark.parametrize("how", ["keyscanignore", "exclude", "nested-keyscanignore", "ignored-dir"])
def test_excluded_file_is_excluded_by_diff_staged_and_history(repo, how):
    """(The ignore files are on the trusted side, committed before the change:
    --staged and --diff read them from HEAD / the merge base, see
    tests/test_trusted_config.py.)"""
    (repo / "README.md").write_text("# demo\n")
    (repo / "sub").mkdir()
    (repo / "sub" / "vendor").mkdir()
    exclude: tuple = ()
    if how == "keyscanignore":
        (repo / ".keyscanignore").write_text("sub/vendor/keys.env\n")
    elif how == "exclude":
        exclude = ("keys.env",)
    elif how == "nested-keyscanignore":
        (repo / "sub" / ".keyscanignore").write_text("vendor/*.env\n")
    else:
        (repo / ".keyscanignore").write_text("vendor/\n")
    commit(repo, "init", "2024-01-01T10:00:00+00:00")
    git(repo, "branch", "base")
    (repo / "sub" / "vendor" / "keys.env").write_text("GITHUB_TOKEN=" + TOKEN + "\n")
    (repo / "kept.env").write_text("GITHUB_TOKEN=" + TOKEN2 + "\n")
    git(repo, "add", "-A")

    def paths(**kw):
        res = scan(ScanOptions(paths=(str(repo),), exclude=exclude, **kw))
        return sorted(os.path.relpath(f.path, repo) for f in res.findings)

    assert paths() == ["kept.env"]
    assert paths(staged=True) == ["kept.env"]
    commit(repo, "add", "2024-01-02T10:00:00+00:00")
    assert paths(diff_ref="base") == ["kept.env"]
    assert paths(history=True) == ["kept.env"]
    # deleted from the tree: still excluded from history (not reported as history_only)
    (repo / "sub" / "vendor" / "keys.env").unlink()
    commit(repo, "rm", "2024-01-03T10:00:00+00:00")
    assert paths(history=True) == ["kept.env"]


def test_gitignore_does_not_hide_committed_history(repo):
    """.gitignore is about untracked files: a secret committed before its file
    was ignored is still in history and still reported."""
    (repo / ".env").write_text("GITHUB_TOKEN=" + TOKEN + "\n")
    commit(repo, "oops", "2024-01-01T10:00:00+00:00")
    git(repo, "rm", "-q", ".env")
    (repo / ".gitignore").write_text(".env\n")
    commit(repo, "ignore .env", "2024-01-02T10:00:00+00:00")
    res = scan(ScanOptions(paths=(str(repo),), history=True))
    assert [(os.path.relpath(f.path, repo), f.prop("history_only")) for f in res.findings] == [(".env", "true")]


def test_path_filter_matches_the_walk(tmp_path):
    from keyscan.sources.pathfilter import PathFilter

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".gitignore").write_text("*.log\n!keep.log\nbuild/\n")
    (tmp_path / "a" / ".keyscanignore").write_text("b/secret.txt\n")
    (tmp_path / "a" / "b" / ".gitignore").write_text("!x.log\n")
    f = PathFilter(str(tmp_path), ("*.tmp",), (".gitignore", ".keyscanignore"))
    assert [p for p in ["x.log", "keep.log", "a/x.log", "a/b/x.log", "a/b/y.log", "a/b/secret.txt",
                        "a/secret.txt", "build/z.py", "a/build/q", "n.tmp", "a/n.tmp", "ok.py"]
            if f.excludes(p)] == ["x.log", "a/x.log", "a/b/y.log", "a/b/secret.txt", "build/z.py",
                                  "a/build/q", "n.tmp", "a/n.tmp"]
