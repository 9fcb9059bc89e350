"""Scope rules for git-ignored files (issue 15 part 1): carriers scanned and
marked not committed, dependency/build trees left out, tracked files always scanned."""

import os
import subprocess

import pytest

from keyscan import ScanOptions, scan
from keyscan.report import ReportContext, render
from keyscan.report.table import summary_line
from keyscan.sources.carriers import carrier_kind, is_dependency_dir

TOKEN = "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"
LINE = f"token={TOKEN}\n"


def _write(path, text=LINE):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _scan(root, **kw):
    kw.setdefault("jobs", 1)
    return scan(ScanOptions(paths=(str(root),), **kw))


def _rel(result, root, only_ignored=None):
    return sorted(os.path.relpath(f.path, root) for f in result.findings
                  if only_ignored is None or f.not_committed == only_ignored)


IGNORED_CARRIERS = [".env", ".env.local", "certs/server.key", ".npmrc", ".docker/config.json",
                    "infra/prod.tfvars", ".claude/settings.local.json", ".aider.chat.history.md",
                    "logs/session.jsonl", "notebooks/scratch.ipynb", ".cursor/mcp.json", "debug.log"]
IGNORED_OTHER = ["node_modules/pkg/.env", ".venv/lib/site.env", "env2/pyvenv.cfg", "env2/lib/x.env",
                 "dist/bundle.js", "build/.env", "target/app.log", "__pycache__/m.log", "data/big.csv"]


@pytest.fixture()
def project(tmp_path):
    _write(tmp_path / "app.py")
    for rel in IGNORED_CARRIERS + IGNORED_OTHER:
        _write(tmp_path / rel, "{\"t\": \"" + TOKEN + "\"}\n" if rel.endswith(("json", "ipynb", "jsonl"))
               else LINE)
    _write(tmp_path / ".gitignore",
           ".env*\n*.key\n.npmrc\n.docker/\n*.tfvars\n.claude/\n.aider*\nlogs/\nnotebooks/\n.cursor/\n"
           "*.log\nnode_modules/\n.venv/\nenv2/\ndist/\nbuild/\ntarget/\n__pycache__/\ndata/\n")
    return tmp_path


def test_default_scans_ignored_carriers_and_marks_them(project):
    result = _scan(project)
    assert _rel(result, project, only_ignored=False) == ["app.py"]
    assert _rel(result, project, only_ignored=True) == sorted(IGNORED_CARRIERS)
    assert f"{len(IGNORED_CARRIERS)} in git-ignored files" in summary_line(result)


def test_no_ignored_and_all_files(project):
    assert _rel(_scan(project, git_ignored="none"), project) == ["app.py"]
    every = _rel(_scan(project, git_ignored="all"), project)
    assert every == sorted(["app.py"] + IGNORED_CARRIERS + IGNORED_OTHER)


def _git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e.x",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e.x"})


def test_tracked_files_are_scanned_whatever_gitignore_says(tmp_path):
    _write(tmp_path / "config" / "settings.txt")     # tracked, then ignored: still in the repository
    _write(tmp_path / "dist" / "keep.txt")           # tracked inside an ignored build tree
    _write(tmp_path / "dist" / "other.txt")          # untracked inside it: left out
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "config/settings.txt", "dist/keep.txt")
    _git(tmp_path, "commit", "-q", "-m", "x")
    _write(tmp_path / ".gitignore", "config/\ndist/\n")
    for mode in ("carriers", "none"):
        result = _scan(tmp_path, git_ignored=mode)
        assert _rel(result, tmp_path) == ["config/settings.txt", "dist/keep.txt"]
        assert not any(f.not_committed for f in result.findings)


def test_keyscanignore_and_exclude_still_win(project):
    _write(project / ".keyscanignore", ".claude/\n")
    got = _rel(_scan(project, exclude=("*.tfvars",)), project)
    assert ".claude/settings.local.json" not in got and "infra/prod.tfvars" not in got
    assert ".env" in got


def test_reports_carry_the_mark(project):
    import json

    result = _scan(project)
    ctx = ReportContext(show_secrets=False, root=str(project))
    doc = json.loads(render("json", result, ctx))
    marked = sorted(os.path.relpath(f["path"], project) for f in doc["findings"] if f["not_committed"])
    assert marked == sorted(IGNORED_CARRIERS)
    assert doc["summary"]["not_committed"] == len(IGNORED_CARRIERS)
    sarif = json.loads(render("sarif", result, ctx))
    flags = [r["properties"].get("notCommitted", False) for r in sarif["runs"][0]["results"]]
    assert flags.count(True) == len(IGNORED_CARRIERS) and flags.count(False) == 1
    assert render("table", result, ctx).count("(git-ignored, not committed)") == len(IGNORED_CARRIERS)


@pytest.mark.parametrize("rel,kind", [
    (".env", "dotenv"), ("a/.env.production", "dotenv"), ("id_ed25519", "key"), ("x/tls.pem", "key"),
    (".pypirc", "credentials"), (".git-credentials", "credentials"), (".kube/config", "credentials"),
    ("home/.aws/credentials", "credentials"), ("prod.tfstate", "terraform"), (".codex/auth.json", "agent"),
    (".gemini/settings.json", "agent"), (".continue/config.yaml", "agent"), ("a.ipynb", "notebook"),
    ("run.jsonl", "transcript"), ("logs/out.txt", "log"), ("state.vscdb", "database"),
    ("src/main.py", None), ("config.json", None), ("README.md", None)])
def test_carrier_table(rel, kind):
    assert carrier_kind(rel) == kind


def test_dependency_dirs():
    assert is_dependency_dir("node_modules") and is_dependency_dir("a/b/dist")
    assert is_dependency_dir("pkg.egg-info") and is_dependency_dir("myenv", {"pyvenv.cfg", "lib"})
    assert not is_dependency_dir("logs") and not is_dependency_dir(".claude")


def test_no_default_size_limit_and_skips_counted_by_reason(tmp_path):
    from keyscan.models import ScanOptions as SO

    assert SO().max_file_size == 0
    _write(tmp_path / "big.log", "x" * 3000 + "\n" + LINE)  # above the chunk size given below
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02")
    result = _scan(tmp_path, chunk_size=1024)
    assert _rel(result, tmp_path) == ["big.log"]
    assert result.findings[0].start_line == 2
    assert "1 skipped (1 binary)" in summary_line(result)
    limited = _scan(tmp_path, max_file_size=1000)
    assert _rel(limited, tmp_path) == []
    assert "2 skipped (1 binary, 1 larger than --max-file-size)" in summary_line(limited)


def test_cli_flags(tmp_path, capsys):
    import json

    from keyscan.cli import main as cli_main

    _write(tmp_path / "app.py")
    _write(tmp_path / ".env")
    _write(tmp_path / "node_modules" / "x.env")
    _write(tmp_path / ".gitignore", ".env\nnode_modules/\n")

    def paths(*args):
        capsys.readouterr()
        code = cli_main(["scan", str(tmp_path), "-f", "json", "--no-progress", "-j", "1", *args])
        assert code == 1
        return sorted(os.path.relpath(f["path"], tmp_path) for f in json.loads(capsys.readouterr().out)["findings"])

    assert paths() == [".env", "app.py"]
    assert paths("--no-ignored") == ["app.py"]
    assert paths("--all-files") == [".env", "app.py", "node_modules/x.env"]
    assert cli_main(["scan", str(tmp_path), "--no-ignored", "--all-files"]) == 2
    assert "cannot be combined" in capsys.readouterr().err
