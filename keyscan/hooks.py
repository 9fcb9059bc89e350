"""Agent hooks: keep keys out of prompts, tool calls and transcripts.

``keyscan hook AGENT`` reads one hook event (JSON) from standard input, scans
the text the event carries in process (the prompt, the tool input, the tool
result: nothing else is read, nothing is sent anywhere) and answers in the
agent's hook protocol:

================  ======================  =====================  ==========================
agent             prompt                  tool call              tool result
================  ======================  =====================  ==========================
claude-code       UserPromptSubmit:       PreToolUse:            PostToolUse:
                  ``decision: block``     ``permissionDecision:  ``decision: block`` + reason
                                          deny``                 (the agent is told the key
                                                                 must not be repeated)
codex             same as claude-code (Codex's hook protocol is the same wire format)
gemini-cli        BeforeAgent:            BeforeTool:            AfterTool: ``decision: deny``
                  ``decision: deny``      ``decision: deny``     (the result is replaced by
                                                                 the reason: hidden from the
                                                                 model)
cursor            beforeSubmitPrompt:     beforeShellExecution,  not handled (Cursor's
                  ``continue: false``     beforeMCPExecution,    after-hooks cannot block)
                                          beforeReadFile (a
                                          file read):
                                          ``permission: deny``
================  ======================  =====================  ==========================

A reply names the rule and where the secret is (``tool_input.command line
2``), never the secret.  Findings of low confidence do not block.  The user's
own prompt honours an inline ``keyscan:allow``; text written by the model or
a tool never does.

Fail closed: malformed input or any error of keyscan itself exits 2 with a
one-line reason on standard error, which every one of these protocols treats
as "block" (a crash never becomes "allow").  Cursor runs a failing hook's
action unless the hook entry says ``failClosed: true``, which ``keyscan init
--hooks cursor`` writes; with it an empty reply is a failure, so keyscan's
"allow" to Cursor is explicit JSON.

The scan uses the built-in rules only: a repository's configuration is not
read (it could switch rules off), so the hook behaves the same everywhere.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence

AGENTS = ("claude-code", "codex", "gemini-cli", "cursor")

# event name -> (kind, the field holding what the event carries).  Kinds:
# ``prompt`` (the user's own text), ``pre`` (a tool call's input), ``post`` (a
# tool's result) and ``read`` (a file's content about to reach the model).
_EVENTS = {
    "claude-code": {"UserPromptSubmit": ("prompt", "prompt"), "PreToolUse": ("pre", "tool_input"),
                    "PostToolUse": ("post", "tool_response")},
    "codex": {"UserPromptSubmit": ("prompt", "prompt"), "PreToolUse": ("pre", "tool_input"),
              "PostToolUse": ("post", "tool_response")},
    "gemini-cli": {"BeforeAgent": ("prompt", "prompt"), "BeforeTool": ("pre", "tool_input"),
                   "AfterTool": ("post", "tool_response")},
    # Cursor's after-hooks (afterShellExecution, afterMCPExecution, ...) cannot block: not handled
    "cursor": {"beforeSubmitPrompt": ("prompt", "prompt"), "beforeShellExecution": ("pre", "command"),
               "beforeMCPExecution": ("pre", "tool_input"), "beforeReadFile": ("read", "content")},
}
_TEXT_FIELDS = ("prompt", "command", "content")  # must be a string: without it there is nothing to check
_CONTENT_KEYS = ("content", "new_string", "new_source")  # a file's content: scanned under the file's name
MAX_TEXT = 4 * 1024 * 1024  # per event; a larger event is scanned in full all the same (one document per string)
EXIT_BLOCK = 2


@dataclass(frozen=True)
class HookReply:
    exit_code: int
    stdout: str = ""
    stderr: str = ""


@dataclass(frozen=True)
class Hit:
    rule_id: str
    rule_name: str
    where: str


# --------------------------------------------------------------------------
# What an event carries


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Optional[str], str]]:
    """(json path, key, string) for every string in a JSON value."""
    stack: list[tuple[Any, str, Optional[str]]] = [(value, path, None)]
    while stack:
        v, p, k = stack.pop()
        if isinstance(v, str):
            yield p, k, v
        elif isinstance(v, dict):
            for key, item in reversed(list(v.items())):
                stack.append((item, f"{p}.{key}" if isinstance(key, str) and key.isidentifier() else
                              f"{p}[{json.dumps(key)}]", str(key)))
        elif isinstance(v, list):
            for i in range(len(v) - 1, -1, -1):
                stack.append((v[i], f"{p}[{i}]", k))


def event_texts(agent: str, event: dict) -> tuple[Optional[str], list[tuple[str, Optional[str], str, str]]]:
    """The event's kind (``prompt``, ``pre``, ``post``, ``read`` or None) and
    its texts as (where, key, text, document name)."""
    name = event.get("hook_event_name")
    kind, field = _EVENTS[agent].get(name, (None, "")) if isinstance(name, str) else (None, "")
    if kind is None:
        return None, []
    value = event.get(field)
    if field in _TEXT_FIELDS and not isinstance(value, str):
        raise ValueError(f"the event has no {field}")
    if field == "tool_input" and isinstance(value, str):
        # Cursor's MCP events give the tool's arguments as JSON text (some versions an object)
        try:
            value = json.loads(value)
        except ValueError:
            pass  # not JSON: scanned as the text it is
    tool_input = event.get("tool_input")
    file_path = tool_input.get("file_path") if isinstance(tool_input, dict) else event.get("file_path")
    texts = []
    for where, key, text in _leaves(value, field):
        # a file's content keeps the file's name, so its decoders apply (.ipynb, .jsonl...)
        doc = file_path if isinstance(file_path, str) and (key or field) in _CONTENT_KEYS else where
        texts.append((where, key, text, doc))
    return kind, texts


# --------------------------------------------------------------------------
# Scanning


@dataclass(frozen=True)
class Match:
    rule_id: str
    rule_name: str
    low_confidence: bool
    secret: str = field(repr=False)
    """Kept in memory only, to report each secret once; never printed."""
    line: int = 1
    line_text: str = field(default="", repr=False)


_NEEDS_DECODERS = re.compile(
    r"\\[\\\"/bfnrtu]"                          # JSON escapes
    r"|%[0-9A-Fa-f]{2}"                             # URL encoding
    r"|\x1b"                                       # ANSI codes
    r"|[A-Za-z0-9_-]{2,}\.ipynb|\.jsonl?\b"          # notebooks, JSON(L) documents
    r"|[A-Za-z0-9+/]{16,}(?:[+/][A-Za-z0-9+/]*)?={1,2}"  # padded base64
    r"|[A-Za-z0-9]{8,}[+/][A-Za-z0-9+/]{8,}"          # base64 with + or /
)


class PartialScan(Exception):
    """Part of an event's text could not be scanned: the hook blocks."""


