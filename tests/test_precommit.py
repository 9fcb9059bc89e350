"""The pre-commit hook, through the real `pre-commit` tool (try-repo against this repository)."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

TOKEN = "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"
PRE_COMMIT = shutil.which("pre-commit") or os.path.join(os.path.dirname(sys.executable), "pre-commit")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not os.path.exists(PRE_COMMIT), reason="pre-commit is not installed")]


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
                            GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org"))


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory):
    return str(tmp_path_factory.mktemp("pre-commit-home"))


def _try_repo(repo, home, *extra):
    env = dict(os.environ, PRE_COMMIT_HOME=home, PRE_COMMIT_COLOR="never", NO_COLOR="1")
    return subprocess.run([PRE_COMMIT, "try-repo", str(ROOT), "keyscan", *extra], cwd=repo,
                          capture_output=True, text=True, env=env, timeout=900)


def test_hook_blocks_a_planted_key_and_passes_a_clean_commit(tmp_path, pre_commit_home):
    repo = tmp_path / "proj"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text("print('hello')\n")
    _git(repo, "add", "app.py")
    clean = _try_repo(repo, pre_commit_home)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout

    (repo / "settings.env").write_text(f"DEBUG=1\nGITHUB_TOKEN={TOKEN}\n")
    _git(repo, "add", "settings.env")
    dirty = _try_repo(repo, pre_commit_home)
    assert dirty.returncode == 1
    out = dirty.stdout
    assert "Failed" in out and "settings.env:2:14" in out and "github-pat-classic" in out
    assert TOKEN not in out + dirty.stderr


def test_hook_reports_under_all_files(tmp_path, pre_commit_home):
    repo = tmp_path / "proj"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "old.env").write_text(f"T={TOKEN}\n")
    _git(repo, "add", "old.env")
    _git(repo, "commit", "-q", "-m", "old")
    proc = _try_repo(repo, pre_commit_home, "--all-files")
    assert proc.returncode == 1
    assert "old.env:1:3" in proc.stdout
