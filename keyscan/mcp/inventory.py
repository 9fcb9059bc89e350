"""``keyscan mcp``: find MCP client configurations and list every server with
its transport and how it authenticates.

* :func:`discover` lists the configuration files of every known client in the
  per-user locations (home directory, per OS) and in a project directory.
* :func:`parse_config` reads one file (JSON with comments and trailing commas,
  TOML, YAML) into :class:`Server` records.
* :func:`inventory_files` scans each file with keyscan's real pipeline
  (:func:`keyscan.api.scan_bytes`) so the inventory's findings are exactly the
  findings of ``keyscan scan`` for that file, and attaches each finding to its
  server through the finding's location.
* :func:`run_mcp_inventory` is what the CLI calls; :func:`render_table` and
  :func:`render_json` print the result.  Secrets are always redacted.

Authentication classes (``Server.auth``, the strongest one wins; all seen are in
``Server.auth_methods``):

``static-key-in-file``  a literal credential in the file (a finding, or a
                        literal value in a credential slot no rule matched)
``secret-manager``      ``op://``, ``op run``, ``doppler run``, ``aws-vault exec``,
                        ``vault``, ``infisical run``, Continue ``${{ secrets.X }}``,
                        Claude Code ``headersHelper``
``input-prompt``        VS Code ``${input:id}`` (prompted, kept in secret storage)
``keychain``            ``${user_config.X}`` (.mcpb), Goose ``env_keys`` (keyring)
``env-reference``       ``${env:X}``, ``${X}``, ``${X:-default}``, ``$X``, ``{env:X}``,
                        ``${file:...}``, Codex ``env_vars`` / ``bearer_token_env_var`` /
                        ``env_http_headers``, ``envFile``, docker ``-e NAME``
``oauth``               a remote server without a static credential (the client
                        runs the MCP OAuth flow), or an explicit ``oauth``/``auth`` block
``none``                a local server that needs no credential
"""

from __future__ import annotations

import glob
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from ..decoders.mcp_decoder import is_reference
from ..detect.filters import is_placeholder
from ..models import Finding
from ..redact import redact
from .clients import CLIENTS, Client, client_for, normalize_platform

try:  # Python >= 3.11
    import tomllib
except ImportError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]

AUTH_ORDER = ("static-key-in-file", "secret-manager", "input-prompt", "keychain",
              "env-reference", "oauth", "none")


@dataclass
class Server:
    client: str
    file: str
    name: str
    transport: str  # stdio | http | sse | ws
    target: str  # command line or URL (redacted)
    auth: str
    auth_methods: tuple[str, ...] = ()
    location: str = ""  # e.g. mcpServers.github
    scope: str = ""  # project | user | local (~/.claude.json projects[...]) | system
    disabled: bool = False
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ConfigFile:
    path: str
    client: str
    client_name: str
    scope: str
    servers: list[Server] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    """Every finding in the file (in servers or elsewhere)."""
    error: Optional[str] = None


@dataclass
class Inventory:
    files: list[ConfigFile] = field(default_factory=list)

    @property
    def servers(self) -> list[Server]:
        return [s for f in self.files for s in f.servers]

    @property
    def findings(self) -> list[Finding]:
        return [x for f in self.files for x in f.findings]


@dataclass(frozen=True)
class ConfigLocation:
    path: Path
    client: Client
    scope: str  # project | user


# --------------------------------------------------------------------------
# Discovery


def discover(project_dir: Optional[Path], home: Optional[Path] = None,
             platform: str = sys.platform, include_home: bool = True) -> list[ConfigLocation]:
    """Configuration files that exist in the project and in the user's home."""
    if home is None:
        home = Path.home()
    plat = normalize_platform(platform)
    found: dict[str, ConfigLocation] = {}

    def add(pattern_root: Path, rel: str, client: Client, scope: str) -> None:
        pattern = str(pattern_root / rel)
        hits = glob.glob(pattern, recursive=False) if "*" in rel else \
            ([pattern] if Path(pattern).is_file() else [])
        for h in sorted(hits):
            p = Path(h)
            if not p.is_file():
                continue
            key = str(p.resolve())
            if key not in found:
                found[key] = ConfigLocation(p, client, scope)

    if project_dir is not None:
        for client in CLIENTS:
            for rel in client.project:
                add(Path(project_dir), rel, client, "project")
    if include_home:
        for client in CLIENTS:
            for rel in client.user.get(plat, ()):
                add(Path(home), rel, client, "user")
    return list(found.values())


