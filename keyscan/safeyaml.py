"""YAML with bounded alias expansion (rule files, MCP configs, shipped data).

YAML aliases (``&a [*b, *b, ...]``) let a few hundred bytes describe a
billion-node document ("billion laughs").  PyYAML builds aliases as shared
objects, so loading is cheap, but any code that then walks the data (rule
validation, an MCP inventory) visits every expanded node: minutes of CPU and a
MemoryError.  :func:`load` counts the expanded size over the shared structure
(linear in the distinct nodes) and refuses a document above
:data:`MAX_EXPANDED_NODES`, or one that refers to itself.
"""

from __future__ import annotations

from typing import IO, Any, Union

MAX_EXPANDED_NODES = 1_000_000
"""Nodes (scalars, list items, mapping keys and values) a YAML document may
expand to once its aliases are followed."""


class YamlBombError(ValueError):
    """The document expands past :data:`MAX_EXPANDED_NODES` or is recursive."""


def load(stream: Union[str, bytes, IO[Any]]) -> Any:
    """``yaml.safe_load`` (the C loader when available) with bounded expansion.
    Raises ``yaml.YAMLError`` for bad YAML and :class:`YamlBombError`."""
    import yaml

    data = yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    expanded_size(data)
    return data


def expanded_size(data: Any, limit: int = MAX_EXPANDED_NODES) -> int:
    """How many nodes ``data`` holds with shared containers counted each time
    they appear (an alias expands to a copy); raises :class:`YamlBombError`
    above ``limit`` or on a cycle."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    # iterative post-order walk over containers, memoised by identity
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, (list, dict)):
            continue
        key = id(node)
        if done:
            children = node.values() if isinstance(node, dict) else node
            total = 1 + (len(node) if isinstance(node, dict) else 0)
            for child in children:
                total += sizes.get(id(child), 1) if isinstance(child, (list, dict)) else 1
            if total > limit:
                raise YamlBombError(f"its aliases expand to more than {limit:,} nodes (a YAML "
                                    "'billion laughs' document); write the values out instead")
            sizes[key] = total
            active.discard(key)
            continue
        if key in sizes:
            continue
        if key in active:
            raise YamlBombError("an alias refers to the node that contains it (a recursive YAML document)")
        active.add(key)
        stack.append((node, True))
        for child in (node.values() if isinstance(node, dict) else node):
            if isinstance(child, (list, dict)):
                if id(child) in active:
                    raise YamlBombError("an alias refers to the node that contains it "
                                        "(a recursive YAML document)")
                if id(child) not in sizes:
                    stack.append((child, False))
    return sizes.get(id(data), 1)
