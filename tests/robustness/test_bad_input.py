"""Bad input never crashes a scan: each case is skipped or handled with a reason."""

import builtins
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from keyscan import ScanOptions, scan

from conftest import ROOT, default_sigint, run_keyscan

TOKEN = "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"


def _scan(path, **kw):
    return scan(ScanOptions(paths=(str(path),), **kw))


def test_invalid_utf8_is_scanned_around_the_bad_bytes(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"ok \xff\xfa garbage \xc3\x28\nT=" + TOKEN.encode() + b"\n")
    (f,) = _scan(tmp_path).findings
    assert (f.start_line, f.start_column) == (2, 3)


def test_empty_file_and_whitespace(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b"\n\n   \n")
    result = _scan(tmp_path)
    assert result.findings == () and result.files_scanned == 2 and result.skipped == ()


def test_fifo_and_device_are_skipped_with_a_reason(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "k.txt").write_text(f"T={TOKEN}\n")
    result = _scan(tmp_path)
    assert [os.path.basename(f.path) for f in result.findings] == ["k.txt"]
    assert [(os.path.basename(s.path), s.reason) for s in result.skipped] == [("pipe", "not a regular file")]
    # named on the command line, a device is an error, not a skipped entry (issue 19)
    from keyscan.errors import UsageError

    with pytest.raises(UsageError, match="^cannot scan /dev/null: not a regular file"):
        scan(ScanOptions(paths=("/dev/null",)))


def test_unreadable_file_is_skipped_and_the_scan_completes(tmp_path, monkeypatch):
    (tmp_path / "locked.txt").write_text(f"T={TOKEN}\n")
    (tmp_path / "open.txt").write_text(f"T={TOKEN}\n")
    real_open = builtins.open

    def fake_open(path, *args, **kw):
        if str(path).endswith("locked.txt"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kw)

    monkeypatch.setattr(builtins, "open", fake_open)
    result = _scan(tmp_path, jobs=1)
    assert [os.path.basename(f.path) for f in result.findings] == ["open.txt"]
    assert [(os.path.basename(s.path), s.reason) for s in result.skipped] == [
        ("locked.txt", "unreadable: Permission denied")]


def test_unreadable_directory_is_reported(tmp_path, monkeypatch):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "k.txt").write_text(f"T={TOKEN}\n")
    real_scandir = os.scandir

    def fake_scandir(path):
        if str(path).rstrip("/").endswith("sub"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", fake_scandir)
    result = _scan(tmp_path)
    assert result.findings == ()
    assert [(os.path.basename(s.path), s.reason) for s in result.skipped] == [("sub", "unreadable: Permission denied")]


def test_corrupt_repository_history_is_a_clear_error(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("garbage\n")
    (tmp_path / "a.txt").write_text("x\n")
    proc = run_keyscan(str(tmp_path), "--history")
    assert proc.returncode == 2
    assert proc.stderr.startswith("keyscan: error: ") and "Traceback" not in proc.stderr


def test_skipped_files_are_counted_in_the_summary(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"\x00" * 10)
    (tmp_path / "b.txt").write_text("x" * 100)
    proc = run_keyscan(str(tmp_path), "--max-file-size", "50", "-f", "json")
    doc = json.loads(proc.stdout)
    assert doc["summary"]["files_skipped"] == 2
    assert sorted(s["reason"].split(" (")[0] for s in doc["skipped"]) == ["binary", "larger than --max-file-size"]
    assert "2 skipped" in proc.stderr


def test_same_output_bytes_whatever_the_parallelism(tmp_path):
    for i in range(80):
        (tmp_path / f"f{i:02d}.env").write_text(("x = 1\n" * 2000) + (f"T={TOKEN}\n" if i % 9 == 0 else ""))
    outs = []
    for jobs in ("1", "2"):
        proc = run_keyscan(str(tmp_path), "-f", "json", "-j", jobs, "-q")
        outs.append(proc.stdout)
    assert outs[0] == outs[1]
    assert len(json.loads(outs[0])["findings"]) == 9


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_exits_130_promptly_without_a_report_or_workers(tmp_path):
    import base64

    data = tmp_path / "data"
    data.mkdir()
    # Base64-looking words: each is a blob the encoded decoder tries (up to
    # 2,000 per file), so the scan takes a few seconds.
    blob = base64.b64encode(os.urandom(1900 * 18)).decode()
    text = "\n".join(" ".join(blob[i:i + 240][j:j + 24] for j in range(0, 240, 24))
                     for i in range(0, len(blob), 240))
    for i in range(1200):
        (data / f"f{i}.txt").write_text(text)
    out = tmp_path / "report.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "keyscan", str(data), "-j", "2", "-f", "json", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True,
                            preexec_fn=default_sigint)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:  # wait for the workers
        group = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
        if len(group) >= 3:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    if proc.poll() is not None:
        pytest.skip("scan finished before the interrupt")
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)  # a hang guard, not a speed bound
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".keyscan-")]
    # No worker left behind in the process group.
    time.sleep(0.5)
    alive = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert alive == []


def test_an_internal_error_in_one_file_skips_that_file_only(tmp_path, monkeypatch):
    from keyscan import pipeline

    monkeypatch.delenv("KEYSCAN_STRICT")  # the default policy: the file is reported, the scan goes on
    (tmp_path / "bad.json").write_text('{"k": "' + TOKEN + '"}\n')
    (tmp_path / "good.env").write_text(f"T={TOKEN}\n")
    real = pipeline.scan_document

    def boom(doc, engine, strict=None):
        if doc.path.endswith("bad.json"):
            raise ValueError("content: " + doc.text)
        return real(doc, engine, strict)

    monkeypatch.setattr("keyscan.pipeline.document.scan_document", boom)
    result = _scan(tmp_path, jobs=1)
    assert [os.path.basename(f.path) for f in result.findings] == ["good.env"]
    assert [(os.path.basename(s.path), s.reason) for s in result.skipped] == [
        ("bad.json", "internal error (ValueError)")]
    assert TOKEN not in repr(result.skipped)
