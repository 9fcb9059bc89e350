"""Agent hooks: recorded event payloads (tests/hook_events) through keyscan's reply.

Each payload follows the agent's documented hook input; ``{{NAME}}`` is replaced
by a fake, structurally valid key (or by a harmless word for the "allow" runs).
"""

from __future__ import annotations

import importlib.util
import json
import os
import stat
from pathlib import Path

import pytest
from conftest import FIXTURES

from keyscan.errors import UsageError
from keyscan.hooks import fail_closed, install, merge_hooks, run_hook

EVENTS = Path(__file__).parent / "hook_events"

_spec = importlib.util.spec_from_file_location("fakekeys", FIXTURES / "encoded" / "fakekeys.py")
fakekeys = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakekeys)  # type: ignore[union-attr]

_K = fakekeys.FakeKeys(2026)
KEYS = {"GITHUB_TOKEN": _K.github(), "ANTHROPIC_KEY": _K.anthropic(), "OPENAI_KEY": _K.openai_project()}
RULES = {"GITHUB_TOKEN": "github-pat-classic", "ANTHROPIC_KEY": "anthropic-api-key", "OPENAI_KEY": "openai-project-key"}


def payload(name: str, *, secrets: bool = True) -> bytes:
    text = (EVENTS / name).read_text()
    for key, value in KEYS.items():
        text = text.replace("{{" + key + "}}", value if secrets else "example-value")
    return text.encode()


def _placeholders(name: str) -> list[str]:
    text = (EVENTS / name).read_text()
    return [k for k in KEYS if "{{" + k + "}}" in text]


def _agent(name: str) -> str:
    return name.split(".")[0]


# the events each agent's hook protocol documents for prompts, tool calls and file reads
EVENT_NAMES = {
    "claude-code": {"UserPromptSubmit", "PreToolUse", "PostToolUse"},
    "codex": {"UserPromptSubmit", "PreToolUse", "PostToolUse"},
    "gemini-cli": {"BeforeAgent", "BeforeTool", "AfterTool"},
    "cursor": {"beforeSubmitPrompt", "beforeShellExecution", "beforeMCPExecution", "beforeReadFile"},
}


def _allowed(agent: str, event: str) -> str:
    """What "allow" is on the agent's standard output (Cursor: explicit JSON,
    since with failClosed an empty reply is a failure)."""
    if agent == "cursor":
        return ('{"continue": true}\n' if event == "beforeSubmitPrompt" else
                '{"permission": "allow"}\n' if event in EVENT_NAMES["cursor"] else "{}\n")
    return "{}\n" if agent == "gemini-cli" else ""


ALL = sorted(p.name for p in EVENTS.glob("*.json"))


def _no_secret_in(reply) -> None:
    for value in KEYS.values():
        assert value not in reply.stdout and value not in reply.stderr
        assert value[:12] not in reply.stdout


@pytest.mark.parametrize("name", ALL)
def test_event_with_secret_is_blocked_or_flagged(name):
    agent = _agent(name)
    reply = run_hook(agent, payload(name))
    assert reply.exit_code == 0, reply.stderr
    assert reply.stderr == ""
    out = json.loads(reply.stdout)
    event = json.loads(payload(name))["hook_event_name"]
    if agent == "gemini-cli":
        assert set(out) == {"decision", "reason"} and out["decision"] == "deny"
        reason = out["reason"]
    elif event == "beforeSubmitPrompt":
        assert set(out) == {"continue", "user_message"} and out["continue"] is False
        reason = out["user_message"]
    elif agent == "cursor":  # beforeShellExecution, beforeMCPExecution, beforeReadFile
        assert set(out) == {"permission", "user_message", "agent_message"} and out["permission"] == "deny"
        reason = out["user_message"]
        assert out["agent_message"] == reason
    elif event == "PreToolUse":
        assert set(out) == {"hookSpecificOutput"}
        hso = out["hookSpecificOutput"]
        assert hso["hookEventName"] == "PreToolUse" and hso["permissionDecision"] == "deny"
        reason = hso["permissionDecisionReason"]
    elif event == "UserPromptSubmit":
        assert set(out) == {"decision", "reason"} and out["decision"] == "block"
        reason = out["reason"]
    else:  # PostToolUse: flagged, the agent is told not to repeat the key
        assert out["decision"] == "block"
        assert out["hookSpecificOutput"] == {"hookEventName": "PostToolUse", "additionalContext": out["reason"]}
        reason = out["reason"]
        assert "Do not repeat" in reason
    for key in _placeholders(name):
        assert RULES[key] in reason
    _no_secret_in(reply)


