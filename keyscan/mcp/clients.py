"""Where every MCP client keeps its configuration.

A data table (:data:`CLIENTS`) of the files each client reads, with the
top-level key that holds its server map, the file format, the project-relative
patterns (files normally committed to a repository) and the per-user locations
for each OS (relative to the home directory; ``*`` globs allowed).

:func:`is_mcp_config` recognises a path (any OS separator) and returns the
:class:`Client` entry, or ``None``.  It is called for every scanned file, so it
only looks at the last few path components through a dict lookup.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Optional

# Per-OS roots relative to the home directory.
_MAC_APP = "Library/Application Support"
_WIN_APP = "AppData/Roaming"
_LINUX_CFG = ".config"

# VS Code and its forks: where globalStorage of an extension lives.
_CODE_FLAVOURS = ("Code", "Code - Insiders", "VSCodium", "Cursor", "Windsurf")


def _code_user_dirs() -> dict[str, tuple[str, ...]]:
    return {
        "linux": tuple(f"{_LINUX_CFG}/{f}/User" for f in _CODE_FLAVOURS)
        + (".vscode-server/data/User",),
        "darwin": tuple(f"{_MAC_APP}/{f}/User" for f in _CODE_FLAVOURS),
        "win32": tuple(f"{_WIN_APP}/{f}/User" for f in _CODE_FLAVOURS),
    }


def _under(dirs: dict[str, tuple[str, ...]], rel: str) -> dict[str, tuple[str, ...]]:
    return {os_: tuple(f"{d}/{rel}" for d in ds) for os_, ds in dirs.items()}


def _same(*paths: str) -> dict[str, tuple[str, ...]]:
    return {"linux": paths, "darwin": paths, "win32": paths}


@dataclass(frozen=True)
class Client:
    """One MCP client configuration file kind."""

    id: str
    name: str
    servers_key: str
    """Dotted path of the server map (``mcpServers``, ``servers``, ``mcp_servers``,
    ``context_servers``, ``extensions``, ``mcp``; ``env`` for Claude Code settings;
    empty for Goose ``secrets.yaml``)."""
    format: str  # json | jsonc | toml | yaml
    patterns: tuple[str, ...]
    """Path suffix patterns (``/`` separated, ``*`` allowed inside a component)
    that identify the file wherever it is."""
    project: tuple[str, ...] = ()
    """Project-relative files (globs allowed)."""
    user: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per-OS (``linux``, ``darwin``, ``win32``) home-relative files (globs allowed)."""
    list_servers: bool = False
    """The server map is a YAML/JSON list of entries carrying ``name`` (Continue)."""
    scope: str = "user"
    """``project`` when the file is normally committed, ``user`` otherwise."""


