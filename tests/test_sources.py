"""Directory walk: ignore files, binaries, sizes, symlinks, explicit files, stdin."""

import os

import pytest

from keyscan import ScanOptions, scan
from keyscan.errors import UsageError

TOKEN = "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"


def _scan(root, **kw):
    return scan(ScanOptions(paths=(str(root),), **kw))


def _paths(result, root):
    return sorted(os.path.relpath(f.path, root) for f in result.findings)


def _write(path, text="", mode="w"):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, mode) as fh:
        fh.write(text)


def test_gitignore_keyscanignore_nested_and_negation(tmp_path):
    line = f"t={TOKEN}\n"
    for rel in ["a.env", "build/out.env", "logs/x.log", "logs/keep.log", "sub/deep/y.txt",
                "sub/deep/z.txt", "vendor/lib.txt", ".git/config"]:
        _write(tmp_path / rel, line)
    _write(tmp_path / ".gitignore", "build/\nlogs/*.log\n!logs/keep.log\n")
    _write(tmp_path / ".keyscanignore", "# vendored code\nvendor/\n")
    _write(tmp_path / "sub" / ".gitignore", "deep/y.txt\n")
    result = _scan(tmp_path, git_ignored="none")
    assert _paths(result, tmp_path) == ["a.env", "logs/keep.log", "sub/deep/z.txt"]
    # By default the git-ignored log is a secret carrier; build/ is a build tree, sub/deep/y.txt no carrier.
    result = _scan(tmp_path)
    assert _paths(result, tmp_path) == ["a.env", "logs/keep.log", "logs/x.log", "sub/deep/z.txt"]
    assert [os.path.relpath(f.path, tmp_path) for f in result.findings if f.not_committed] == ["logs/x.log"]
    result = _scan(tmp_path, git_ignored="all")
    assert _paths(result, tmp_path) == ["a.env", "build/out.env", "logs/keep.log", "logs/x.log",
                                        "sub/deep/y.txt", "sub/deep/z.txt"]


def test_git_info_exclude_is_honoured(tmp_path):
    _write(tmp_path / "secret.txt", f"t={TOKEN}\n")
    _write(tmp_path / ".git" / "info" / "exclude", "secret.txt\n")
    assert _scan(tmp_path).findings == ()


def test_binary_files_are_skipped_and_reported(tmp_path):
    _write(tmp_path / "blob.bin", b"\x00\x01" + TOKEN.encode(), mode="wb")
    result = _scan(tmp_path)
    assert result.findings == ()
    assert [(os.path.basename(s.path), s.reason) for s in result.skipped] == [("blob.bin", "binary")]


def test_files_above_max_size_are_reported_not_silently_dropped(tmp_path):
    _write(tmp_path / "big.txt", "a" * 2000 + TOKEN)
    _write(tmp_path / "small.txt", f"t={TOKEN}\n")
    result = _scan(tmp_path, max_file_size=1000)
    assert _paths(result, tmp_path) == ["small.txt"]
    (skip,) = result.skipped
    assert skip.path.endswith("big.txt") and "max-file-size" in skip.reason


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlinks_not_followed_by_default_and_loops_are_safe(tmp_path):
    target = tmp_path / "real"
    _write(target / "k.txt", f"t={TOKEN}\n")
    scan_root = tmp_path / "root"
    scan_root.mkdir()
    os.symlink(target, scan_root / "link")
    os.symlink(scan_root, scan_root / "loop")
    result = _scan(scan_root)
    assert result.findings == ()
    assert sorted((os.path.basename(s.path), s.reason) for s in result.skipped) == [
        ("link", "symlink (not followed)"), ("loop", "symlink (not followed)")]
    followed = _scan(scan_root, follow_symlinks=True)
    assert _paths(followed, scan_root) == ["link/k.txt"]
    assert any(s.reason == "symlink loop" for s in followed.skipped)


def test_explicit_file_argument(tmp_path):
    f = tmp_path / "one.env"
    _write(f, f"\n\nt={TOKEN}\n")
    result = _scan(f)
    assert [(x.path, x.start_line, x.start_column) for x in result.findings] == [(str(f), 3, 3)]


def test_stdin(tmp_path):
    result = scan(ScanOptions(paths=("-",), stdin_data=f"x\nt={TOKEN}\n".encode()))
    assert [(f.path, f.start_line) for f in result.findings] == [("<stdin>", 2)]


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        _scan(tmp_path / "nope")


def test_relative_display_paths(tmp_path, monkeypatch):
    _write(tmp_path / "d" / "k.env", f"t={TOKEN}\n")
    monkeypatch.chdir(tmp_path)
    assert [f.path for f in scan(ScanOptions(paths=(".",))).findings] == ["d/k.env"]
    assert [f.path for f in scan(ScanOptions(paths=("d",))).findings] == ["d/k.env"]


def test_an_ignore_file_above_the_pattern_limit_is_not_applied_and_listed(tmp_path, monkeypatch):
    """.gitignore and .keyscanignore are written by the scanned repository: one
    with more patterns than MAX_IGNORE_PATTERNS is not applied (what it names is
    scanned, never less) and listed in skipped; both compile with pathspec's
    linear, interruptible 'simple' backend."""
    from keyscan.sources import pathfilter

    monkeypatch.setattr(pathfilter, "MAX_IGNORE_PATTERNS", 50)
    line = f"t={TOKEN}\n"
    _write(tmp_path / "kept.txt", line)
    _write(tmp_path / "big" / "skip.txt", line)
    _write(tmp_path / "small" / "skip.txt", line)
    _write(tmp_path / "big" / ".keyscanignore", "skip.txt\n" + "".join(f"gen/file_{i}.txt\n" for i in range(60)))
    _write(tmp_path / "small" / ".keyscanignore", "# comments do not count\n" * 100 + "skip.txt\n")
    result = _scan(tmp_path)
    assert _paths(result, tmp_path) == ["big/skip.txt", "kept.txt"]
    assert [(os.path.relpath(s.path, tmp_path), s.reason) for s in result.skipped] == [
        ("big/.keyscanignore", "ignore file with 61 patterns (more than 50): not applied, the files it names "
                               "are scanned")]
    spec = pathfilter.load_spec(str(tmp_path / "small" / ".keyscanignore"))
    assert type(spec._backend).__module__.startswith("pathspec._backends.simple")