def test_where_is_named():
    reply = run_hook("claude-code", payload("claude-code.PreToolUse.Write.json"))
    reason = json.loads(reply.stdout)["hookSpecificOutput"]["permissionDecisionReason"]
    assert "anthropic-api-key) in tool_input.content line 3" in reason
    reply = run_hook("claude-code", payload("claude-code.UserPromptSubmit.json"))
    assert "github-pat-classic) in prompt." in json.loads(reply.stdout)["reason"]
    reply = run_hook("gemini-cli", payload("gemini-cli.AfterTool.json"))
    reason = json.loads(reply.stdout)["reason"]
    assert reason.startswith("keyscan hid this tool result")
    assert "tool_response.llmContent line 2" in reason and "tool_response.returnDisplay line 2" not in reason


def test_cursor_where_is_named():
    out = json.loads(run_hook("cursor", payload("cursor.beforeMCPExecution.json")).stdout)
    assert "(anthropic-api-key) in tool_input.body line 2" in out["user_message"]
    out = json.loads(run_hook("cursor", payload("cursor.beforeReadFile.json")).stdout)
    assert out["user_message"].startswith("keyscan blocked reading this file: it holds a secret: ")
    assert "(anthropic-api-key) in content line 3" in out["user_message"]
    out = json.loads(run_hook("cursor", payload("cursor.beforeShellExecution.json")).stdout)
    assert "(openai-project-key) in command;" in out["user_message"]


@pytest.mark.parametrize("as_text", [True, False])
def test_cursor_mcp_tool_input_as_json_text_or_object(as_text):
    """Cursor sends an MCP tool's arguments as JSON text (an object in some
    versions): both are read as the arguments, with the same places named."""
    args = {"owner": "acme", "token": KEYS["GITHUB_TOKEN"]}
    event = {"hook_event_name": "beforeMCPExecution", "tool_name": "git_push",
             "tool_input": json.dumps(args) if as_text else args, "url": "http://localhost:8931/mcp"}
    out = json.loads(run_hook("cursor", json.dumps(event).encode()).stdout)
    assert out["permission"] == "deny"
    assert "(github-pat-classic) in tool_input.token." in out["user_message"]


def test_cursor_mcp_tool_input_text_that_is_not_json():
    event = {"hook_event_name": "beforeMCPExecution", "tool_name": "run",
             "tool_input": f"deploy --token {KEYS['GITHUB_TOKEN']}", "command": "npx -y @acme/run-mcp"}
    out = json.loads(run_hook("cursor", json.dumps(event).encode()).stdout)
    assert out["permission"] == "deny" and "(github-pat-classic) in tool_input." in out["user_message"]


def test_cursor_mcp_server_command_is_not_the_tool_call():
    """The MCP server's own launch command or URL is the user's configuration,
    not what the model wrote: a clean tool call is allowed."""
    event = {"hook_event_name": "beforeMCPExecution", "tool_name": "list", "tool_input": "{}",
             "url": f"https://mcp.example.com/sse?token={KEYS['GITHUB_TOKEN']}"}
    assert run_hook("cursor", json.dumps(event).encode()).stdout == '{"permission": "allow"}\n'


def test_cursor_file_read_goes_through_the_decoders():
    """A JSON file's content is scanned as that file (its name picks the
    decoders): a key written with a JSON escape is found."""
    escaped = json.dumps({"token": KEYS["GITHUB_TOKEN"]}).replace("ghp_", "ghp\\u005f")
    event = {"hook_event_name": "beforeReadFile", "file_path": "/home/dev/shop/config/gh.json",
             "content": escaped, "attachments": []}
    out = json.loads(run_hook("cursor", json.dumps(event).encode()).stdout)
    assert out["permission"] == "deny" and "(github-pat-classic) in content" in out["user_message"]


