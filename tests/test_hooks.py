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


@pytest.mark.parametrize("name", ALL)
def test_event_without_secret_is_allowed(name):
    agent = _agent(name)
    reply = run_hook(agent, payload(name, secrets=False))
    assert reply.exit_code == 0 and reply.stderr == ""
    assert reply.stdout == ("{}\n" if agent == "gemini-cli" else "")


@pytest.mark.parametrize("agent", ["claude-code", "codex", "gemini-cli"])
@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]", b"\xff\xfe{}", b'"text"',
                                 b'{"hook_event_name": "UserPromptSubmit"}',
                                 b'{"hook_event_name": "BeforeAgent", "prompt": 42}'])
def test_malformed_input_fails_closed(agent, raw):
    reply = run_hook(agent, raw)
    if agent == "gemini-cli" and b"UserPromptSubmit" in raw or agent != "gemini-cli" and b"BeforeAgent" in raw:
        assert reply.exit_code == 0  # another agent's event name: not one this agent sends, nothing to check
        return
    assert reply.exit_code == 2
    assert reply.stdout == ""
    assert reply.stderr.startswith("keyscan hook: ") and "blocked to be safe" in reply.stderr


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
                                  "codex.UserPromptSubmit.json"])
def test_cli_hook(name):
    from conftest import run_keyscan

    agent = _agent(name)
    proc = run_keyscan("hook", agent, input=payload(name).decode())
    assert proc.returncode == 0 and proc.stdout.startswith("{")
    assert json.loads(proc.stdout)
    for value in KEYS.values():
        assert value not in proc.stdout + proc.stderr
    clean = run_keyscan("hook", agent, input=payload(name, secrets=False).decode())
    assert clean.returncode == 0 and clean.stdout == ("{}\n" if agent == "gemini-cli" else "")
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
