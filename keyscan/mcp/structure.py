"""Raw-offset locators for MCP configuration files.

Every function here returns the scalar strings of a file, in document order,
as objects with the same duck type as
:class:`keyscan.decoders.jsonscan.JsonString`: ``path`` (tuple of keys and
indexes), ``is_key``, ``raw_start``/``raw_end`` (the raw span of the scalar's
content), ``value`` (decoded), ``key`` (the member key's scalar, for values)
and ``offset_map()`` (decoded offset -> raw offset).

JSON goes through the shared tokenizer; TOML and YAML use small tolerant
tokenizers that are good enough for the shapes MCP clients write (tables,
dotted keys, inline tables and arrays; block mappings, sequences, quoted and
plain scalars, one-line flow collections, block scalars).  They never raise:
on anything they do not understand they skip to the next line.
"""

from __future__ import annotations

import re
from typing import Optional

from ..decoders.jsonscan import OffsetMap, string_index


class Scalar:
    """A located scalar (see the module docstring)."""

    __slots__ = ("path", "is_key", "raw_start", "raw_end", "value", "key", "_map")

    def __init__(self, path: tuple, raw_start: int, raw_end: int, value: str,
                 steps: Optional[list[tuple[int, int]]] = None, is_key: bool = False,
                 key: "Optional[Scalar]" = None):
        self.path = path
        self.is_key = is_key
        self.raw_start = raw_start
        self.raw_end = raw_end
        self.value = value
        self.key = key
        self._map = OffsetMap(steps or [(0, raw_start)])

    def offset_map(self) -> OffsetMap:
        return self._map

    def __repr__(self) -> str:
        return f"Scalar({self.path!r}, {self.raw_start}:{self.raw_end}, {self.value!r})"


_BS_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2})|(.)|$)", re.S)
_BS_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "0": "\0", "e": "\x1b"}


def _decode_backslash(raw: str, start: int) -> tuple[str, list[tuple[int, int]]]:
    """Decode a double-quoted (TOML basic / YAML double-quoted) string body."""
    if "\\" not in raw:
        return raw, [(0, start)]
    parts: list[str] = []
    steps = [(0, start)]
    pos = out = 0
    for m in _BS_ESCAPE.finditer(raw):
        s, e = m.span()
        if s > pos:
            parts.append(raw[pos:s])
            out += s - pos
        hexd = m.group(1) or m.group(2) or m.group(3)
        if hexd:
            try:
                parts.append(chr(int(hexd, 16)))
            except (ValueError, OverflowError):
                parts.append("?")
        elif m.group(4) is not None:
            parts.append(_BS_SIMPLE.get(m.group(4), m.group(4)))
        else:
            parts.append("\\")
        out += 1
        pos = e
        steps.append((out, start + e))
    if pos < len(raw):
        parts.append(raw[pos:])
    return "".join(parts), steps


def _decode_single(raw: str, start: int) -> tuple[str, list[tuple[int, int]]]:
    """YAML single-quoted body: ``''`` is one quote."""
    if "''" not in raw:
        return raw, [(0, start)]
    parts: list[str] = []
    steps = [(0, start)]
    pos = out = 0
    for m in re.finditer("''", raw):
        s, e = m.span()
        parts.append(raw[pos:s] + "'")
        out += s - pos + 1
        pos = e
        steps.append((out, start + e))
    parts.append(raw[pos:])
    return "".join(parts), steps


def _quoted(tok: str, start: int, path: tuple, is_key: bool = False,
            key: Optional[Scalar] = None, yaml_single: bool = False) -> Scalar:
    """A scalar from a quoted token (``tok`` includes its quotes) at raw ``start``."""
    q = tok[0]
    if tok.startswith('"""') or tok.startswith("'''"):
        body, bstart = tok[3:-3], start + 3
    else:
        body, bstart = tok[1:-1], start + 1
    if q == '"':
        value, steps = _decode_backslash(body, bstart)
    elif yaml_single:
        value, steps = _decode_single(body, bstart)
    else:
        value, steps = body, [(0, bstart)]
    return Scalar(path, bstart, bstart + len(body), value, steps, is_key, key)