def test_cursor_inline_allow_only_in_the_users_prompt():
    token = KEYS["GITHUB_TOKEN"]
    prompt = {"hook_event_name": "beforeSubmitPrompt", "prompt": f"test fixture {token} # keyscan:allow"}
    assert run_hook("cursor", json.dumps(prompt).encode()).stdout == '{"continue": true}\n'
    read = {"hook_event_name": "beforeReadFile", "file_path": "/home/dev/shop/notes.txt",
            "content": f"token = {token}  # keyscan:allow\n"}
    assert json.loads(run_hook("cursor", json.dumps(read).encode()).stdout)["permission"] == "deny"


@pytest.mark.parametrize("event", [
    {"hook_event_name": "afterShellExecution", "command": "env", "output": "GITHUB_TOKEN={}", "duration": 12},
    {"hook_event_name": "afterMCPExecution", "tool_name": "get", "tool_input": "{}",
     "result_json": "{{\"token\": \"{}\"}}", "duration": 40},
    {"hook_event_name": "afterAgentResponse", "text": "use {}"}])
def test_cursor_after_hooks_are_not_claimed_to_block(event):
    """Cursor's after-hooks are fire-and-forget: keyscan does not pretend to
    block them (an empty JSON object, exit 0)."""
    event = {k: v.format(KEYS["GITHUB_TOKEN"]) if isinstance(v, str) else v for k, v in event.items()}
    assert run_hook("cursor", json.dumps(event).encode()) == fail_closed("x").__class__(0, "{}\n", "")


@pytest.mark.parametrize("name", ALL)
def test_event_without_secret_is_allowed(name):
    agent = _agent(name)
    reply = run_hook(agent, payload(name, secrets=False))
    assert reply.exit_code == 0 and reply.stderr == ""
    assert reply.stdout == _allowed(agent, json.loads(payload(name))["hook_event_name"])


def test_recorded_events_cover_every_agent_and_event():
    recorded = {(_agent(n), json.loads(payload(n))["hook_event_name"]) for n in ALL}
    assert recorded == {(agent, event) for agent, events in EVENT_NAMES.items() for event in events}


@pytest.mark.parametrize("agent", sorted(EVENT_NAMES))
@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]", b"\xff\xfe{}", b'"text"',
                                 b'{"hook_event_name": "UserPromptSubmit"}',
                                 b'{"hook_event_name": "BeforeAgent", "prompt": 42}',
                                 b'{"hook_event_name": "beforeSubmitPrompt", "attachments": []}',
                                 b'{"hook_event_name": "beforeShellExecution", "command": ["env"], "cwd": "/"}',
                                 b'{"hook_event_name": "beforeReadFile", "file_path": "/home/dev/.env"}'])
def test_malformed_input_fails_closed(agent, raw):
    reply = run_hook(agent, raw)
    name = json.loads(raw).get("hook_event_name") if raw.startswith(b"{\"") else None
    if name and name not in EVENT_NAMES[agent]:
        # another agent's event name: not one this agent sends, nothing to check
        assert (reply.exit_code, reply.stdout) == (0, _allowed(agent, name))
        return
    assert reply.exit_code == 2
    assert reply.stdout == ""
    assert reply.stderr.startswith("keyscan hook: ") and "blocked to be safe" in reply.stderr


def test_a_leading_utf8_bom_is_not_malformed_input():
    reply = run_hook("cursor", b"\xef\xbb\xbf" + payload("cursor.beforeShellExecution.json"))
    assert reply.exit_code == 0 and json.loads(reply.stdout)["permission"] == "deny"
    assert run_hook("cursor", b"\xef\xbb\xbf" + b"{not json").exit_code == 2


def test_internal_error_fails_closed():
    def broken(doc, text):
        raise RuntimeError("boom " + text)

    reply = run_hook("claude-code", payload("claude-code.PreToolUse.Bash.json"), scan=broken)
    assert reply.exit_code == 2 and reply.stdout == ""
    assert reply.stderr == "keyscan hook: internal error (RuntimeError); blocked to be safe (nothing was sent anywhere)\n"