class Scanner:
    """Scans event text in process with the built-in rules.

    Plain text (a prompt, a command) goes through the rule engine alone; text
    that needs a decoder (JSON escapes, base64, URL encoding, ANSI codes,
    notebook or JSONL content) goes through the full pipeline, imported only
    then: most events never pay for the decoders' start-up."""

    def __init__(self) -> None:
        self.engine = _engine()

    def __call__(self, doc: str, text: str) -> list[Match]:
        if _NEEDS_DECODERS.search(text) or doc.endswith((".ipynb", ".json", ".jsonl")):
            return self._pipeline(doc, text)
        return self._raw(text)

    def _raw(self, text: str) -> list[Match]:
        data = text.encode("utf-8", "surrogatepass")
        out = []
        timeouts: set[str] = set()
        matches = self.engine.scan(data, text, "surrogatepass", timeouts=timeouts)
        if timeouts:  # a rule that ran out of time did not look at all of it: not a clean answer
            raise PartialScan(f"rule {sorted(timeouts)[0]} ran out of time")
        for m in matches:
            line = text.count("\n", 0, m.start) + 1
            ls = text.rfind("\n", 0, m.start) + 1
            le = text.find("\n", m.start)
            out.append(Match(m.rule.id, m.rule.name, m.confidence.value == "low", m.secret,
                             line, text[ls:le if le >= 0 else len(text)]))
        return out

    def _pipeline(self, doc: str, text: str) -> list[Match]:
        # the pipeline's one-document entry (what api.scan_bytes re-exports), without
        # importing the runner and sources: the hook answers within its start-up budget
        from .pipeline import scan_bytes

        failures: list[str] = []
        # strict: a decoder that fails raises, and the hook fails closed
        found = scan_bytes(self.engine, doc, text.encode("utf-8", "surrogatepass"), strict=True, failures=failures)
        if failures:  # a rule out of time or a decoder limit: part of the text was not looked at
            raise PartialScan(failures[0].split(" (", 1)[0])
        return [Match(f.rule_id, f.rule_name, f.confidence.value == "low", f.secret, f.start_line,
                      f.line_text) for f in found]


