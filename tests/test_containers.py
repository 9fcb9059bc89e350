"""SQLite databases and archives as sources (issue 15 parts 3 and 4)."""

import io
import json
import os
import sqlite3
import tarfile
import zipfile


from keyscan import ScanOptions, scan
from keyscan.sources.archives import ArchiveLimits, members
from keyscan.sources.containers import archive_kind
from keyscan.sources.sqlite import cell_text

TOKEN = "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"
LINE = f"token={TOKEN}\n".encode()


def _scan(root, **kw):
    kw.setdefault("jobs", 1)
    return scan(ScanOptions(paths=(str(root),), **kw))


def _where(result, root):
    return sorted((os.path.relpath(f.path, root), f.start_line, f.location) for f in result.findings)


def _skips(result, root):
    return sorted((os.path.relpath(s.path, root), s.reason) for s in result.skipped)


def _cursor_db(path):
    c = sqlite3.connect(path)
    c.execute("CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
    c.execute("CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
    c.execute("INSERT INTO ItemTable VALUES ('theme', 'dark-modern-theme')")
    bubble = {"type": 2, "toolFormerData": {"name": "run_terminal_cmd",
                                            "rawArgs": json.dumps({"command": f"export GH_TOKEN={TOKEN}"})}}
    c.execute("INSERT INTO cursorDiskKV VALUES (?, ?)", ("bubbleId:6f1c:a2e9", json.dumps(bubble)))
    c.execute("CREATE TABLE writes (thread_id TEXT, checkpoint_ns TEXT, checkpoint_id TEXT, task_id TEXT, "
              "idx INTEGER, channel TEXT, type TEXT, value BLOB, "
              "PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx))")
    for i in range(6):
        c.execute("INSERT INTO writes VALUES ('t1', '', 'c1', 'k', ?, 'messages', 'msgpack', ?)",
                  (i, b"\x81\xa4role\xa4user"))
    # msgpack map {"content": "<40-char str>"}: str8 header 0xd9 0x28
    blob = b"\x81\xa7content\xd9\x28" + TOKEN.encode()
    c.execute("INSERT INTO writes VALUES ('t1', '', 'c1', 'k', 6, 'messages', 'msgpack', ?)", (blob,))
    c.commit()
    c.close()


def test_sqlite_cells_are_scanned_with_table_row_column(tmp_path):
    _cursor_db(tmp_path / "state.vscdb")
    result = _scan(tmp_path)
    assert _where(result, tmp_path) == [
        ("state.vscdb", 1, "table cursorDiskKV, key bubbleId:6f1c:a2e9, toolFormerData.rawArgs"),
        ("state.vscdb", 2, "table writes, rowid 7, column value"),  # line 2 of the BLOB's strings
    ]
    assert result.skipped == () and result.files_scanned == 1


def test_sqlite_recognised_by_content_not_name(tmp_path):
    _cursor_db(tmp_path / "checkpoints")
    assert len(_scan(tmp_path).findings) == 2


def test_sqlite_held_open_by_another_connection(tmp_path):
    db = tmp_path / "mlflow.db"
    _cursor_db(db)
    holder = sqlite3.connect(db)
    holder.execute("BEGIN EXCLUSIVE")  # the owner is writing: a normal reader would get "database is locked"
    holder.execute("INSERT INTO ItemTable VALUES ('x', 'pending-write-not-committed')")
    try:
        result = _scan(tmp_path)
    finally:
        holder.rollback()
        holder.close()
    # The owner's rollback journal holds the pages as they were: read as strings, not "binary".
    assert [f.location for f in result.findings if f.path.endswith("mlflow.db")] == [
        "table cursorDiskKV, key bubbleId:6f1c:a2e9, toolFormerData.rawArgs",
        "table writes, rowid 7, column value"]
    assert result.skipped == ()


def test_corrupt_sqlite_is_skipped_with_a_reason(tmp_path):
    (tmp_path / "broken.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    (tmp_path / "ok.txt").write_bytes(LINE)
    result = _scan(tmp_path)
    assert _where(result, tmp_path) == [("ok.txt", 1, None)]
    ((path, reason),) = _skips(result, tmp_path)
    assert path == "broken.db" and "SQLite database" in reason


def test_sqlite_caps_report_what_was_not_read(tmp_path):
    from keyscan.sources.sqlite import SqliteLimits, cells

    _cursor_db(tmp_path / "s.db")
    out = list(cells("s.db", str(tmp_path / "s.db"), limits=SqliteLimits(max_rows=3, max_cell=20)))
    reasons = sorted(o.reason for o in out if not hasattr(o, "data"))
    assert "partly read: table writes: rows after 3 not read" in reasons
    assert any("longer than 20 bytes" in r for r in reasons)


def test_cell_text():
    assert cell_text("short") is None
    assert cell_text("plain text value") == b"plain text value"
    assert cell_text(b"\x92\xa5hello\xd9\x0bworld-again") == b"world-again"


# -- archives ---------------------------------------------------------------


def _zip(entries, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def _tar(entries, mode="w"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_archive_members_are_scanned_at_member_and_line(tmp_path):
    manifest = json.dumps({"name": "tool", "server": {"mcp_config": {"env": {"GITHUB_TOKEN": TOKEN}}}},
                          indent=2).encode()
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "tool.mcpb").write_bytes(_zip([("manifest.json", manifest), ("README.md", b"hi\n")]))
    (tmp_path / "pkg.whl").write_bytes(_zip([("pkg/config.py", b"x = 1\n" + LINE)]))
    (tmp_path / "bundle.tar.gz").write_bytes(_tar([("a/b.env", LINE)], "w:gz"))
    (tmp_path / "plain.tar").write_bytes(_tar([("c.txt", b"\n" + LINE)]))
    (tmp_path / "x.log.xz").write_bytes(__import__("lzma").compress(LINE))
    (tmp_path / "nested.jar").write_bytes(_zip([("lib/inner.zip", _zip([("deep.properties", LINE)]))]))
    result = _scan(tmp_path, git_ignored="all")
    assert _where(result, tmp_path) == [
        ("bundle.tar.gz!a/b.env", 1, None),
        ("dist/tool.mcpb!manifest.json", 6, "server.mcp_config.env.GITHUB_TOKEN"),
        ("nested.jar!lib/inner.zip!deep.properties", 1, None),
        ("pkg.whl!pkg/config.py", 2, None),
        ("plain.tar!c.txt", 2, None),
        ("x.log.xz!x.log", 1, None),
    ]
    assert result.skipped == ()


def test_zip_bomb_is_refused(tmp_path):
    (tmp_path / "bomb.zip").write_bytes(_zip([("zeros.txt", b"\0" * (4 * 1024 * 1024))]))
    result = _scan(tmp_path)
    assert result.findings == ()
    assert _skips(result, tmp_path) == [("bomb.zip", "archive refused: member zeros.txt: compression ratio "
                                                     "over 200:1")]


def test_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    import gzip

    (tmp_path / "big.gz").write_bytes(gzip.compress(b"A" * (8 * 1024 * 1024)))
    ((path, reason),) = _skips(_scan(tmp_path), tmp_path)
    assert path == "big.gz" and "compression ratio over 200:1" in reason


def test_nesting_member_count_and_size_limits():
    inner = _zip([("k.txt", LINE)])
    for _ in range(3):
        inner = _zip([("in.zip", inner)])
    out = list(members("a.zip", "zip", data=inner, limits=ArchiveLimits(max_depth=3)))
    names = [o.path for o in out]
    assert names == ["a.zip!in.zip"]  # level 2 is handed back to the pipeline, which recurses
    result = [o for o in members("x.zip", "zip", data=_zip([(f"f{i}", b"x") for i in range(5)]),
                                 limits=ArchiveLimits(max_members=4))]
    assert [o.reason for o in result] == ["archive refused: 5 members, over the limit of 4"]


def test_deep_nesting_is_refused_by_the_pipeline(tmp_path):
    inner = _zip([("k.txt", LINE)])
    for _ in range(3):
        inner = _zip([("in.zip", inner)])
    (tmp_path / "deep.zip").write_bytes(inner)
    result = _scan(tmp_path)
    assert result.findings == ()
    assert _skips(result, tmp_path) == [
        ("deep.zip!in.zip!in.zip!in.zip", "archive nested deeper than 3 levels (not opened)")]


def test_tar_dotdot_names_write_nothing(tmp_path):
    scan_dir = tmp_path / "scan"
    scan_dir.mkdir()
    (scan_dir / "evil.tar").write_bytes(_tar([("../../escaped.txt", LINE), ("/etc/abs.txt", LINE)]))
    before = sorted(p for p in tmp_path.rglob("*"))
    result = _scan(scan_dir)
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert _where(result, scan_dir) == [("evil.tar!escaped.txt", 1, None), ("evil.tar!etc/abs.txt", 1, None)]
    assert sorted(f.prop("archive_member") for f in result.findings) == ["../../escaped.txt", "/etc/abs.txt"]


def test_damaged_archive_is_skipped_with_a_reason(tmp_path):
    good = _zip([("a.txt", LINE)])
    (tmp_path / "cut.zip").write_bytes(good[: len(good) // 2])
    ((path, reason),) = _skips(_scan(tmp_path), tmp_path)
    assert path == "cut.zip" and reason.startswith("damaged archive")


def test_archive_kind():
    assert archive_kind(_zip([("a", b"b")])[:512]) == "zip"
    assert archive_kind(_tar([("a", b"b")])[:512]) == "tar"
    assert archive_kind(b"plain text") is None