def test_a_decoder_failure_fails_closed(monkeypatch):
    """A tool result holding JSON goes through the decoders; one that crashes
    must not turn into "allow" with the raw text's findings only."""
    from keyscan.decoders.json_decoder import JsonDecoder

    # only the JSON decoder sees the key: its underscore is written as an escape
    escaped = json.dumps({"token": KEYS["GITHUB_TOKEN"]}).replace("ghp_", "ghp\\u005f")
    post = {"hook_event_name": "PostToolUse", "tool_name": "Read", "tool_input": {"file_path": "a.json"},
            "tool_response": {"file": {"filePath": "a.json", "content": escaped}}}
    assert json.loads(run_hook("claude-code", json.dumps(post).encode()).stdout)["decision"] == "block"
    monkeypatch.setattr(JsonDecoder, "fragments", lambda self, doc: 1 / 0)
    reply = run_hook("claude-code", json.dumps(post).encode())
    assert reply.exit_code == 2 and reply.stdout == ""
    assert reply.stderr == ("keyscan hook: internal error (ZeroDivisionError); blocked to be safe "
                            "(nothing was sent anywhere)\n")


@pytest.mark.parametrize("prompt", ["deploy with {}", "deploy with {} and \\u0041 escapes"])
def test_a_rule_out_of_time_fails_closed(monkeypatch, prompt):
    """Plain text (engine only) and text for the decoders (pipeline) alike: a
    rule whose regex ran out of time did not read the whole event."""
    import keyscan.detect.engine as engine_mod

    monkeypatch.setattr(engine_mod, "REGEX_TIMEOUT", 1e-9)
    raw = json.dumps({"hook_event_name": "UserPromptSubmit",
                      "prompt": prompt.format(KEYS["GITHUB_TOKEN"])}).encode()
    reply = run_hook("claude-code", raw)
    assert reply.exit_code == 2 and reply.stdout == ""
    assert reply.stderr.startswith("keyscan hook: the event could not be scanned completely (rule ")
    assert reply.stderr.endswith("; blocked to be safe (nothing was sent anywhere)\n")
    _no_secret_in(reply)


def test_unknown_agent_fails_closed():
    assert run_hook("vim", payload("claude-code.UserPromptSubmit.json")).exit_code == 2


def test_other_events_pass():
    raw = json.dumps({"hook_event_name": "SessionStart", "source": "startup"}).encode()
    assert run_hook("claude-code", raw) == fail_closed("x").__class__(0, "", "")


def test_inline_allow_only_in_the_users_prompt():
    token = KEYS["GITHUB_TOKEN"]
    prompt = {"hook_event_name": "UserPromptSubmit", "prompt": f"test fixture {token} # keyscan:allow"}
    assert run_hook("claude-code", json.dumps(prompt).encode()).stdout == ""
    post = {"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {"command": "cat x"},
            "tool_response": {"stdout": f"{token} # keyscan:allow", "stderr": ""}}
    assert json.loads(run_hook("claude-code", json.dumps(post).encode()).stdout)["decision"] == "block"


def test_generic_secret_needs_its_key():
    """A bare high-entropy value is found through the key naming it; a
    low-confidence finding (a generic password) does not block."""
    pre = {"hook_event_name": "PreToolUse", "tool_name": "mcp__crm__connect",
           "tool_input": {"host": "crm.internal", "client_secret": "kR8vX2mQ7pL4sT9wZ3nB6cF1hJ5dG0aY"}}
    out = json.loads(run_hook("claude-code", json.dumps(pre).encode()).stdout)
    assert "(generic-secret-assignment) in tool_input.client_secret." in \
        out["hookSpecificOutput"]["permissionDecisionReason"]
    pre["tool_input"] = {"host": "db.internal", "password": "Xq7#mWv2pL9sRt4K"}
    assert run_hook("claude-code", json.dumps(pre).encode()).stdout == ""


# -- installing ----------------------------------------------------------------


