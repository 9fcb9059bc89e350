"""Where AI tools keep secrets on this machine (``keyscan scan --ai-home``).

:data:`AI_TOOLS` is the table: for each tool, the files and directories it
writes (settings, auth stores, transcripts, chat stores, prompt history,
file snapshots), relative to a *base* directory that the tool or the OS lets
the user move:

========  ==============================================================
home      the home directory
claude    ``$CLAUDE_CONFIG_DIR``, else ``~/.claude``
codex     ``$CODEX_HOME``, else ``~/.codex``
continue  ``$CONTINUE_GLOBAL_DIR``, else ``~/.continue``
gemini    ``~/.gemini``
config    per OS: ``$XDG_CONFIG_HOME`` or ``~/.config`` (Linux),
          ``~/Library/Application Support`` (macOS), ``%APPDATA%`` (Windows)
========  ==============================================================

An entry marked ``sent`` holds what the tool sent to its model provider
(transcripts, chat stores, prompts, snapshots of files the agent read or
edited): a secret found there has left the machine.  The MCP client
configurations come from the single registry, :data:`keyscan.mcp.clients.CLIENTS`
(their ``.config/`` paths follow ``XDG_CONFIG_HOME``).
"""

from __future__ import annotations

import functools
import glob
import os
import re
import sys
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from ..mcp.clients import CLIENTS, normalize_platform


@dataclass(frozen=True)
class Entry:
    base: str
    rel: str
    """Relative to the base; ``*`` globs allowed; a trailing ``/`` names a directory."""
    sent: bool = False
    """Content the tool sent to its model provider."""


@dataclass(frozen=True)
class AiTool:
    id: str
    name: str
    entries: tuple[Entry, ...]


def _code_like(flavour: str, *, chats: bool) -> tuple[Entry, ...]:
    """A VS Code build (or fork): its state databases and chat sessions."""
    user = f"{flavour}/User"
    out = [Entry("config", f"{user}/globalStorage/state.vscdb", sent=chats),
           Entry("config", f"{user}/workspaceStorage/*/state.vscdb", sent=chats),
           Entry("config", f"{user}/settings.json")]
    if chats:
        out += [Entry("config", f"{user}/workspaceStorage/*/chatSessions/", sent=True),
                Entry("config", f"{user}/workspaceStorage/*/chatEditingSessions/", sent=True),
                Entry("config", f"{user}/globalStorage/emptyWindowChatSessions/", sent=True),
                Entry("config", f"{user}/globalStorage/github.copilot-chat/", sent=True)]
    return tuple(out)


AI_TOOLS: tuple[AiTool, ...] = (
    AiTool("claude-code", "Claude Code", (
        Entry("claude", "settings.json"), Entry("claude", "settings.local.json"),
        Entry("claude", ".credentials.json"), Entry("home", ".claude.json"),
        Entry("claude", "projects/", sent=True), Entry("claude", "history.jsonl", sent=True),
        Entry("claude", "file-history/", sent=True), Entry("claude", "todos/", sent=True),
        Entry("claude", "shell-snapshots/"), Entry("claude", "session-env/"))),
    AiTool("codex", "OpenAI Codex", (
        Entry("codex", "auth.json"), Entry("codex", "config.toml"),
        Entry("codex", "sessions/", sent=True), Entry("codex", "archived_sessions/", sent=True),
        Entry("codex", "history.jsonl", sent=True), Entry("codex", "log/"))),
    AiTool("cursor", "Cursor", (Entry("home", ".cursor/mcp.json"), Entry("home", ".cursor/cli-config.json"))
           + _code_like("Cursor", chats=True)),
    AiTool("windsurf", "Windsurf", (Entry("home", ".codeium/windsurf/mcp_config.json"),
                                    Entry("home", ".codeium/windsurf/memories/", sent=True))
           + _code_like("Windsurf", chats=True)),
    AiTool("vscode", "VS Code (Copilot chat)", _code_like("Code", chats=True)
           + _code_like("Code - Insiders", chats=True)),
    AiTool("gemini", "Gemini CLI", (
        Entry("gemini", "settings.json"), Entry("gemini", ".env"), Entry("gemini", "oauth_creds.json"),
        Entry("gemini", "tmp/", sent=True), Entry("gemini", "history/", sent=True))),
    AiTool("continue", "Continue", (
        Entry("continue", "config.yaml"), Entry("continue", "config.json"), Entry("continue", ".env"),
        Entry("continue", "sessions/", sent=True))),
    AiTool("aider", "aider", (
        Entry("home", ".aider.conf.yml"), Entry("home", ".aider.chat.history.md", sent=True),
        Entry("home", ".aider.input.history", sent=True))),
)
"""Per tool, where it keeps secrets (MCP client configurations are added from the MCP registry)."""


@dataclass(frozen=True)
class Location:
    tool: str
    """Tool name as reported (``Claude Code``, ``MCP: Zed``...)."""
    path: str
    sent: bool