def _engine():
    """The built-in rules' engine, from keyscan's cache (its own entry: no
    decoder triggers, so loading it does not import the decoders)."""
    from . import cache
    from .detect.engine import Engine
    from .ruleset.loader import builtin_rules_dir, rule_files

    key = cache.cache_key(rule_files([builtin_rules_dir()]), "auto", "hook-engine")
    engine = cache.load(key)
    if isinstance(engine, Engine):
        return engine
    from .ruleset import load_rules

    engine = Engine(load_rules(()), "auto")
    cache.store(key, engine)
    return engine


def find_secrets(kind: str, texts: Sequence[tuple[str, Optional[str], str, str]],
                 scan: Optional[Callable[[str, str], list]] = None) -> list[Hit]:
    scan = scan or Scanner()
    hits: list[Hit] = []
    seen: set[tuple[str, str]] = set()
    for where, key, text, doc in texts:
        found = list(scan(doc, text))
        if key and "\n" not in text and len(text) < 4096:
            # the key gives the generic (name + value) rules their context
            found += [m for m in scan(doc, f"{key}={text}") if m.line == 1]
        for m in found:
            if m.low_confidence or (m.rule_id, m.secret) in seen:
                continue
            if kind == "prompt" and _inline_allow(m.line_text):
                continue
            seen.add((m.rule_id, m.secret))
            at = f"{where} line {m.line}" if "\n" in text else where
            hits.append(Hit(m.rule_id, m.rule_name, at))
    return hits


def _inline_allow(line: str) -> bool:
    from .suppress import has_inline_allow

    return has_inline_allow(line)


# --------------------------------------------------------------------------
# Replies


def _describe(hits: Sequence[Hit]) -> str:
    shown = [f"{h.rule_name} ({h.rule_id}) in {h.where}" for h in hits[:5]]
    more = f" and {len(hits) - 5} more" if len(hits) > 5 else ""
    return "; ".join(shown) + more


def _reply(agent: str, kind: str, hits: Sequence[Hit]) -> HookReply:
    what = _describe(hits)
    if kind == "prompt":
        reason = (f"keyscan blocked this prompt: it holds a secret: {what}. Remove the key (keep it in an "
                  "environment variable or a secrets manager) and send the prompt again; if it was a real key, "
                  "rotate it.")
    elif kind == "pre":
        reason = (f"keyscan blocked this tool call: its input holds a secret: {what}. Do not put keys in tool "
                  "calls, commands or files; refer to an environment variable instead.")
    elif kind == "read":
        reason = (f"keyscan blocked reading this file: it holds a secret: {what}. Do not read files that hold "
                  "keys; refer to the key by its environment variable's name. If it was a real key, rotate it "
                  "and keep it out of the project.")
    else:
        reason = (f"keyscan: this tool result holds a secret: {what}. Do not repeat, copy, echo or write this key "
                  "anywhere (messages, files, commands); refer to it by name only.")
    if agent == "gemini-cli":
        if kind == "post":
            reason = "keyscan hid this tool result: it held a secret. " + reason
        return HookReply(0, json.dumps({"decision": "deny", "reason": reason}) + "\n")
    if agent == "cursor":
        if kind == "prompt":
            out: dict = {"continue": False, "user_message": reason}
        else:  # beforeShellExecution, beforeMCPExecution, beforeReadFile
            out = {"permission": "deny", "user_message": reason, "agent_message": reason}
        return HookReply(0, json.dumps(out) + "\n")
    if kind == "prompt":
        out = {"decision": "block", "reason": reason}
    elif kind == "pre":
        out = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                      "permissionDecisionReason": reason}}
    else:
        out = {"decision": "block", "reason": reason,
               "hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": reason}}
    return HookReply(0, json.dumps(out) + "\n")