def test_install_merges_and_is_idempotent(tmp_path):
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    existing = {"permissions": {"allow": ["Bash(npm test)"]},
                "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh"}]}]}}
    settings.write_text(json.dumps(existing))
    os.chmod(settings, 0o640)
    path, added = install("claude-code", "project", str(tmp_path))
    assert path == str(settings) and added == 3
    data = json.loads(settings.read_text())
    assert data["permissions"] == existing["permissions"]
    assert data["hooks"]["PreToolUse"][0] == existing["hooks"]["PreToolUse"][0]
    assert data["hooks"]["PreToolUse"][1] == {"matcher": "*", "hooks": [
        {"type": "command", "command": "keyscan hook claude-code"}]}
    assert data["hooks"]["UserPromptSubmit"] == [{"hooks": [{"type": "command", "command": "keyscan hook claude-code"}]}]
    assert stat.S_IMODE(settings.stat().st_mode) == 0o640
    before = settings.read_bytes()
    assert install("claude-code", "project", str(tmp_path)) == (str(settings), 0)
    assert settings.read_bytes() == before


def test_install_gemini_and_codex(tmp_path):
    path, added = install("gemini-cli", "project", str(tmp_path))
    data = json.loads(Path(path).read_text())
    assert path.endswith(".gemini/settings.json") and added == 3
    assert data["hooks"]["BeforeTool"] == [{"matcher": ".*", "hooks": [
        {"type": "command", "command": "keyscan hook gemini-cli", "name": "keyscan"}]}]
    assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
    path, added = install("codex", "project", str(tmp_path))
    assert path.endswith(".codex/hooks.json") and added == 3
    assert json.loads(Path(path).read_text())["hooks"]["PostToolUse"] == [
        {"hooks": [{"type": "command", "command": "keyscan hook codex"}]}]


def test_install_cursor_merges_and_is_idempotent(tmp_path):
    hooks_file = tmp_path / ".cursor" / "hooks.json"
    hooks_file.parent.mkdir()
    existing = {"version": 1, "hooks": {"beforeShellExecution": [{"command": "./hooks/audit.sh"}],
                                        "afterFileEdit": [{"command": "./hooks/format.sh"}]}}
    hooks_file.write_text(json.dumps(existing))
    os.chmod(hooks_file, 0o640)
    path, added = install("cursor", "project", str(tmp_path))
    assert path == str(hooks_file) and added == 4
    data = json.loads(hooks_file.read_text())
    ours = {"command": "keyscan hook cursor", "failClosed": True}
    assert data == {"version": 1, "hooks": {
        "beforeShellExecution": [{"command": "./hooks/audit.sh"}, ours],
        "afterFileEdit": [{"command": "./hooks/format.sh"}],
        "beforeSubmitPrompt": [ours], "beforeMCPExecution": [ours], "beforeReadFile": [ours]}}
    assert stat.S_IMODE(hooks_file.stat().st_mode) == 0o640
    before = hooks_file.read_bytes()
    assert install("cursor", "project", str(tmp_path)) == (str(hooks_file), 0)
    assert hooks_file.read_bytes() == before


def test_install_cursor_adds_fail_closed_to_an_entry_written_by_hand(tmp_path):
    """A keyscan entry without failClosed lets Cursor run the action when the
    hook fails: install adds the flag (an explicit false is left alone)."""
    hooks_file = tmp_path / ".cursor" / "hooks.json"
    hooks_file.parent.mkdir()
    hooks_file.write_text(json.dumps({"version": 1, "hooks": {
        "beforeReadFile": [{"command": "keyscan hook cursor"}],
        "beforeShellExecution": [{"command": "keyscan hook cursor", "failClosed": False}]}}))
    assert install("cursor", "project", str(tmp_path)) == (str(hooks_file), 3)
    hooks = json.loads(hooks_file.read_text())["hooks"]
    assert hooks["beforeReadFile"] == [{"command": "keyscan hook cursor", "failClosed": True}]
    assert hooks["beforeShellExecution"] == [{"command": "keyscan hook cursor", "failClosed": False}]
    assert install("cursor", "project", str(tmp_path)) == (str(hooks_file), 0)