def bases(home: str, env: Mapping[str, str], platform: str = sys.platform) -> dict[str, str]:
    plat = normalize_platform(platform)
    if plat == "darwin":
        config = os.path.join(home, "Library", "Application Support")
    elif plat == "win32":
        config = env.get("APPDATA") or os.path.join(home, "AppData", "Roaming")
    else:
        config = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return {
        "home": home,
        "config": config,
        "xdg": env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"),
        "claude": env.get("CLAUDE_CONFIG_DIR") or os.path.join(home, ".claude"),
        "codex": env.get("CODEX_HOME") or os.path.join(home, ".codex"),
        "continue": env.get("CONTINUE_GLOBAL_DIR") or os.path.join(home, ".continue"),
        "gemini": os.path.join(home, ".gemini"),
    }


def _mcp_entries(platform: str) -> list[tuple[str, Entry]]:
    plat = normalize_platform(platform)
    out = []
    for client in CLIENTS:
        for rel in client.user.get(plat, ()):
            if rel.startswith(".config/"):
                out.append((f"MCP: {client.name}", Entry("xdg", rel[len(".config/"):])))
            else:
                out.append((f"MCP: {client.name}", Entry("home", rel)))
    return out


def locate(home: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
           platform: str = sys.platform) -> list[Location]:
    """The AI tool locations that exist on this machine (each path once: the
    first tool that names it, or a directory that holds it, wins)."""
    env = os.environ if env is None else env
    home = home or os.path.expanduser("~")
    roots = bases(home, env, platform)
    wanted: list[tuple[str, Entry]] = [(t.name, e) for t in AI_TOOLS for e in t.entries]
    wanted += _mcp_entries(platform)
    out: list[Location] = []
    seen: set[str] = set()
    dirs: list[str] = []
    for tool, entry in wanted:
        pattern = os.path.join(roots[entry.base], entry.rel.rstrip("/"))
        hits = sorted(glob.glob(glob.escape(roots[entry.base]) + os.sep + entry.rel.rstrip("/"))) \
            if "*" in entry.rel else [pattern]
        for hit in hits:
            if not (os.path.isdir(hit) if entry.rel.endswith("/") else os.path.isfile(hit)):
                continue
            real = os.path.realpath(hit)
            if real in seen or any(real.startswith(d + os.sep) for d in dirs):
                continue
            seen.add(real)
            if entry.rel.endswith("/"):
                dirs.append(real)
            out.append(Location(tool, hit, entry.sent))
    return out


def location_of(path: str, locations: Sequence[Location]) -> Optional[Location]:
    """The location a scanned path (a file, an archive member, a cell) belongs to."""
    best: Optional[Location] = None
    for loc in locations:
        if path == loc.path or path.startswith(loc.path.rstrip(os.sep) + os.sep) or \
                path.startswith(loc.path + "!"):
            if best is None or len(loc.path) > len(best.path):
                best = loc
    return best


# --------------------------------------------------------------------------
# Findings sent to a model provider

_BASE_DIRS = {"claude": ".claude/", "codex": ".codex/", "continue": ".continue/", "gemini": ".gemini/",
              "home": "", "config": "", "xdg": ""}
_CHAT_KEYS = ("bubbleid:", "composerdata:", "aiservice.", "chat")
"""Keys of chat rows in a VS Code-style ``state.vscdb`` (the rest is settings and auth)."""


def _sent_patterns() -> tuple[str, ...]:
    return tuple(_BASE_DIRS[e.base] + e.rel for t in AI_TOOLS for e in t.entries if e.sent)


@functools.lru_cache(maxsize=None)
def _sent_rx() -> "tuple[re.Pattern[str], re.Pattern[str]]":
    """The table's sent-to-a-model locations, compiled on first use."""
    from .carriers import compile_patterns

    return compile_patterns(_sent_patterns())


def sent_by_path(path: str) -> bool:
    """Whether ``path`` (any scan) is a transcript, chat store or prompt history
    of an AI tool, by the same table (default locations)."""
    low = path.replace("\\", "/").split("!", 1)[0].lower()
    file_rx, dir_rx = _sent_rx()
    return bool(file_rx.search(low) or dir_rx.search(low))


def _is_chat(path: str, location: Optional[str]) -> bool:
    if not path.split("!", 1)[0].lower().endswith(".vscdb"):
        return True
    loc = (location or "").lower()
    return any(k in loc for k in _CHAT_KEYS)


def mark(findings, locations: Sequence[Location] = ()):
    """Findings with ``sent_to_model`` (and, for an AI-home scan, ``ai_tool``)
    properties where they apply; the others unchanged."""
    import dataclasses

    out = []
    for f in findings:
        loc = location_of(f.path, locations) if locations else None
        prov = f.provenance
        if loc is not None:
            prov = dataclasses.replace(prov, ai_tool=loc.tool)
        sent = (loc.sent if loc is not None else sent_by_path(f.path)) and _is_chat(f.path, f.location)
        if sent:
            prov = dataclasses.replace(prov, sent_to_model=loc.tool if loc is not None else "yes")
        out.append(dataclasses.replace(f, provenance=prov) if prov is not f.provenance else f)
    return out