def _allow(agent: str, kind: Optional[str]) -> HookReply:
    if agent == "cursor":
        # explicit: with failClosed, Cursor takes an empty reply for a failure and blocks
        return HookReply(0, '{"continue": true}\n' if kind == "prompt" else
                         '{"permission": "allow"}\n' if kind in ("pre", "read") else "{}\n")
    return HookReply(0, "{}\n" if agent == "gemini-cli" else "")


def fail_closed(why: str) -> HookReply:
    return HookReply(EXIT_BLOCK, "", f"keyscan hook: {why}; blocked to be safe (nothing was sent anywhere)\n")


def run_hook(agent: str, raw: bytes, scan: Optional[Callable[[str, str], list]] = None) -> HookReply:
    """Answer one hook event (the bytes read from standard input)."""
    if agent not in AGENTS:
        return fail_closed(f"unknown agent {agent!r} (known: {', '.join(AGENTS)})")
    try:
        event = json.loads(raw.decode("utf-8-sig"))  # a leading BOM (Cursor's CLI on Windows) is not the event
    except (UnicodeDecodeError, ValueError):
        return fail_closed("the hook event is not valid JSON")
    if not isinstance(event, dict):
        return fail_closed("the hook event is not a JSON object")
    try:
        kind, texts = event_texts(agent, event)
        if kind is None:
            return _allow(agent, None)  # an event keyscan does not handle
        hits = find_secrets(kind, texts, scan)
    except ValueError as exc:
        return fail_closed(f"malformed {event.get('hook_event_name')} event ({exc})")
    except PartialScan as exc:
        return fail_closed(f"the event could not be scanned completely ({exc})")
    except Exception as exc:  # fail closed: an error of keyscan itself must never allow  # noqa: BLE001
        # only the exception type: its text could quote the event
        return fail_closed(f"internal error ({type(exc).__name__})")
    return _reply(agent, kind, hits) if hits else _allow(agent, kind)


# --------------------------------------------------------------------------
# Installing


_HOOK_EVENTS = {
    "claude-code": (("UserPromptSubmit", None), ("PreToolUse", "*"), ("PostToolUse", "*")),
    "codex": (("UserPromptSubmit", None), ("PreToolUse", None), ("PostToolUse", None)),
    "gemini-cli": (("BeforeAgent", None), ("BeforeTool", ".*"), ("AfterTool", ".*")),
    "cursor": (("beforeSubmitPrompt", None), ("beforeShellExecution", None), ("beforeMCPExecution", None),
               ("beforeReadFile", None)),
}


def settings_path(agent: str, scope: str, project_dir: str = ".") -> str:
    """Where ``keyscan init --hooks AGENT`` writes (scope ``project`` or ``user``)."""
    home = os.path.expanduser("~")
    if agent == "claude-code":
        return os.path.join(project_dir, ".claude", "settings.json") if scope == "project" else \
            os.path.join(home, ".claude", "settings.json")
    if agent == "codex":
        user_dir = os.environ.get("CODEX_HOME") or os.path.join(home, ".codex")
        return os.path.join(project_dir, ".codex", "hooks.json") if scope == "project" else \
            os.path.join(user_dir, "hooks.json")
    if agent == "gemini-cli":
        return os.path.join(project_dir, ".gemini", "settings.json") if scope == "project" else \
            os.path.join(home, ".gemini", "settings.json")
    if agent == "cursor":
        return os.path.join(project_dir, ".cursor", "hooks.json") if scope == "project" else \
            os.path.join(home, ".cursor", "hooks.json")
    raise ValueError(f"unknown agent {agent!r} (known: {', '.join(AGENTS)})")


