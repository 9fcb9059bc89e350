"""Large files are scanned in overlapping chunks: findings are identical to a
whole-file scan wherever the chunk boundaries fall, and memory stays bounded."""

from __future__ import annotations

import random
import zlib

import pytest

from keyscan import scan
from keyscan.documents.chunked import _next_start, overlap_for
from keyscan.pipeline import scan_chunked
from keyscan.detect.checks import base62
from keyscan.models import ScanOptions


def _ghp(seed: int) -> str:
    rnd = random.Random(seed)
    body = "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(30))
    return "ghp_" + body + base62(zlib.crc32(body.encode()))


def _findings(path, chunk_size):
    res = scan(ScanOptions(paths=(str(path),), chunk_size=chunk_size, max_file_size=0, jobs=1))
    return [(f.rule_id, f.secret, f.start_line, f.start_column, f.end_line, f.end_column) for f in res.findings]


@pytest.mark.slow  # many full scans: the end-to-end tier
def test_a_key_across_every_boundary_position_is_found_once(tmp_path):
    """Keys are planted so that, over the file, chunk boundaries (4 KiB
    chunks) cut through every character position of a key and of its name."""
    rnd = random.Random(5)
    lines, expected = [], []
    for i in range(400):
        if i % 3 == 0:
            key = _ghp(i)
            pad = "x" * rnd.randrange(0, 90)
            lines.append(f"{pad} GITHUB_TOKEN={key} # {i}")
            expected.append(("github-pat-classic", key, i + 1, len(pad) + 15))
        else:
            lines.append("filler " * rnd.randrange(1, 30))
    path = tmp_path / "big.log"
    path.write_text("\n".join(lines) + "\n")
    whole = _findings(path, 0)  # 0: no chunking
    assert [(r, s, ln, c) for r, s, ln, c, _, _ in whole] == expected
    for chunk in (1024, 4096, 4099, 10_000):
        assert _findings(path, chunk) == whole, chunk


def test_long_line_cut_mid_line_keeps_columns(tmp_path):
    """A single line longer than the overlap is cut inside the line: columns continue."""
    keys = [_ghp(100 + i) for i in range(40)]
    parts, expected, col = [], [], 1
    rnd = random.Random(9)
    for k in keys:
        filler = "é" * rnd.randrange(50, 400) + " "  # two bytes per character
        parts.append(filler + k + " ")
        col += len(filler)
        expected.append(("github-pat-classic", k, 2, col))
        col += len(k) + 1
    path = tmp_path / "minified.js"
    path.write_text("header\n" + "".join(parts) + "\ntrailer\n", encoding="utf-8")
    for chunk in (0, 2048, 3001):
        assert [(r, s, ln, c) for r, s, ln, c, _, _ in _findings(path, chunk)] == expected, chunk


def test_multi_line_private_key_across_a_boundary(tmp_path):
    pem = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
           + "\n".join("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"[:70]
                       for _ in range(6))
           + "\n-----END OPENSSH PRIVATE KEY-----\n")
    for before in range(0, 1200, 97):
        path = tmp_path / "dump.txt"
        path.write_text("a line of text\n" * before + pem + "tail\n" * 300)
        whole = _findings(path, 0)
        assert whole, "the PEM block must be found by a whole-file scan"
        assert _findings(path, 2048) == whole, before


def test_bytes_and_files_are_counted_once(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"word " * 10_000)
    res = scan(ScanOptions(paths=(str(path),), chunk_size=4096, jobs=1))
    assert (res.files_scanned, res.bytes_scanned) == (1, 50_000)


@pytest.mark.parametrize("size,overlap", [(10, 3), (4096, 1024), (50_000, 12_500)])
def test_next_start_is_a_line_start_or_char_boundary_and_makes_progress(size, overlap):
    rnd = random.Random(size)
    for _ in range(200):
        buf = "".join(rnd.choice(["a", "é", "\n", "✓", "b"]) for _ in range(size)).encode()[:size]
        nxt = _next_start(buf, overlap)
        assert 0 < nxt <= len(buf)
        assert nxt >= len(buf) - 2 * overlap - 4 or len(buf) < 2 * overlap
        assert (buf[nxt - 1:nxt] == b"\n") or (buf[nxt] & 0xC0) != 0x80