# --------------------------------------------------------------------------
# Parsing

_JSONC_COMMENTS = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*[\s\S]*?\*/')
_JSONC_COMMAS = re.compile(r'"(?:[^"\\\n]|\\.)*"|,(\s*[}\]])')


def load_jsonc(text: str) -> Any:
    """JSON with ``//`` and ``/* */`` comments and trailing commas."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return json.loads(text)
    except ValueError:
        pass
    text = _JSONC_COMMENTS.sub(lambda m: m.group() if m.group()[0] == '"' else " ", text)
    text = _JSONC_COMMAS.sub(lambda m: m.group() if m.group()[0] == '"' else m.group(1), text)
    return json.loads(text)


def load_config(text: str, client: Client) -> Any:
    if client.format == "toml":
        return tomllib.loads(text)
    if client.format == "yaml" and not text.lstrip().startswith("{"):
        from .. import safeyaml

        return safeyaml.load(text)
    return load_jsonc(text)


def iter_server_entries(data: Any, client: Client) -> Iterable[tuple[tuple, str, Any]]:
    """``(servers map path, name, entry)`` for every server of a parsed file."""
    from .structure import server_prefixes

    for prefix in server_prefixes(client):
        for base, container in _walk(data, prefix, ()):
            if isinstance(container, dict):
                for name, entry in container.items():
                    yield base, str(name), entry
            elif isinstance(container, list):
                for i, entry in enumerate(container):
                    name = entry.get("name") if isinstance(entry, dict) else None
                    yield base, str(name if name is not None else i), entry


def _walk(data: Any, prefix: tuple, done: tuple) -> Iterable[tuple[tuple, Any]]:
    if not prefix:
        yield done, data
        return
    if not isinstance(data, dict):
        return
    head, rest = prefix[0], prefix[1:]
    if head == "*":
        for k, v in data.items():
            yield from _walk(v, rest, done + (k,))
    elif head in data:
        yield from _walk(data[head], rest, done + (head,))


_TRANSPORTS = {
    "stdio": "stdio", "local": "stdio", "builtin": "stdio", "command": "stdio",
    "platform": "stdio", "inline_python": "stdio", "frontend": "stdio",
    "http": "http", "streamable-http": "http", "streamablehttp": "http",
    "streamable_http": "http", "streamable": "http", "remote": "http", "https": "http",
    "sse": "sse", "ws": "ws", "websocket": "ws",
}


def _url_of(e: dict) -> Optional[str]:
    for k in ("httpUrl", "serverUrl", "url", "uri", "endpoint"):
        v = e.get(k)
        if isinstance(v, str) and v:
            return v
    return None


def transport_of(e: dict, client: Client) -> str:
    t = e.get("type") or e.get("transport")
    if isinstance(t, dict):  # Continue's old {"transport": {"type": ...}}
        t = t.get("type")
    if isinstance(t, str) and t.strip().lower() in _TRANSPORTS:
        return _TRANSPORTS[t.strip().lower()]
    if isinstance(e.get("httpUrl"), str):
        return "http"
    url = _url_of(e)
    if _command_of(e) and not url:
        return "stdio"
    if url:
        low = url.lower()
        if low.startswith(("ws://", "wss://")):
            return "ws"
        if client.id == "gemini" and "url" in e:
            return "sse"
        if low.split("?", 1)[0].rstrip("/").endswith("/sse"):
            return "sse"
        return "http"
    return "stdio"


def _command_of(e: dict) -> list[str]:
    cmd = e.get("command", e.get("cmd"))
    args = e.get("args") or []
    if isinstance(cmd, dict):  # Zed's nested {"command": {"path", "args", "env"}}
        args = cmd.get("args") or args
        cmd = cmd.get("path")
    parts: list[str] = []
    if isinstance(cmd, list):
        parts.extend(str(c) for c in cmd)
    elif isinstance(cmd, str) and cmd:
        parts.append(cmd)
    if isinstance(args, list):
        parts.extend(str(a) for a in args)
    return parts


def _strings(obj: Any, path: tuple = ()) -> Iterable[tuple[tuple, str]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(v, path + (str(k),))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _strings(v, path + (i,))
    elif isinstance(obj, str):
        yield path, obj


_SECRET_MANAGER = re.compile(
    r"op://|\$\{\{\s*secrets\.|(?:^|\s)(?:op\s+run|op\s+read|doppler\s+run|aws-vault\s+exec|"
    r"vault\s+kv\s+get|vault\s+read|infisical\s+run|sops\s+exec-env|chamber\s+exec|"
    r"teller\s+run|bws\s+run)\b")
_ENV_REF = re.compile(r"\$\{env:[^}]+\}|\$\{file:[^}]+\}|\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-[^}]*)?\}"
                      r"|(?:^|[\s=:])\$[A-Za-z_][A-Za-z0-9_]*|\{env:[^}]+\}")
_CRED_NAME = re.compile(r"(?i)(api[_-]?key|token|secret|passw|pwd|credential|auth|bearer|"
                        r"private[_-]?key|access[_-]?key|cookie|session)")
_USERINFO = re.compile(r"://[^/:@\s]*:([^@/\s]+)@")
_PATHY = ("_PATH", "_FILE", "_DIR", "_URL_PATH")


def classify_auth(e: Any, transport: str, has_findings: bool) -> tuple[str, tuple[str, ...], list[str]]:
    """``(auth, all methods seen, notes)`` for one server entry."""
    methods: set[str] = set()
    notes: list[str] = []
    if has_findings:
        methods.add("static-key-in-file")
    if not isinstance(e, dict):
        return ("static-key-in-file" if has_findings else "none"), tuple(sorted(methods)), notes
    command_line = " ".join(_command_of(e))
    if _SECRET_MANAGER.search(command_line):
        methods.add("secret-manager")
    if "headersHelper" in e:
        methods.add("secret-manager")
    for key in ("env_vars", "bearer_token_env_var", "env_http_headers", "envFile"):
        if e.get(key):
            methods.add("env-reference")
    if e.get("env_keys"):
        methods.add("keychain")
    if any(k in e for k in ("oauth", "auth", "authProviderType")) and e.get("auth") is not False:
        methods.add("oauth")
    args = [str(a) for a in (e.get("args") or [])] if isinstance(e.get("args"), list) else []
    for i, a in enumerate(args[:-1]):
        if a in ("-e", "--env") and "=" not in args[i + 1]:
            methods.add("env-reference")  # docker -e NAME: value inherited from env
    literal_slot = False
    for i, a in enumerate(args):
        m = _USERINFO.search(a)
        v = m.group(1) if m else None
        if v is None and a.startswith("-") and _CRED_NAME.search(a.split("=", 1)[0]):
            v = a.split("=", 1)[1] if "=" in a else (args[i + 1] if i + 1 < len(args) else None)
        if v and len(v) >= 6 and not v.startswith("-") and not is_reference(v) \
                and not is_placeholder(v):
            literal_slot = True
    for path, value in _strings(e):
        if "${input:" in value:
            methods.add("input-prompt")
        if "${user_config." in value:
            methods.add("keychain")
        if _SECRET_MANAGER.search(value):
            methods.add("secret-manager")
        if _ENV_REF.search(value):
            methods.add("env-reference")
        elif value.strip() and not is_reference(value) and not is_placeholder(value) \
                and _credential_slot(path, value):
            literal_slot = True
    if literal_slot and not has_findings:
        methods.add("static-key-in-file")
        notes.append("literal value in a credential field that no rule matched")
    if transport in ("http", "sse", "ws") and not methods:
        methods.add("oauth")
        notes.append("no static credential: the client runs MCP OAuth if the server asks")
    if not methods:
        methods.add("none")
    ordered = tuple(m for m in AUTH_ORDER if m in methods)
    return ordered[0], ordered, notes


def _credential_slot(path: tuple, value: str) -> bool:
    """A literal value where a credential goes (env/header named like one)."""
    if len(path) >= 2 and path[-2] in ("env", "envs", "environment", "headers", "http_headers"):
        name = str(path[-1])
        if name.upper().endswith(_PATHY) or value.startswith(("/", "./", "~")):
            return False
        return bool(_CRED_NAME.search(name)) and len(value) >= 8 and " " not in value.strip() \
            or name.lower() == "authorization" and len(value.split()[-1]) >= 8
    return False


def _disabled(e: Any) -> bool:
    if not isinstance(e, dict):
        return False
    return e.get("disabled") is True or e.get("enabled") is False


_MASK = re.compile(r"(?i)((?:key|token|secret|passw\w*|pwd|auth\w*|sig|session)[\w-]*=)([^&\s]+)"
                   r"|(://[^/:@\s]*:)([^@/\s]+)(@)")


def mask(text: str, secrets: Iterable[str]) -> str:
    """Redact known secrets and anything in a credential-looking position."""
    for s in sorted(set(secrets), key=len, reverse=True):
        if s:
            text = text.replace(s, redact(s))

    def sub(m: re.Match) -> str:
        if m.group(1):
            v = m.group(2)
            return m.group(1) + (v if "…(" in v or v.startswith("$") else redact(v))
        return m.group(3) + (m.group(4) if "…(" in m.group(4) else redact(m.group(4))) + m.group(5)

    text = _MASK.sub(sub, text)
    parts = text.split(" ")
    for i in range(1, len(parts)):  # "--api-key VALUE"
        prev = parts[i - 1]
        if prev.startswith("-") and _CRED_NAME.search(prev) and "…(" not in parts[i] \
                and not parts[i].startswith(("$", "-")):
            parts[i] = redact(parts[i])
    return " ".join(parts)


def _location_prefix(base: tuple, name: str) -> str:
    from ..decoders.jsonscan import path_str

    return path_str(base + (name,))


def _in_server(location: Optional[str], prefix: str) -> bool:
    if not location or not location.startswith(prefix):
        return False
    rest = location[len(prefix):]
    return not rest or rest[0] in ".["


def parse_config(path: str, data: bytes, client: Client, scope: str,
                 findings: list[Finding]) -> ConfigFile:
    cf = ConfigFile(path, client.id, client.name, scope, findings=list(findings))
    try:
        parsed = load_config(data.decode("utf-8-sig", "replace"), client)
    except Exception as exc:
        cf.error = f"cannot parse: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        return cf
    secrets = [f.secret for f in findings]
    shown = {f.secret: f.redacted for f in findings if f.secret}

    def scrub(text: str) -> str:  # as finding locations are (keyscan/pipeline.py)
        for s in sorted(shown, key=len, reverse=True):
            text = text.replace(s, shown[s])
        return text

    for base, name, entry in iter_server_entries(parsed, client):
        prefix = scrub(_location_prefix(base, name))
        mine = [f for f in findings if _in_server(f.location, prefix)]
        e = entry if isinstance(entry, dict) else {}
        transport = transport_of(e, client)
        auth, methods, notes = classify_auth(e, transport, bool(mine))
        if transport == "stdio":
            target = " ".join(_command_of(e))
            if not target and str(e.get("type", "")).lower() == "builtin":
                target = f"builtin:{e.get('name') or name}"
        else:
            target = _url_of(e) or ""
        srv_scope = scope
        if base and base[0] == "projects":
            srv_scope = f"local ({base[1]})"
        cf.servers.append(Server(
            client=client.id, file=path, name=scrub(name), transport=transport,
            target=mask(target, secrets), auth=auth, auth_methods=methods, location=prefix,
            scope=srv_scope, disabled=_disabled(e), findings=mine, notes=notes))
    return cf


# --------------------------------------------------------------------------
# Running


def inventory_files(locations: Iterable[ConfigLocation], engine=None) -> Inventory:
    from ..api import build_engine, scan_bytes
    from ..models import ScanOptions

    if engine is None:
        engine = build_engine(ScanOptions())
    inv = Inventory()
    for loc in locations:
        p = loc.path.as_posix()
        try:
            data = loc.path.read_bytes()
        except OSError as exc:
            inv.files.append(ConfigFile(p, loc.client.id, loc.client.name, loc.scope,
                                        error=f"unreadable: {exc.strerror or exc}"))
            continue
        client = client_for(p, data[:8192]) or loc.client
        findings = sorted(scan_bytes(engine, p, data), key=lambda f: f.sort_key)
        inv.files.append(parse_config(p, data, client, loc.scope, findings))
    return inv


def run_mcp_inventory(project: str, home: Optional[str] = None, include_home: bool = True,
                      *, platform: str = sys.platform, engine=None) -> Inventory:
    """Discover and inventory the MCP configurations of ``project`` and the user's home."""
    locations = discover(Path(project) if project else None,
                         Path(home) if home else Path.home(), platform, include_home)
    return inventory_files(locations, engine)


