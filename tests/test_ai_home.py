"""``keyscan scan --ai-home`` on a fake home directory (issue 15 part 6)."""

import json
import sqlite3

import pytest

from keyscan import ScanOptions, scan
from keyscan.sources.aihome import locate

GHP = "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"
# Anthropic-style and OpenAI-style keys: structurally realistic fakes.
ANT = "sk-ant-api03-" + "Xq7vR2mK9pL4tW8nB3cF6hJ1sD5gA0zE" * 2 + "yU2iO4pQ7wE9r-AAAAAAAAAA"


def _w(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture()
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    for var in ("XDG_CONFIG_HOME", "CODEX_HOME", "CLAUDE_CONFIG_DIR", "CONTINUE_GLOBAL_DIR", "APPDATA"):
        monkeypatch.delenv(var, raising=False)
    # Claude Code: a transcript line with a tool result echoing a token, and settings env.
    event = {"type": "user", "message": {"role": "user", "content": [
        {"type": "tool_result", "content": f"GITHUB_TOKEN={GHP}\n"}]}}
    _w(h / ".claude" / "projects" / "-work-app" / "5b1e.jsonl", json.dumps(event) + "\n")
    _w(h / ".claude" / "settings.json", json.dumps({"env": {"ANTHROPIC_API_KEY": ANT}}, indent=2))
    # Codex under CODEX_HOME (moved), a session transcript.
    codex = tmp_path / "elsewhere" / "codex"
    monkeypatch.setenv("CODEX_HOME", str(codex))
    _w(codex / "sessions" / "2026" / "11" / "rollout-1.jsonl",
       json.dumps({"type": "function_call_output", "output": f"export GH_TOKEN={GHP}"}) + "\n")
    # Cursor chat store under XDG_CONFIG_HOME (moved).
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    db = xdg / "Cursor" / "User" / "globalStorage" / "state.vscdb"
    db.parent.mkdir(parents=True)
    c = sqlite3.connect(db)
    c.execute("CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
    c.execute("INSERT INTO cursorDiskKV VALUES (?, ?)",
              ("bubbleId:1:2", json.dumps({"text": f"my token is {GHP}"})))
    c.commit()
    c.close()
    # An MCP client config from the registry (Zed, under XDG_CONFIG_HOME).
    _w(xdg / "zed" / "settings.json", json.dumps({"context_servers": {"gh": {
        "command": "npx", "args": ["-y", "server-github"], "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": GHP}}}},
        indent=2))
    # Unrelated files in home: never scanned.
    _w(h / "projects" / "app" / ".env", f"TOKEN={GHP}\n")
    _w(h / ".cursor" / "extensions" / "x" / "a.js", f"t='{GHP}'\n")
    return h


def test_locate_honours_overrides(home, tmp_path):
    locs = {(loc.tool, loc.path.replace(str(tmp_path) + "/", ""), loc.sent) for loc in locate(str(home))}
    assert locs == {
        ("Claude Code", "home/.claude/settings.json", False),
        ("Claude Code", "home/.claude/projects", True),
        ("OpenAI Codex", "elsewhere/codex/sessions", True),
        ("Cursor", "xdg/Cursor/User/globalStorage/state.vscdb", True),
        ("MCP: Zed", "xdg/zed/settings.json", False),
    }


def test_ai_home_scan_reports_per_tool_and_marks_sent(home, tmp_path):
    result = scan(ScanOptions(ai_home=True, home=str(home), jobs=1))
    got = sorted((f.prop("ai_tool"), f.path.replace(str(tmp_path) + "/", ""), f.sent_to_model, "NHI3" in f.nhi)
                 for f in result.findings)
    assert got == [
        ("Claude Code", "home/.claude/projects/-work-app/5b1e.jsonl", True, True),
        ("Claude Code", "home/.claude/settings.json", False, True),  # agent config: NHI3 by location
        ("Cursor", "xdg/Cursor/User/globalStorage/state.vscdb", True, True),
        ("MCP: Zed", "xdg/zed/settings.json", False, True),
        ("OpenAI Codex", "elsewhere/codex/sessions/2026/11/rollout-1.jsonl", True, True),
    ]
    cursor = [f for f in result.findings if f.path.endswith("state.vscdb")][0]
    assert cursor.location.startswith("table cursorDiskKV, key bubbleId:1:2")


def test_cli_ai_home(home, capsys, monkeypatch):
    from keyscan.cli import main as cli_main

    monkeypatch.setenv("HOME", str(home))
    code = cli_main(["scan", "--ai-home", "-f", "json", "--no-progress", "-j", "1"])
    out = capsys.readouterr()
    assert code == 1
    doc = json.loads(out.out)
    assert doc["summary"]["sent_to_model"] == 3
    assert "  Claude Code: 2 locations, 2 findings (1 sent to a model provider)" in out.err
    assert "  OpenAI Codex: 1 location, 1 finding (1 sent to a model provider)" in out.err
    assert cli_main(["scan", "--ai-home", "."]) == 2