def test_overlap_never_exceeds_a_quarter_of_the_chunk():
    assert overlap_for(4096) == 1024 and overlap_for(1 << 30) == 256 * 1024


@pytest.mark.slow  # many full scans: the end-to-end tier
def test_chunked_memory_stays_bounded(tmp_path):
    """A 64 MiB file in 1 MiB chunks: the largest chunk document is 1 MiB."""
    import tracemalloc

    path = tmp_path / "huge.log"
    key = _ghp(7)
    with open(path, "wb") as fh:
        line = b"2024-05-30T14:30:00Z INFO request served in 12 ms by worker-3\n"
        block = line * (1024 * 1024 // len(line))
        for i in range(64):
            fh.write(block)
            if i == 40:
                fh.write(f"export GITHUB_TOKEN={key}\n".encode())
    from keyscan.api import build_engine

    engine = build_engine(ScanOptions())
    tracemalloc.start()
    findings, nbytes = scan_chunked(engine, "huge.log", str(path), 1024 * 1024)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [f.secret for f in findings] == [key]
    assert nbytes == path.stat().st_size
    assert peak < 16 * 1024 * 1024, peak


def test_a_large_file_split_across_workers_gives_the_single_process_findings(tmp_path):
    """With several workers a large file is split into byte ranges at line
    starts; lines are counted across ranges and boundary secrets found once."""
    rnd = random.Random(11)
    lines = []
    for i in range(3000):
        lines.append(f"x{'y' * rnd.randrange(0, 60)} GITHUB_TOKEN={_ghp(1000 + i)}" if i % 7 == 0 else
                     "log line " * rnd.randrange(1, 12))
    path = tmp_path / "app.log"
    path.write_text("\n".join(lines) + "\n")
    base = dict(paths=(str(path),), chunk_size=2048, max_file_size=0)
    serial = scan(ScanOptions(jobs=1, **base))
    parallel = scan(ScanOptions(jobs=2, **base))
    assert len(serial.findings) == 3000 // 7 + 1
    assert parallel.findings == serial.findings
    assert (parallel.files_scanned, parallel.bytes_scanned) == (1, path.stat().st_size)
    assert parallel.skipped == serial.skipped == ()


def test_split_ranges_start_at_line_starts_and_cover_the_file(tmp_path):
    from keyscan.documents.chunked import split_ranges

    path = tmp_path / "f.txt"
    data = b"".join(b"line %d %s\n" % (i, b"z" * (i % 50)) for i in range(5000))
    path.write_bytes(data)
    ranges = split_ranges(str(path), len(data), 4)
    assert len(ranges) == 4 and ranges[0][0] == 0 and ranges[-1][1] == -1
    for (a, b), (c, _) in zip(ranges, ranges[1:]):
        assert b == c and data[b - 1:b] == b"\n"
    one_line = tmp_path / "one.txt"
    one_line.write_bytes(b"x" * 100_000)
    assert split_ranges(str(one_line), 100_000, 4) == [(0, -1)]


def test_chunk_boundary_position_matches_the_document():
    """The owner boundary is computed from bytes; it must be the position the
    chunk's Document reports for the same offset (lines, columns after a
    mid-line start, multi-byte characters)."""
    import random

    from keyscan.documents.chunked import _position
    from keyscan.documents import Document

    rng = random.Random(4)
    pieces = ["a", "é", "\n", "token=", "€", " ", "\r\n"]
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 60)))
        buf = text.encode()
        line_base, col_base = rng.randint(1, 50), rng.choice([0, 0, 7])
        doc = Document(path="x", data=buf, col_offset=col_base,
                       line_map=range(line_base, line_base + buf.count(b"\n") + 1))
        for k in range(len(text) + 1):
            offset = len(text[:k].encode())
            assert _position(buf, offset, line_base, col_base) == doc.position(k), (text, k)