def hook_command(agent: str, scope: str) -> str:
    """``keyscan hook AGENT``; in user settings, keyscan's absolute path when it is on PATH."""
    import shutil

    exe = shutil.which("keyscan") if scope == "user" else None
    prog = json.dumps(exe) if exe and any(c in exe for c in " '\"") else (exe or "keyscan")
    return f"{prog} hook {agent}"


def merge_hooks(settings: dict, agent: str, command: str) -> tuple[dict, int]:
    """``settings`` with keyscan's hook added to each event (kept once: an
    existing ``keyscan hook AGENT`` entry is left as it is, except that a
    Cursor entry without ``failClosed`` gets it); returns the new settings and
    how many events were added or changed."""
    flat = agent == "cursor"  # Cursor: {"version": 1, "hooks": {event: [{"command": ...}]}}, no groups
    if flat:
        version = settings.setdefault("version", 1)
        if version != 1:
            raise ValueError(f"hooks file version {version!r}: keyscan writes version 1 entries")
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise ValueError("'hooks' in the settings is not an object")
    added = 0
    marker = f"hook {agent}"

    def ours(entries: Any) -> list[dict]:
        return [h for h in entries if isinstance(h, dict) and "keyscan" in str(h.get("command", ""))
                and marker in str(h.get("command", ""))] if isinstance(entries, list) else []

    for event, matcher in _HOOK_EVENTS[agent]:
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise ValueError(f"'hooks.{event}' in the settings is not a list")
        if flat:
            present = ours(groups)
            # Cursor lets the action through when a hook fails, unless the entry says otherwise
            # (an explicit "failClosed": false is the user's choice and stays)
            unset = [h for h in present if "failClosed" not in h]
            for h in unset:
                h["failClosed"] = True
            if present:
                added += bool(unset)
                continue
            groups.append({"command": command, "failClosed": True})
        else:
            if any(isinstance(g, dict) and ours(g.get("hooks")) for g in groups):
                continue
            entry: dict = {"type": "command", "command": command}
            if agent == "gemini-cli":
                entry["name"] = "keyscan"
            group: dict = {"hooks": [entry]}
            if matcher is not None:
                group = {"matcher": matcher, **group}
            groups.append(group)
        added += 1
    return settings, added


def install(agent: str, scope: str = "project", project_dir: str = ".") -> tuple[str, int]:
    """Add keyscan's hook to the agent's project or user settings, merging with
    what is there (atomically; the file's mode is kept, a new file is 0600).
    Returns the path and how many events were added (0: already installed)."""
    from .errors import UsageError

    if agent not in AGENTS:
        raise UsageError(f"--hooks: unknown agent {agent!r} (known: {', '.join(AGENTS)})")
    path = settings_path(agent, scope, project_dir)
    settings: dict = {}
    mode = 0o600
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            settings = json.loads(text) if text.strip() else {}
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: cannot merge into it ({type(exc).__name__}); fix or move it first") from None
        if not isinstance(settings, dict):
            raise UsageError(f"{path}: not a JSON object; fix or move it first")
        mode = stat.S_IMODE(os.stat(path).st_mode)
    try:
        settings, added = merge_hooks(settings, agent, hook_command(agent, scope))
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None
    if added:
        from .output import write_atomic

        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        text = json.dumps(settings, indent=2, ensure_ascii=False) + "\n"
        write_atomic(path, text.encode("utf-8"), mode)
    return path, added


def main(agent: str, stdin=None, stdout=None, stderr=None) -> int:
    """Entry point of ``keyscan hook AGENT``: never raises, never allows on error."""
    import sys

    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        raw = stdin.read()
        reply = run_hook(agent, raw)
    except BaseException as exc:  # noqa: BLE001  fail closed, including Ctrl-C and MemoryError
        reply = fail_closed(f"internal error ({type(exc).__name__})")
    if reply.stdout:
        stdout.write(reply.stdout)
        stdout.flush()
    if reply.stderr:
        stderr.write(reply.stderr)
        stderr.flush()
    return reply.exit_code


__all__ = ["AGENTS", "Hit", "HookReply", "event_texts", "fail_closed", "find_secrets", "install", "main",
           "merge_hooks", "run_hook", "settings_path"]