# --------------------------------------------------------------------------
# Output


def _finding_dict(f: Finding) -> dict:
    return {
        "rule": f.rule_id, "provider": f.provider, "severity": f.severity.value,
        "line": f.start_line, "column": f.start_column, "location": f.location,
        "secret": f.redacted, "fingerprint": f.fingerprint,
    }


def inventory_to_dict(inv: Inventory) -> dict:
    files = []
    for cf in inv.files:
        in_servers = {id(f) for s in cf.servers for f in s.findings}
        files.append({
            "path": cf.path, "client": cf.client, "client_name": cf.client_name,
            "scope": cf.scope, "error": cf.error,
            "servers": [{
                "name": s.name, "transport": s.transport, "target": s.target, "auth": s.auth,
                "auth_methods": list(s.auth_methods), "location": s.location,
                "scope": s.scope, "disabled": s.disabled, "notes": list(s.notes),
                "findings": [_finding_dict(f) for f in s.findings],
            } for s in cf.servers],
            "other_findings": [_finding_dict(f) for f in cf.findings if id(f) not in in_servers],
        })
    servers = inv.servers
    return {
        "files": files,
        "summary": {
            "files": len(inv.files), "servers": len(servers), "findings": len(inv.findings),
            "by_auth": {a: sum(1 for s in servers if s.auth == a) for a in AUTH_ORDER
                        if any(s.auth == a for s in servers)},
        },
    }