class _Stdin:
    """sys.stdin with a binary ``buffer`` that records the largest read."""

    def __init__(self, data: bytes):
        import io

        self._raw = io.BytesIO(data)
        self.largest = 0
        self.buffer = self

    def read(self, n: int = -1) -> bytes:
        block = self._raw.read(n)
        self.largest = max(self.largest, len(block))
        return block


def _stdin_findings(monkeypatch, data: bytes, chunk_size: int, extra: tuple[str, ...] = ()):
    fake = _Stdin(data)
    monkeypatch.setattr("sys.stdin", fake)
    res = scan(ScanOptions(paths=("-", *extra), chunk_size=chunk_size, max_file_size=0, jobs=1))
    got = [(f.path, f.rule_id, f.secret, f.start_line, f.start_column, f.end_line, f.end_column)
           for f in res.findings]
    return got, res, fake


def test_stdin_is_read_in_chunks_like_the_same_bytes_as_a_file(tmp_path, monkeypatch):
    """Piped input larger than a chunk is read chunk by chunk (no read larger
    than the chunk size: memory bounded), with the findings, lines and columns
    of scanning the same bytes as a file, keys across chunk boundaries included."""
    rnd = random.Random(11)
    lines = []
    for i in range(300):
        lines.append(f"{'x' * rnd.randrange(0, 70)} GITHUB_TOKEN={_ghp(500 + i)} # {i}" if i % 4 == 0
                     else "filler " * rnd.randrange(1, 25))
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path / "same.log"
    path.write_bytes(data)
    # the first read (the chunk size) ends inside a key
    chunk = data.index(_ghp(500 + 60).encode()) + 10
    as_file = [("<stdin>", *f) for f in _findings(path, chunk)]
    assert len(as_file) == 75
    got, res, fake = _stdin_findings(monkeypatch, data, chunk)
    assert got == as_file
    assert fake.largest <= chunk
    assert (res.files_scanned, res.bytes_scanned) == (1, len(data))
    # with a file named too, both are scanned and counted
    got2, res2, _ = _stdin_findings(monkeypatch, data, chunk, (str(path),))
    assert sorted(got2) == sorted(as_file + [(str(path), *f[1:]) for f in as_file])
    assert (res2.files_scanned, res2.bytes_scanned) == (2, 2 * len(data))


def test_small_or_binary_stdin_is_read_whole(monkeypatch):
    key = _ghp(7)
    got, res, fake = _stdin_findings(monkeypatch, f"a\nGITHUB_TOKEN={key}\n".encode(), 4096)
    assert [g[1:4] for g in got] == [("github-pat-classic", key, 2)]
    data = b"\x00\x01" * 5000 + f"\nGITHUB_TOKEN={key}\n".encode()
    got, res, fake = _stdin_findings(monkeypatch, data, 4096)
    assert got == [] and [(s.path, s.reason) for s in res.skipped] == [("<stdin>", "binary")]


@pytest.mark.slow  # reads 2 GiB: the end-to-end tier
def test_a_2gb_text_file_is_scanned_whole_in_bounded_memory(tmp_path):
    """A text file over 2 GiB (sparse: a log head, a hole, a key at the end) is read
    in chunks by a default scan: the key is found at its line, nothing is skipped,
    and the scan's peak memory stays far below the file's size (measured ~105 MB)."""
    import json
    import resource
    import subprocess
    import sys

    token = _ghp(2026)
    path = tmp_path / "build.log"
    with open(path, "wb") as fh:
        fh.write(b"2026-12-03T00:00:00Z build started\n" * 300)
        fh.seek(2 * 1024**3 + 12345)
        fh.write(f"\nexport GITHUB_TOKEN={token}\n".encode())
    assert path.stat().st_size > 2 * 1024**3
    out = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "keyscan", "scan", str(path), "-q", "-f", "json", "-o", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    report = json.loads(out.read_text())
    assert [(f["rule_id"], f["start_line"]) for f in report["findings"]] == [("github-pat-classic", 302)]
    assert report["skipped"] == []
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert peak_mb < 512, f"peak RSS {peak_mb:.0f} MB for a 2 GiB file"
