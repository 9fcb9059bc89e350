"""MCP client configurations: give detectors the context flat text lacks.

For every file :func:`keyscan.mcp.clients.client_for` recognises, one fragment
holds, one per line, with every character mapped back to the raw file:

* env entries as ``NAME=value`` (``env``, Goose ``envs``, opencode
  ``environment``, Zed's nested ``command.env``, Claude Code settings ``env``);
* headers as ``Header: value`` (``headers``, Codex ``http_headers``);
* split CLI flags ``["--api-key", "sk-..."]`` as ``--api-key sk-...`` and
  docker ``["-e", "NAME=value"]`` pairs as ``NAME=value``;
* URL query parameters (``url``, ``serverUrl``, ``httpUrl``, ``uri``) as
  ``name=value``;
* members of JSON documents stuffed into an env or header value
  (``OPENAPI_MCP_HEADERS``) as ``key: value``;
* the literal default of ``${NAME:-default}`` as ``NAME=default``.

Values that are entirely references (``${input:x}``, ``${env:X}``, ``${X}``,
``$X``, ``{env:X}``, ``${{ secrets.X }}``, ``op://...``) produce nothing.

Locations name the server as the first path component after the server map:
``mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN``,
``servers.api.headers.Authorization``, ``mcp_servers.linear.env.LINEAR_API_KEY``,
``extensions.github.envs.GITHUB_TOKEN``,
``projects["/home/me/app"].mcpServers.db.args[2]``.  Continue's server list is
addressed by entry name (``mcpServers.github.env.X``).
"""

from __future__ import annotations

import bisect
import re
from typing import Iterable, Optional

from ..documents import Document
from ..mcp.clients import Client, client_for
from ..mcp.structure import (json_scalars, list_entry_names, server_prefixes,
                             split_server_path, toml_scalars, yaml_scalars)
from .interface import Fragment, Segment
from .jsonscan import OffsetMap, iter_strings, looks_like_json, path_str

ENV_KEYS = frozenset({"env", "envs", "environment"})
HEADER_KEYS = frozenset({"headers", "http_headers"})
URL_KEYS = frozenset({"url", "serverUrl", "httpUrl", "uri", "endpoint"})

# A value that is entirely one placeholder.
_REF_ONLY = re.compile(
    r"^\s*(?:\$\{\{\s*[^}]*\}\}|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\{env:[^}]+\}"
    r"|op://\S+)\s*$"
)
# A value holding a placeholder plus literal text ("Bearer ${TOKEN}").
_REF_ANY = re.compile(
    r"\$\{\{\s*[^}]*\}\}|\$\{[^}]*\}|(?:^|[\s=:])\$[A-Za-z_][A-Za-z0-9_]*\b|\{env:[^}]+\}"
    r"|op://"
)
# ${NAME:-default} / ${NAME-default}: the default may itself be a literal secret.
_DEFAULT = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}\s]+)\}")
_FLAG = re.compile(r"^-{1,2}[A-Za-z][A-Za-z0-9_.-]*$")
# Flags whose following value is worth the context (not "-y <package>").
_CRED_FLAG = re.compile(r"(?i)key|token|secret|pass|pwd|auth|cred|bearer|header|dsn|conn|"
                        r"url|uri|database|login|user|cookie|session|sig")
_QUERY = re.compile(r"[?&;]([^=&#\s?;]{1,64})=([^&#\s;]+)")
_DOCKER_ENV_FLAGS = frozenset({"-e", "--env"})


def is_reference(value: str) -> bool:
    """True when the value only names where the secret lives."""
    return bool(_REF_ONLY.match(value) or _REF_ANY.search(value))


def _seg(m: OffsetMap, i: int, j: int, frag_start: int, loc: Optional[str]) -> Segment:
    """Segment for decoded span ``[i, j)`` of a scalar whose map is ``m``."""
    inner = tuple((frag_start + (si - i), r) for si, r in m.steps if i < si < j)
    return Segment(frag_start, j - i, m(i), inner, loc)


class _Builder:
    """Accumulates fragment lines and their segments."""

    __slots__ = ("parts", "segments", "size")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.segments: list[Segment] = []
        self.size = 0

    def add(self, pieces: list[tuple[str, Optional[OffsetMap], int, Optional[str]]]) -> None:
        """One line from ``(text, map, decoded offset of text in the scalar, location)``
        pieces; a piece without a map is a separator."""
        if self.parts:
            self.parts.append("\n")
            self.size += 1
        for text, m, i, loc in pieces:
            if m is not None and text:
                self.segments.append(_seg(m, i, i + len(text), self.size, loc))
            self.parts.append(text)
            self.size += len(text)

    def fragment(self, name: str) -> Optional[Fragment]:
        if not self.segments:
            return None
        return Fragment("".join(self.parts), name, self.segments)


class Structure:
    """The located scalars of one MCP configuration file."""

    def __init__(self, client: Client, text: str):
        self.client = client
        fmt = client.format
        name_is_json = True
        if fmt == "toml":
            scalars = toml_scalars(text)
            name_is_json = False
        elif fmt == "yaml":
            stripped = text.lstrip()
            if stripped.startswith("{"):
                scalars = json_scalars(text)
            else:
                scalars = yaml_scalars(text)
                name_is_json = False
        else:
            scalars = json_scalars(text)
        self.is_json = name_is_json
        self.scalars = scalars
        self.starts = [s.raw_start for s in scalars]
        self.prefixes = server_prefixes(client)
        self.names = list_entry_names(scalars, self.prefixes) if client.list_servers else {}

    def split(self, path: tuple):
        return split_server_path(self.prefixes, path, self.names)

    def location(self, path: tuple) -> str:
        sp = self.split(path)
        if sp is not None:
            prefix, name, rest = sp
            return path_str(prefix + (name,) + rest)
        return path_str(path)

    def scalar_at(self, offset: int):
        k = bisect.bisect_right(self.starts, offset) - 1
        # keys and values never overlap, but a YAML block line may start at the same offset
        while k >= 0:
            s = self.scalars[k]
            if s.raw_start <= offset < s.raw_end:
                return s
            if s.raw_start < offset:
                break
            k -= 1
        return None


