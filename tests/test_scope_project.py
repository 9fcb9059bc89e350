"""Issue 15 acceptance: a project with one fake key in each place agents leave them.

A default scan finds every key at the right file, archive member or table/row/column, and
nothing else; ``--no-ignored`` (``git_ignored="none"``) drops exactly the git-ignored ones.
"""

import base64
import binascii
import io
import json
import os
import sqlite3
import subprocess
import tarfile
import zipfile
import zlib

import pytest

from keyscan import ScanOptions, scan

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _b62(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(6, "0")


def fake_ghp(i: int) -> str:
    """A structurally valid (checksummed) fake GitHub classic token, distinct per place."""
    body = "".join(_B62[(i * 7919 + k * 104729 + (k * k) * 31) % 62] for k in range(30))
    return "ghp_" + body + _b62(zlib.crc32(body.encode()))


def _w(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)


def _zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def _targz(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e.x",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e.x"})


# place -> (path as reported, line, location); the key index is the position in this list
TRACKED = [
    ("src/config.py", 2, None),
    ("dist/tool.mcpb!manifest.json", 14, "server.mcp_config.env.GITHUB_TOKEN"),
    ("wheels/pkg-1.0-py3-none-any.whl!pkg/settings.py", 1, None),
    ("lib/app.jar!META-INF/app.properties", 2, None),
    ("release.zip!config/prod.env", 1, None),
    ("backup.tar.gz!etc/app.ini", 2, None),
    ("deploy/values.yaml", 3, "token (hex-decoded)"),
    ("deploy/secret.yaml", 4, "payload (base64-decoded) > base64-decoded > base64-decoded"),
]
IGNORED = [
    (".env", 2, None),
    (".claude/settings.local.json", 6, "env.GITHUB_TOKEN"),
    (".aider.chat.history.md", 5, None),
    ("logs/session-2026.jsonl", None, None),
    ("mlflow.db", 1, "table params, key gh, column value"),
    ("checkpoints.sqlite", 2, "table writes, rowid 7, column value"),
    ("state.vscdb", 1, "table cursorDiskKV, key bubbleId:9f2:c41, text"),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("agentproj")
    k = [fake_ghp(i) for i in range(len(TRACKED) + len(IGNORED) + 10)]
    # -- committed content -----------------------------------------------
    _w(root / "src" / "config.py", f"import os\nGITHUB = \"{k[0]}\"\n")
    manifest = {"manifest_version": "0.2", "name": "tool", "version": "1.0.0",
                "server": {"type": "node", "entry_point": "server/index.js",
                           "mcp_config": {"command": "node", "args": ["server/index.js"],
                                          "env": {"GITHUB_TOKEN": k[1]}}}}
    _w(root / "dist" / "tool.mcpb", _zip([("manifest.json", json.dumps(manifest, indent=2)),
                                          ("server/index.js", "console.log('hi')\n")]))
    _w(root / "wheels" / "pkg-1.0-py3-none-any.whl",
       _zip([("pkg/settings.py", f"TOKEN = '{k[2]}'\n"), ("pkg-1.0.dist-info/METADATA", "Name: pkg\n")]))
    _w(root / "lib" / "app.jar", _zip([("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n"),
                                       ("META-INF/app.properties", f"app.name=x\ngithub.token={k[3]}\n")]))
    _w(root / "release.zip", _zip([("config/prod.env", f"GITHUB_TOKEN={k[4]}\n")]))
    _w(root / "backup.tar.gz", _targz([("etc/app.ini", f"[github]\ntoken = {k[5]}\n".encode())]))
    hexed = binascii.hexlify(f"GITHUB_TOKEN={k[6]}".encode()).decode()
    _w(root / "deploy" / "values.yaml", f"image: app:1.2\nenv:\n  token: {hexed}\n")
    inner = k[7].encode()
    for _ in range(3):
        inner = base64.b64encode(inner)
    _w(root / "deploy" / "secret.yaml",
       f"apiVersion: v1\nkind: Secret\ndata:\n  payload: {inner.decode()}\n")
    _w(root / ".gitignore", ".env\n.claude/\n.aider*\nlogs/\n*.db\n*.sqlite\n*.vscdb\ndist/\n"
                            "node_modules/\n.venv/\nbuild/\ntmp/\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "add", "-f", "dist/tool.mcpb")  # tracked although dist/ is ignored
    _git(root, "commit", "-q", "-m", "init")
    # -- git-ignored secret carriers ---------------------------------------
    n = len(TRACKED)
    _w(root / ".env", f"# local\nGITHUB_TOKEN={k[n]}\n")
    _w(root / ".claude" / "settings.local.json",
       json.dumps({"permissions": {"allow": []}, "env": {"GITHUB_TOKEN": k[n + 1]}}, indent=2))
    _w(root / ".aider.chat.history.md",
       "# aider chat started at 2026-11-02\n\n#### set up the client\n\n"
       f"> export GITHUB_TOKEN={k[n + 2]}\n")
    line = json.dumps({"type": "assistant", "message": {"role": "assistant", "content": [
        {"type": "text", "text": "Refactoring the module and running the test suite again. " * 4}]}})
    filler = (line + "\n") * (12 * 1024 * 1024 // (len(line) + 1))
    event = json.dumps({"type": "user", "message": {"content": [
        {"type": "tool_result", "content": f"GITHUB_TOKEN={k[n + 3]}\n"}]}})
    _w(root / "logs" / "session-2026.jsonl", filler + event + "\n")
    c = sqlite3.connect(root / "mlflow.db")
    c.execute("CREATE TABLE params (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32))")
    c.execute("INSERT INTO params VALUES ('lr', '0.001', 'r1')")
    c.execute("INSERT INTO params VALUES ('gh', ?, 'r1')", (k[n + 4],))
    c.commit()
    c.close()
    c = sqlite3.connect(root / "checkpoints.sqlite")
    c.execute("CREATE TABLE writes (thread_id TEXT, checkpoint_ns TEXT, checkpoint_id TEXT, task_id TEXT, "
              "idx INTEGER, channel TEXT, type TEXT, value BLOB, "
              "PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx))")
    for i in range(6):
        c.execute("INSERT INTO writes VALUES ('t', '', 'c', 'x', ?, 'messages', 'msgpack', ?)",
                  (i, b"\x81\xa4role\xa4user"))
    c.execute("INSERT INTO writes VALUES ('t', '', 'c', 'x', 6, 'messages', 'msgpack', ?)",
              (b"\x81\xa7content\xd9\x28" + k[n + 5].encode(),))
    c.commit()
    c.close()
    c = sqlite3.connect(root / "state.vscdb")
    c.execute("CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
    c.execute("INSERT INTO cursorDiskKV VALUES (?, ?)",
              ("bubbleId:9f2:c41", json.dumps({"type": 1, "text": f"use {k[n + 6]} for the API"})))
    c.commit()
    c.close()
    # -- git-ignored, not carriers, or inside dependency/build trees: left out ---
    m = n + len(IGNORED)
    _w(root / "node_modules" / "pkg" / ".env", f"T={k[m]}\n")
    _w(root / ".venv" / "lib" / "conf.py", f"T = '{k[m + 1]}'\n")
    _w(root / "build" / "out.txt", f"T={k[m + 2]}\n")
    _w(root / "tmp" / "scratch.txt", f"T={k[m + 3]}\n")
    _w(root / "dist" / "other.txt", f"T={k[m + 4]}\n")
    return root, k


def _placed(result, root, keys):
    out = {}
    for f in result.findings:
        idx = keys.index(f.secret)
        out.setdefault(idx, []).append((os.path.relpath(f.path, root), f.start_line, f.location,
                                        f.not_committed))
    return out


@pytest.mark.slow
def test_default_scan_finds_every_key_in_place_and_nothing_else(project):
    root, keys = project
    result = scan(ScanOptions(paths=(str(root),)))
    got = _placed(result, root, keys)
    want = {i: [(p, line, loc, False)] for i, (p, line, loc) in enumerate(TRACKED)}
    want.update({len(TRACKED) + i: [(p, line, loc, True)] for i, (p, line, loc) in enumerate(IGNORED)})
    big = len(TRACKED) + 3  # the 12 MB transcript: its last line
    assert got[big][0][0] == "logs/session-2026.jsonl" and got[big][0][1] > 30000
    got[big] = [(got[big][0][0], None, None, True)]
    for i in sorted(set(got) | set(want)):
        assert got.get(i) == want.get(i), (i, got.get(i), want.get(i))
    assert result.skipped == ()


@pytest.mark.slow
def test_no_ignored_drops_exactly_the_ignored_ones(project):
    root, keys = project
    result = scan(ScanOptions(paths=(str(root),), git_ignored="none"))
    assert sorted(_placed(result, root, keys)) == list(range(len(TRACKED)))