# --------------------------------------------------------------------------
# JSON


def json_scalars(text: str) -> list:
    return string_index(text)


# --------------------------------------------------------------------------
# TOML

_TOML_TOKEN = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\''
    r"|#[^\n]*|\n|\[\[|\]\]|[{}\[\],=.]"
    r"|[A-Za-z0-9_+\-:]+"
)


def toml_scalars(text: str) -> list[Scalar]:
    try:
        return _toml_scalars(text)
    except Exception:  # pragma: no cover - never raise on malformed input
        return []


def _toml_scalars(text: str) -> list[Scalar]:
    out: list[Scalar] = []
    table: tuple = ()
    array_tables: dict[tuple, int] = {}
    # frames inside a value: {"k": "{", "path", "expect", "keys", "mpath", "mkey"}
    #                        {"k": "[", "path", "index"}
    stack: list[dict] = []
    keys: list[Scalar] = []  # top-level key being read (dotted)
    state = "key"  # key | header | value | done
    header: list[str] = []
    header_double = False
    dot = False
    vpath: tuple = ()
    vkey: Optional[Scalar] = None
    for m in _TOML_TOKEN.finditer(text):
        tok = m.group()
        c = tok[0]
        if c == "#":
            continue
        if c == "\n":
            if not stack:
                state, keys, dot = "key", [], False
            continue
        if state == "header":
            if tok in ("]", "]]"):
                table = tuple(header)
                if header_double:
                    idx = array_tables.get(table, -1) + 1
                    array_tables[table] = idx
                    table = table + (idx,)
                state = "done"
            elif tok != ".":
                header.append(_toml_key_text(tok))
            continue
        if not stack and state == "key" and not keys and tok in ("[", "[["):
            state, header, header_double = "header", [], tok == "[["
            continue
        top = stack[-1] if stack else None
        # -- reading a key -------------------------------------------------
        if (top is None and state == "key") or (top is not None and top["k"] == "{"
                                                 and top["expect"]):
            kl = keys if top is None else top["keys"]
            base = table if top is None else top["path"]
            if tok == ".":
                dot = True
            elif tok == "=":
                path = base + tuple(k.value for k in kl)
                kscalar = kl[-1] if kl else None
                if top is None:
                    state, vpath, vkey = "value", path, kscalar
                else:
                    top["expect"], top["mpath"], top["mkey"] = False, path, kscalar
                dot = False
            elif tok == "}" and top is not None:
                stack.pop()
            elif tok == ",":
                pass
            else:
                if not dot:
                    kl.clear()
                ks = _toml_key_scalar(tok, m.start())
                ks.path = base + tuple(k.value for k in kl) + (ks.value,)
                kl.append(ks)
                out.append(ks)
                dot = False
            continue
        if top is None and state != "value":
            continue
        # -- a value position ----------------------------------------------
        if top is None:
            path, key = vpath, vkey
        elif top["k"] == "{":
            path, key = top["mpath"], top["mkey"]
        else:
            path, key = top["path"] + (top["index"],), None
        if c in "\"'":
            out.append(_quoted(tok, m.start(), path, key=key))
        elif tok == "{":
            stack.append({"k": "{", "path": path, "expect": True, "keys": [], "mpath": path,
                          "mkey": None})
        elif tok in ("[", "[["):
            stack.append({"k": "[", "path": path, "index": 0})
            if tok == "[[":
                stack.append({"k": "[", "path": path + (0,), "index": 0})
        elif tok in ("]", "]]", "}"):
            for _ in range(2 if tok == "]]" else 1):
                if stack:
                    stack.pop()
        elif tok == ",":
            if top is not None and top["k"] == "[":
                top["index"] += 1
            elif top is not None:
                top["expect"] = True
                top["keys"] = []
        if not stack and top is not None and tok in ("]", "]]", "}"):
            state = "done"
        elif top is None and tok not in ("{", "[", "[["):
            state = "done"
    return out


def _toml_key_text(tok: str) -> str:
    if tok[0] in "\"'":
        return _quoted(tok, 0, ()).value
    return tok