class McpDecoder:
    name = "mcp"

    def wants(self, doc: Document) -> bool:
        return client_for(doc.path, doc.data[:8192]) is not None

    def structure(self, doc: Document) -> Optional[Structure]:
        """The parsed configuration (once per document, kept with it)."""
        return doc.memo("mcp.structure", lambda: _structure(doc))

    def locate(self, doc: Document, offset: int) -> Optional[str]:
        st = self.structure(doc)
        if st is None:
            return None
        s = st.scalar_at(offset)
        if s is None:
            return None
        return st.location(s.path)

    def fragments(self, doc: Document) -> Iterable[Fragment]:
        st = self.structure(doc)
        if st is None:
            return []
        frag = _build(st)
        return [frag] if frag is not None else []


def _structure(doc: Document) -> Optional[Structure]:
    client = client_for(doc.path, doc.data[:8192])
    return Structure(client, doc.text) if client is not None else None


def _build(st: Structure) -> Optional[Fragment]:
    b = _Builder()
    settings = st.client.id == "claude-code-settings"
    prev_arg = None  # (group path, scalar) of the previous args element
    for s in st.scalars:
        if s.is_key:
            continue
        path = s.path
        if settings:
            if len(path) == 2 and path[0] == "env" and isinstance(path[1], str):
                _env_line(b, s, path_str(path))
            continue
        sp = st.split(path)
        if sp is None:
            continue
        prefix, name, rest = sp
        if not rest:
            continue
        loc = path_str(prefix + (name,) + rest)
        head = rest[0]
        if len(rest) == 2 and head in ENV_KEYS and isinstance(rest[1], str) or \
                len(rest) == 3 and head == "command" and rest[1] == "env":
            _env_line(b, s, loc)
        elif len(rest) == 2 and head in HEADER_KEYS and isinstance(rest[1], str):
            _env_line(b, s, loc, sep=": ")
        elif isinstance(rest[-1], int) and (rest[:-1] in (("args",), ("command", "args"),
                                                          ("command",))):
            group = prefix + (name,) + rest[:-1]
            prev = prev_arg[1] if prev_arg is not None and prev_arg[0] == group and \
                prev_arg[2] == rest[-1] - 1 else None
            _arg_line(b, s, prev, loc)
            prev_arg = (group, s, rest[-1])
        elif len(rest) == 1 and head in URL_KEYS:
            _url_lines(b, s, loc)
    return b.fragment(McpDecoder.name)


def _defaults(b: _Builder, s, loc: str) -> None:
    m = s.offset_map()
    for d in _DEFAULT.finditer(s.value):
        default = d.group(2)
        if is_reference(default):
            continue
        b.add([(d.group(1), m, d.start(1), loc), ("=", None, 0, None),
               (default, m, d.start(2), loc)])


def _env_line(b: _Builder, s, loc: str, sep: str = "=") -> None:
    value = s.value
    key = s.key
    if not value.strip() or key is None:
        return
    if is_reference(value):
        _defaults(b, s, loc)
        return
    km = key.offset_map()
    b.add([(key.value, km, 0, loc), (sep, None, 0, None), (value, s.offset_map(), 0, loc)])
    if looks_like_json(value):
        _nested_json(b, s, loc)


def _nested_json(b: _Builder, s, loc: str) -> None:
    outer = s.offset_map()
    for inner in iter_strings(s.value):
        if inner.is_key or inner.key is None or not inner.value.strip():
            continue
        if is_reference(inner.value):
            continue
        km = inner.key.offset_map().compose(outer)
        vm = inner.offset_map().compose(outer)
        b.add([(inner.key.value, km, 0, loc), (": ", None, 0, None), (inner.value, vm, 0, loc)])


def _arg_line(b: _Builder, s, prev, loc: str) -> None:
    value = s.value
    if not value or is_reference(value):
        if value:
            _defaults(b, s, loc)
        return
    m = s.offset_map()
    if prev is not None:
        pv = prev.value
        if pv in _DOCKER_ENV_FLAGS:
            if "=" in value:
                b.add([(value, m, 0, loc)])
            return
        if _FLAG.match(pv) and _CRED_FLAG.search(pv) and not value.startswith("-"):
            b.add([(pv, prev.offset_map(), 0, loc), (" ", None, 0, None), (value, m, 0, loc)])
            return
    if "\\" in _raw_hint(s):
        b.add([(value, m, 0, loc)])


def _raw_hint(s) -> str:
    """The scalar's raw text when the decoded value differs from it (escapes)."""
    steps = s.offset_map().steps
    return "\\" if len(steps) > 1 else ""


def _url_lines(b: _Builder, s, loc: str) -> None:
    value = s.value
    if "?" not in value and ";" not in value:
        return
    m = s.offset_map()
    for q in _QUERY.finditer(value):
        v = q.group(2)
        if is_reference(v):
            continue
        b.add([(q.group(1), m, q.start(1), loc), ("=", None, 0, None), (v, m, q.start(2), loc)])


DECODER = McpDecoder()