def render_json(inv: Inventory) -> str:
    from ..output import json_text, printable_tree

    return json_text(printable_tree(inventory_to_dict(inv)))


_AUTH_STYLE = {"static-key-in-file": "bold red", "none": "dim", "oauth": "green",
               "env-reference": "cyan", "input-prompt": "green", "secret-manager": "green",
               "keychain": "green"}


def _short(path: str) -> str:
    try:
        home = Path.home().as_posix()
    except RuntimeError:  # pragma: no cover
        return path
    return "~" + path[len(home):] if path.startswith(home + "/") else path


def render_table(inv: Inventory, console) -> None:
    from rich.table import Table
    from rich.text import Text

    from ..output import printable

    def _text(text: str, style: str = "") -> Text:  # names, paths, commands come from the configs: never raw
        return Text(printable(text), style=style)

    if not inv.files:
        console.print("No MCP configuration files found.")
        return
    table = Table(title="MCP servers", show_lines=False)
    for col in ("file", "client", "server", "transport", "auth", "findings", "command / url"):
        table.add_column(col, overflow="fold")

    def flist(fs: list[Finding]) -> Text:
        return _text(", ".join(f"{f.rule_id} L{f.start_line} {f.redacted}" for f in fs))

    for cf in inv.files:
        if cf.error:
            table.add_row(_text(_short(cf.path)), _text(cf.client_name), "-", "-",
                          _text(cf.error, style="yellow"), "", "")
        for s in cf.servers:
            name = _text(s.name)
            if s.disabled:
                name.append(" (disabled)", style="dim")
            table.add_row(_text(_short(cf.path)), _text(cf.client_name), name, _text(s.transport),
                          _text(s.auth, style=_AUTH_STYLE.get(s.auth, "")), flist(s.findings),
                          _text(s.target))
        in_servers = {id(f) for s in cf.servers for f in s.findings}
        other = [f for f in cf.findings if id(f) not in in_servers]
        if other:
            table.add_row(_text(_short(cf.path)), _text(cf.client_name),
                          _text("(outside servers)", style="dim"), "-",
                          _text("static-key-in-file", style="bold red"), flist(other), "")
    console.print(table)
    servers = inv.servers
    static = sum(1 for s in servers if s.auth == "static-key-in-file")
    console.print(_text(f"{len(inv.files)} file(s), {len(servers)} server(s), "
                       f"{static} with a static key in the file, "
                       f"{len(inv.findings)} finding(s)."))