CLIENTS: tuple[Client, ...] = (
    Client("claude-desktop", "Claude Desktop", "mcpServers", "json",
           ("Claude/claude_desktop_config.json", "claude_desktop_config.json"),
           user={"darwin": (f"{_MAC_APP}/Claude/claude_desktop_config.json",),
                 "win32": (f"{_WIN_APP}/Claude/claude_desktop_config.json",),
                 "linux": (f"{_LINUX_CFG}/Claude/claude_desktop_config.json",)}),
    Client("claude-code", "Claude Code (project)", "mcpServers", "json",
           (".mcp.json", "managed-mcp.json"), project=(".mcp.json",), scope="project"),
    Client("claude-code-user", "Claude Code (user / local)", "mcpServers", "json",
           (".claude.json",), user=_same(".claude.json")),
    Client("claude-code-settings", "Claude Code settings", "env", "json",
           (".claude/settings.json", ".claude/settings.local.json"),
           project=(".claude/settings.json", ".claude/settings.local.json"),
           user=_same(".claude/settings.json"), scope="project"),
    Client("cursor", "Cursor", "mcpServers", "json", (".cursor/mcp.json",),
           project=(".cursor/mcp.json",), user=_same(".cursor/mcp.json"), scope="project"),
    Client("vscode", "VS Code", "servers", "jsonc",
           (".vscode/mcp.json", "User/mcp.json", "profiles/*/mcp.json"),
           project=(".vscode/mcp.json",),
           user=_under(_code_user_dirs(), "mcp.json"), scope="project"),
    Client("vscode-settings", "VS Code settings (mcp.servers)", "mcp.servers", "jsonc",
           (".vscode/settings.json", "Code/User/settings.json",
            "Code - Insiders/User/settings.json"),
           project=(".vscode/settings.json",),
           user=_under({k: v[:2] for k, v in _code_user_dirs().items()}, "settings.json"),
           scope="project"),
    Client("windsurf", "Windsurf", "mcpServers", "json",
           (".codeium/windsurf/mcp_config.json", ".codeium/mcp_config.json"),
           user=_same(".codeium/windsurf/mcp_config.json", ".codeium/mcp_config.json")),
    Client("cline", "Cline", "mcpServers", "json",
           ("saoudrizwan.claude-dev/settings/cline_mcp_settings.json",),
           user=_under(_code_user_dirs(),
                       "globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json")),
    Client("roo", "Roo Code", "mcpServers", "json",
           ("rooveterinaryinc.roo-cline/settings/mcp_settings.json", ".roo/mcp.json"),
           project=(".roo/mcp.json",),
           user=_under(_code_user_dirs(),
                       "globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json"),
           scope="project"),
    Client("zed", "Zed", "context_servers", "jsonc",
           ("zed/settings.json", ".zed/settings.json"), project=(".zed/settings.json",),
           user={"linux": (f"{_LINUX_CFG}/zed/settings.json",),
                 "darwin": (f"{_LINUX_CFG}/zed/settings.json",),
                 "win32": ("AppData/Roaming/Zed/settings.json",)}, scope="project"),
    Client("codex", "OpenAI Codex", "mcp_servers", "toml", (".codex/config.toml",),
           project=(".codex/config.toml",), user=_same(".codex/config.toml"), scope="project"),
    Client("goose", "Goose", "extensions", "yaml",
           ("goose/config.yaml", "goose/config/config.yaml"),
           user={"linux": (f"{_LINUX_CFG}/goose/config.yaml",),
                 "darwin": (f"{_LINUX_CFG}/goose/config.yaml",),
                 "win32": (f"{_WIN_APP}/Block/goose/config/config.yaml",)}),
    Client("goose-secrets", "Goose secrets", "", "yaml",
           ("goose/secrets.yaml", "goose/config/secrets.yaml"),
           user={"linux": (f"{_LINUX_CFG}/goose/secrets.yaml",),
                 "darwin": (f"{_LINUX_CFG}/goose/secrets.yaml",),
                 "win32": (f"{_WIN_APP}/Block/goose/config/secrets.yaml",)}),
    Client("gemini", "Gemini CLI", "mcpServers", "json",
           (".gemini/settings.json", "gemini-cli/settings.json"),
           project=(".gemini/settings.json",), user=_same(".gemini/settings.json"),
           scope="project"),
    Client("continue", "Continue", "mcpServers", "yaml",
           (".continue/config.yaml", ".continue/config.json"),
           user=_same(".continue/config.yaml", ".continue/config.json"), list_servers=True),
    Client("continue-block", "Continue (workspace MCP block)", "mcpServers", "yaml",
           (".continue/mcpServers/*.yaml", ".continue/mcpServers/*.yml",
            ".continue/mcpServers/*.json"),
           project=(".continue/mcpServers/*.yaml", ".continue/mcpServers/*.yml",
                    ".continue/mcpServers/*.json"),
           list_servers=True, scope="project"),
    Client("amazonq", "Amazon Q Developer", "mcpServers", "json",
           (".aws/amazonq/mcp.json", ".amazonq/mcp.json", "amazonq/cli-agents/*.json",
            "amazonq/agents/*.json"),
           project=(".amazonq/mcp.json",),
           user=_same(".aws/amazonq/mcp.json", ".aws/amazonq/cli-agents/*.json",
                      ".aws/amazonq/agents/*.json"), scope="project"),
    Client("kiro", "Kiro", "mcpServers", "json", (".kiro/settings/mcp.json",),
           project=(".kiro/settings/mcp.json",), user=_same(".kiro/settings/mcp.json"),
           scope="project"),
    Client("junie", "JetBrains Junie", "mcpServers", "json", (".junie/mcp/mcp.json",),
           project=(".junie/mcp/mcp.json",), user=_same(".junie/mcp/mcp.json"),
           scope="project"),
    Client("opencode", "opencode", "mcp", "jsonc", ("opencode.json", "opencode.jsonc"),
           project=("opencode.json", "opencode.jsonc"),
           user=_same(f"{_LINUX_CFG}/opencode/opencode.json",
                      f"{_LINUX_CFG}/opencode/opencode.jsonc"), scope="project"),
    Client("tabnine", "Tabnine", "mcpServers", "json", (".tabnine/mcp_servers.json",),
           project=(".tabnine/mcp_servers.json",), user=_same(".tabnine/mcp_servers.json"),
           scope="project"),
    Client("lmstudio", "LM Studio", "mcpServers", "json", (".lmstudio/mcp.json",),
           user=_same(".lmstudio/mcp.json")),
)