def test_install_cursor_new_file_and_user_scope(tmp_path, monkeypatch):
    path, added = install("cursor", "project", str(tmp_path))
    assert path == str(tmp_path / ".cursor" / "hooks.json") and added == 4
    data = json.loads(Path(path).read_text())
    assert list(data) == ["version", "hooks"] and data["version"] == 1
    assert data["hooks"]["beforeReadFile"] == [{"command": "keyscan hook cursor", "failClosed": True}]
    assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", "")  # keyscan not on PATH: the bare name is written
    path, added = install("cursor", "user", str(tmp_path))
    assert path == str(tmp_path / "home" / ".cursor" / "hooks.json") and added == 4


@pytest.mark.parametrize("text", ["{ not json", "[]", '{"version": 1, "hooks": []}',
                                  '{"version": 2, "hooks": {}}',
                                  '{"version": 1, "hooks": {"beforeReadFile": {"command": "x"}}}'])
def test_install_cursor_refuses_a_file_it_cannot_merge_into(tmp_path, text):
    hooks_file = tmp_path / ".cursor" / "hooks.json"
    hooks_file.parent.mkdir()
    hooks_file.write_text(text)
    with pytest.raises(UsageError, match="hooks.json"):
        install("cursor", "project", str(tmp_path))
    assert hooks_file.read_text() == text


def test_install_refuses_broken_settings(tmp_path):
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text("{ not json")
    with pytest.raises(UsageError):
        install("claude-code", "project", str(tmp_path))
    assert settings.read_text() == "{ not json"
    with pytest.raises(ValueError):
        merge_hooks({"hooks": []}, "claude-code", "keyscan hook claude-code")


# -- command line ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["claude-code.PreToolUse.Bash.json", "gemini-cli.AfterTool.json",
                                  "codex.UserPromptSubmit.json", "cursor.beforeReadFile.json"])
def test_cli_hook(name):
    from conftest import run_keyscan

    agent = _agent(name)
    proc = run_keyscan("hook", agent, input=payload(name).decode())
    assert proc.returncode == 0 and proc.stdout.startswith("{")
    assert json.loads(proc.stdout)
    for value in KEYS.values():
        assert value not in proc.stdout + proc.stderr
    clean = run_keyscan("hook", agent, input=payload(name, secrets=False).decode())
    assert clean.returncode == 0 and clean.stdout == _allowed(agent, json.loads(payload(name))["hook_event_name"])
    broken = run_keyscan("hook", agent, input="{")
    assert broken.returncode == 2 and broken.stdout == "" and "blocked to be safe" in broken.stderr


def test_cli_init_hooks(tmp_path):
    from conftest import run_keyscan

    proc = run_keyscan("init", str(tmp_path), "--hooks", "claude-code", "--hooks", "codex")
    assert proc.returncode == 0, proc.stderr
    assert "installed the keyscan claude-code hook" in proc.stderr
    assert not (tmp_path / ".keyscan.toml").exists()
    assert json.loads((tmp_path / ".codex" / "hooks.json").read_text())["hooks"]["UserPromptSubmit"]
    again = run_keyscan("init", str(tmp_path), "--hooks", "claude-code")
    assert again.returncode == 0 and "already has the keyscan claude-code hook" in again.stderr
    assert run_keyscan("init", str(tmp_path), "--user").returncode == 2
    proc = run_keyscan("init", str(tmp_path), "--hooks", "cursor")
    assert proc.returncode == 0 and "installed the keyscan cursor hook in" in proc.stderr
    assert json.loads((tmp_path / ".cursor" / "hooks.json").read_text())["hooks"]["beforeReadFile"] == [
        {"command": "keyscan hook cursor", "failClosed": True}]


def test_cli_help_lists_every_agent():
    from conftest import run_keyscan

    from keyscan.commands import HOOK_AGENTS
    from keyscan.hooks import AGENTS

    assert HOOK_AGENTS == AGENTS
    assert "{claude-code|codex|gemini-cli|cursor}" in run_keyscan("hook", "--help").stdout
    assert "[claude-code|codex|gemini-cli|cursor]" in run_keyscan("init", "--help").stdout