def _toml_key_scalar(tok: str, start: int) -> Scalar:
    if tok[0] in "\"'":
        return _quoted(tok, start, (), is_key=True)
    return Scalar((), start, start + len(tok), tok, is_key=True)


# --------------------------------------------------------------------------
# YAML

_YAML_KEY = re.compile(
    r"""(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\n]|'')*)'|([^\s#'"{\[\]},&*!|>%@`-][^\n#]*?|-[^\s\n][^\n#]*?))"""
    r"""[ \t]*:(?=[ \t]|$)"""
)
_YAML_FLOW = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\n]|\'\')*\'|[\[\]{},]|:(?=[\s,\]}])'
    r"|[^\s\[\]{},:'\"#][^\[\]{},\n]*?(?=\s*(?:[\]},]|:[\s,\]}]|$|\s#))"
)
_COMMENT = re.compile(r"[ \t]#")


def yaml_scalars(text: str) -> list[Scalar]:
    try:
        return _yaml_scalars(text)
    except Exception:  # pragma: no cover - never raise on malformed input
        return []


def _yaml_scalars(text: str) -> list[Scalar]:
    out: list[Scalar] = []
    # frames: [indent, component, is_item, child_counter]
    frames: list[list] = []
    root_counter = [0]
    block_indent = -1
    block_path: tuple = ()
    pos = 0
    n = len(text)
    while pos < n:
        nl = text.find("\n", pos)
        if nl == -1:
            nl = n
        line = text[pos:nl]
        lstart = pos
        pos = nl + 1
        if line.endswith("\r"):
            line = line[:-1]
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if block_indent >= 0:
            if not stripped.strip() or indent > block_indent:
                body = stripped.rstrip()
                if body:
                    s = lstart + indent
                    out.append(Scalar(block_path, s, s + len(body), body))
                continue
            block_indent = -1
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("---") or stripped.startswith("..."):
            frames.clear()
            root_counter[0] = 0
            continue
        col = indent
        content = stripped
        # sequence items, possibly nested on one line ("- - x", "- key: v")
        while content == "-" or content.startswith("- ") or content.startswith("-\t"):
            while frames and (frames[-1][0] > col or (frames[-1][0] == col and frames[-1][2])):
                frames.pop()
            counter = frames[-1] if frames else None
            if counter is not None:
                idx = counter[3]
                counter[3] += 1
            else:
                idx = root_counter[0]
                root_counter[0] += 1
            frames.append([col, idx, True, 0])
            rest = content[1:]
            skip = len(rest) - len(rest.lstrip(" \t"))
            col += 1 + skip
            content = rest.lstrip(" \t")
            if not content:
                break
        if not content or content.startswith("#"):
            continue
        base_off = lstart + col
        km = _YAML_KEY.match(content)
        if km:
            while frames and frames[-1][0] >= col:
                frames.pop()
            parent = tuple(f[1] for f in frames)
            if km.group(1) is not None:
                key = _quoted('"' + km.group(1) + '"', base_off, (), is_key=True)
            elif km.group(2) is not None:
                key = _quoted("'" + km.group(2) + "'", base_off, (), is_key=True, yaml_single=True)
            else:
                kt = km.group(3).rstrip()
                key = Scalar((), base_off, base_off + len(kt), kt, is_key=True)
            key.path = parent + (key.value,)
            out.append(key)
            vstart = km.end()
            vtext = content[vstart:]
            lead = len(vtext) - len(vtext.lstrip(" \t"))
            vtext = vtext.lstrip(" \t")
            voff = base_off + vstart + lead
            if not vtext or vtext.startswith("#"):
                frames.append([col, key.value, False, 0])
                continue
            if vtext[0] in "|>":
                block_indent = col
                block_path = key.path
                continue
            _yaml_value(vtext, voff, key.path, key, out)
            continue
        # a scalar sequence item
        parent = tuple(f[1] for f in frames)
        _yaml_value(content, base_off, parent, None, out)
    return out