CLIENTS_BY_ID: dict[str, Client] = {c.id: c for c in CLIENTS}

# Lookup tables: exact file name -> [(pattern parts, client)], and for patterns
# whose file name is a glob: parent directory name -> [(pattern parts, client)].
_BY_NAME: dict[str, list[tuple[tuple[str, ...], Client]]] = {}
_BY_PARENT: dict[str, list[tuple[tuple[str, ...], Client]]] = {}
for _c in CLIENTS:
    for _p in _c.patterns:
        _parts = tuple(_p.lower().split("/"))
        if "*" in _parts[-1]:
            _BY_PARENT.setdefault(_parts[-2], []).append((_parts, _c))
        else:
            _BY_NAME.setdefault(_parts[-1], []).append((_parts, _c))
# Longer (more specific) patterns first.
for _table in (_BY_NAME, _BY_PARENT):
    for _lst in _table.values():
        _lst.sort(key=lambda pc: -len(pc[0]))


def _match(parts: list[str], pat: tuple[str, ...]) -> bool:
    if len(parts) < len(pat):
        return False
    tail = parts[len(parts) - len(pat):]
    for have, want in zip(tail, pat):
        if "*" in want:
            if not fnmatch.fnmatchcase(have, want):
                return False
        elif have != want:
            return False
    return True


def is_mcp_config(path: str) -> Optional[Client]:
    """The :class:`Client` whose configuration file ``path`` is, or ``None``."""
    p = path.replace("\\", "/").lower()
    parts = p.rsplit("/", 5)
    name = parts[-1]
    cands = _BY_NAME.get(name)
    if cands:
        for pat, client in cands:
            if _match(parts, pat):
                return client
    if len(parts) >= 2:
        cands = _BY_PARENT.get(parts[-2])
        if cands:
            for pat, client in cands:
                if _match(parts, pat):
                    return client
    return None


PLATFORMS = ("linux", "darwin", "win32")


def normalize_platform(platform: str) -> str:
    if platform.startswith("win") or platform.startswith("cygwin"):
        return "win32"
    if platform.startswith("darwin"):
        return "darwin"
    return "linux"


GENERIC_MCP = Client("generic", "MCP config (recognised by content)", "mcpServers", "json", ())
"""For ``.json`` files that no path pattern names but whose start holds ``"mcpServers"``
(plugin ``.mcp.json`` copies, ``mcp-config.json`` files in docs and examples)."""


def client_for(path: str, head: bytes = b"") -> Optional[Client]:
    """:func:`is_mcp_config`, falling back to a content sniff of ``.json`` files."""
    client = is_mcp_config(path)
    if client is None and head and path.lower().endswith((".json", ".jsonc")) \
            and b'"mcpServers"' in head[:8192]:
        return GENERIC_MCP
    return client