def _yaml_value(vtext: str, voff: int, path: tuple, key: Optional[Scalar],
                out: list[Scalar]) -> None:
    c = vtext[0]
    if c in "[{":
        _yaml_flow(vtext, voff, path, out)
        return
    if c in "&*!":
        # anchors / aliases / tags: skip the marker
        sp = vtext.find(" ")
        if sp == -1:
            return
        rest = vtext[sp:].lstrip(" ")
        if rest:
            _yaml_value(rest, voff + len(vtext) - len(rest), path, key, out)
        return
    if c == '"':
        m = re.match(r'"(?:[^"\\\n]|\\.)*"', vtext)
        if m:
            out.append(_quoted(m.group(), voff, path, key=key))
        return
    if c == "'":
        m = re.match(r"'(?:[^'\n]|'')*'", vtext)
        if m:
            out.append(_quoted(m.group(), voff, path, key=key, yaml_single=True))
        return
    cm = _COMMENT.search(vtext)
    plain = (vtext[:cm.start()] if cm else vtext).rstrip()
    if plain:
        out.append(Scalar(path, voff, voff + len(plain), plain, key=key))


def _yaml_flow(vtext: str, voff: int, path: tuple, out: list[Scalar]) -> None:
    stack: list[list] = []  # ["[", path, index] / ["{", path, expecting_key, current_key]
    for m in _YAML_FLOW.finditer(vtext):
        tok = m.group()
        s = voff + m.start()
        c = tok[0]
        if c in "[{":
            if not stack:
                base = path
            else:
                base = _flow_path(stack[-1])
            stack.append(["[", base, 0] if c == "[" else ["{", base, True, None])
            continue
        if not stack:
            return
        top = stack[-1]
        if c in "]}":
            stack.pop()
            if not stack:
                return
            continue
        if c == ",":
            if top[0] == "[":
                top[2] += 1
            else:
                top[2], top[3] = True, None
            continue
        if c == ":":
            if top[0] == "{":
                top[2] = False
            continue
        if c == '"' or c == "'":
            sc = _quoted(tok, s, (), yaml_single=c == "'")
        else:
            sc = Scalar((), s, s + len(tok.rstrip()), tok.rstrip())
        if top[0] == "{" and top[2]:
            sc.is_key = True
            sc.path = top[1] + (sc.value,)
            top[3] = sc
        else:
            sc.path = _flow_path(top)
            if top[0] == "{":
                sc.key = top[3]
        out.append(sc)


def _flow_path(top: list) -> tuple:
    if top[0] == "[":
        return top[1] + (top[2],)
    return top[1] + ((top[3].value,) if top[3] is not None else ())


# --------------------------------------------------------------------------
# Server maps


def server_prefixes(client) -> tuple[tuple, ...]:
    """Paths of the server map(s) of ``client``'s file (``"*"`` matches any key)."""
    if client is None or not client.servers_key or client.id == "claude-code-settings":
        return ()
    base = tuple(client.servers_key.split("."))
    if client.id == "claude-code-user":
        return (base, ("projects", "*", "mcpServers"))
    return (base,)


def split_server_path(prefixes: tuple[tuple, ...], path: tuple,
                      names: Optional[dict] = None) -> Optional[tuple[tuple, str, tuple]]:
    """``(servers map path, server name, rest)`` when ``path`` lies inside a server
    entry.  List entries (Continue) are named by their ``name`` member (``names``
    maps the entry's path to it)."""
    for prefix in prefixes:
        n = len(prefix)
        if len(path) <= n:
            continue
        ok = True
        for want, have in zip(prefix, path):
            if want != "*" and want != have:
                ok = False
                break
        if not ok:
            continue
        name = path[n]
        if isinstance(name, int):
            name = (names or {}).get(path[:n + 1], str(name))
        return path[:n], name, path[n + 1:]
    return None


def list_entry_names(scalars: list, prefixes: tuple[tuple, ...]) -> dict:
    """``{path of a list entry: its name}`` for server maps written as lists."""
    names: dict = {}
    for s in scalars:
        p = s.path
        if s.is_key or len(p) < 2 or p[-1] != "name" or not isinstance(p[-2], int):
            continue
        for prefix in prefixes:
            if len(p) == len(prefix) + 2 and all(w == "*" or w == h
                                                for w, h in zip(prefix, p)):
                names[p[:-1]] = s.value
    return names
