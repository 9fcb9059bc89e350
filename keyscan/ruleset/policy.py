"""The regex policy every rule pattern (and anchor) must follow.

Rule regexes run on text keyscan does not control, so a pattern must not be
able to backtrack without bound.  The policy is checked when a rule is loaded
(built-in and ``--rules`` rules alike) and by ``keyscan rules check``:

* **no backreferences, conditionals, recursion or fuzzy matching**
  (``\\1``, ``(?P=name)``, ``\\g<n>``, ``(?(1)...)``, ``(?R)``, ``(?&name)``,
  ``(?:abc){e<=2}``);
* **bounded lengths**: every quantifier has a finite upper bound, at most
  :data:`MAX_BOUND` (``*``, ``+`` and ``{m,}`` are refused: write
  ``\\S{1,256}``, ``[\\s\\S]{0,300}?``);
* **no nested quantifiers**: a group repeated more than once must not hold a
  variable-length repeat (``(?:[a-z]{1,9}){1,40}``), unless a character that
  none of its repeats can match delimits each repetition
  (``(?:[a-z0-9-]{1,63}\\.){0,4}``), and its alternatives must not start with
  the same character (``(?:\\w|\\d){0,64}``).

Possessive repeats (``{m,n}+``) and atomic groups never backtrack, so the
nesting rule does not apply to them.  The pattern is read by a small lexer
for the syntax rules use (the ``regex`` module's); character sets are
compared by matching sample characters with ``regex`` itself.  What the
policy cannot see, the adversarial probe of ``keyscan rules check`` and the
per-rule time budget at scan time (``keyscan.detect.engine``) catch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterator, Optional

import regex

MAX_BOUND = 65536
"""The largest upper bound a quantifier may have."""

_ORDER = ("backreference", "conditional", "recursion", "fuzzy", "nested quantifier", "repeated alternation", "unbounded", "")
"""The order problems are reported in (the first is the most serious)."""
_SAMPLE = "".join(map(chr, range(128))) + "\u00a0\u00e9\u00df\u0130\u2028\u4e2d\U0001f600"
_ZERO_WIDTH = set("bBAZzG")
_RECURSION = regex.compile(r"\(\?(?:R|[+-]?\d+|&\w+|P>\w+)\)")
_FUZZY = regex.compile(r"\{[^{}]*(?:[eisd]\s*(?:<=?|=|>)|[<>]=?\s*[eisd])[^{}]*\}")
_ESCAPE_BRACED = set("pPNx")


@dataclass
class _Node:
    """One item of a sequence: an atom (a character, a class, a group) and its quantifier."""

    kind: str  # "char", "group", "assert" (zero width: ^ $ \b and lookarounds)
    src: str = ""
    ignorecase: bool = False
    lo: int = 1
    hi: Optional[int] = 1  # None: unbounded
    quant: str = ""
    possessive: bool = False
    atomic: bool = False
    branches: list[list["_Node"]] = field(default_factory=list)


class _Lexer:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        self.problems: list[str] = []
        self.ignorecase = bool(regex.match(r"\(\?[a-zA-Z]*i[a-zA-Z]*\)", pattern))

    def parse(self) -> list[list[_Node]]:
        branches = self._alternation(self.ignorecase)
        return branches

    def _alternation(self, ic: bool) -> list[list[_Node]]:
        branches: list[list[_Node]] = [[]]
        p = self.p
        while self.i < len(p):
            c = p[self.i]
            if c == ")":
                break
            if c == "|":
                self.i += 1
                branches.append([])
                continue
            node = self._atom(ic)
            if node is None:
                continue
            self._quantifier(node)
            branches[-1].append(node)
        return branches

    def _atom(self, ic: bool) -> Optional[_Node]:
        p, i = self.p, self.i
        c = p[i]
        if c == "\\":
            return self._escape(ic)
        if c == "[":
            end = _class_end(p, i)
            self.i = end
            return _Node("char", p[i:end], ic)
        if c == "(":
            return self._group(ic)
        self.i += 1
        if c in "^$":
            return _Node("assert", c)
        return _Node("char", c, ic)

    def _escape(self, ic: bool) -> _Node:
        p, i = self.p, self.i
        nxt = p[i + 1:i + 2]
        if nxt.isdigit() and nxt != "0":
            self.problems.append(f"backreference '{p[i:i + 2]}'")
            self.i += 2
            return _Node("assert", p[i:i + 2])
        if nxt in ("g", "k") and p[i + 2:i + 3] == "<":
            end = p.find(">", i)
            self.problems.append(f"backreference '{p[i:end + 1]}'")
            self.i = end + 1 if end > 0 else len(p)
            return _Node("assert", "")
        if nxt in _ZERO_WIDTH:
            self.i += 2
            return _Node("assert", p[i:i + 2])
        end = i + 2
        if nxt in _ESCAPE_BRACED and p[end:end + 1] == "{":
            end = p.find("}", end) + 1 or len(p)
        elif nxt == "x":
            end += 2
        elif nxt == "u":
            end += 4
        elif nxt == "U":
            end += 8
        self.i = end
        return _Node("char", p[i:end], ic)

    def _group(self, ic: bool) -> Optional[_Node]:
        p, i = self.p, self.i
        recursion = _RECURSION.match(p, i)
        if recursion:
            self.problems.append(f"recursion '{recursion.group()}'")
            self.i = recursion.end()
            return None
        head = regex.match(r"\((?:\?(?:[:>|=!]|<[=!]|P?<\w+>|P=\w+\)|\(|#|[a-zA-Z]*(?:-[a-zA-Z]*)?[:)]|))?", p[i:])
        assert head is not None  # the pattern matches the empty string after "("
        h = head.group()
        self.i = i + len(h)
        if h.startswith("(?P="):
            self.problems.append(f"backreference '{h}'")
            return None
        if h == "(?(":
            self.problems.append("conditional group '(?(...)'")
        if h == "(?#":
            self.i = p.find(")", self.i) + 1 or len(p)
            return None
        atomic = h == "(?>"
        look = h in ("(?=", "(?!", "(?<=", "(?<!")
        if h.endswith(")") and h != "(?(":  # (?i): flags for the whole pattern, read in __init__
            return None
        if h.endswith(":") and h not in ("(?:",):
            flags = h[2:-1]
            on, _, off = flags.partition("-")
            ic = (ic or "i" in on) and "i" not in off
        branches = self._alternation(ic)
        if self.i < len(p) and p[self.i] == ")":
            self.i += 1
        return _Node("assert" if look else "group", p[i:self.i], ic, atomic=atomic, branches=branches)

    def _quantifier(self, node: _Node) -> None:
        p, i = self.p, self.i
        fuzzy = _FUZZY.match(p, i)
        if fuzzy:
            self.problems.append(f"fuzzy matching '{fuzzy.group()}'")
            self.i = fuzzy.end()
            return
        m = regex.match(r"(?:\*|\+|\?|\{(\d*)(,?)(\d*)\})([?+]?)", p[i:])
        if m is None or (m.group().startswith("{") and not (m.group(1) or m.group(3))):
            return
        q = m.group()
        self.i = i + len(q)
        if q[0] == "*":
            node.lo, node.hi = 0, None
        elif q[0] == "+":
            node.lo, node.hi = 1, None
        elif q[0] == "?":
            node.lo, node.hi = 0, 1
        else:
            node.lo = int(m.group(1) or 0)
            node.hi = None if m.group(2) and not m.group(3) else int(m.group(3) or m.group(1))
        node.quant = q
        node.possessive = m.group(4) == "+"


def _class_end(p: str, i: int) -> int:
    """The index after the character class starting at ``p[i]`` (``[``)."""
    j = i + 1
    if p[j:j + 1] == "^":
        j += 1
    if p[j:j + 1] == "]":
        j += 1
    while j < len(p):  # rules use the regex module's version 0 syntax: no nested sets
        c = p[j]
        if c == "\\":
            j += 2
            continue
        if c == "[" and p[j + 1:j + 2] == ":":
            end = p.find(":]", j + 2)
            j = end + 2 if end > 0 else j + 1
            continue
        if c == "]":
            return j + 1
        j += 1
    return len(p)


@lru_cache(maxsize=4096)
def _chars(src: str, ignorecase: bool) -> frozenset[str]:
    """The sample characters the one-character atom ``src`` matches."""
    try:
        pat = regex.compile(src, regex.IGNORECASE if ignorecase else 0)
    except regex.error:
        return frozenset(_SAMPLE)  # unknown: assume it matches everything
    return frozenset(c for c in _SAMPLE if pat.fullmatch(c))


def _nullable(node: _Node) -> bool:
    if node.kind == "assert" or node.lo == 0:
        return True
    return node.kind == "group" and any(all(_nullable(n) for n in b) for b in node.branches)


def _first(nodes: list[_Node]) -> frozenset[str]:
    """Sample characters a sequence can start with."""
    out: frozenset[str] = frozenset()
    for node in nodes:
        if node.kind == "char":
            out |= _chars(node.src, node.ignorecase)
        elif node.kind == "group":
            for b in node.branches:
                out |= _first(b)
        if not _nullable(node):
            break
    return out


def _atoms(nodes: list[_Node]) -> Iterator[_Node]:
    for node in nodes:
        if node.kind == "char":
            yield node
        elif node.kind == "group":
            for b in node.branches:
                yield from _atoms(b)


def _variable(node: _Node) -> bool:
    """Whether ``node`` can match runs of different lengths by backtracking."""
    if node.kind == "assert" or node.possessive or node.atomic:
        return False
    if node.lo != node.hi:
        return True
    return node.kind == "group" and (len(node.branches) > 1 or any(_variable(n) for b in node.branches for n in b))


def _describe(node: _Node) -> str:
    text = node.src + node.quant
    return text if len(text) <= 40 else text[:37] + "..."


def _check(nodes: list[_Node], problems: list[str]) -> None:
    for node in nodes:
        if node.hi is None:
            problems.append(f"unbounded quantifier '{_describe(node)}' (give it an upper bound: {{m,n}})")
        elif node.hi > MAX_BOUND:
            problems.append(f"quantifier bound {node.hi} in '{_describe(node)}' is above {MAX_BOUND}")
        if node.kind not in ("group", "assert"):
            continue
        for b in node.branches:
            _check(b, problems)
        if node.kind != "group" or node.hi == 1 or node.possessive or node.atomic:
            continue
        firsts = [_first(b) for b in node.branches]
        if any(firsts[a] & firsts[b] for a in range(len(firsts)) for b in range(a + 1, len(firsts))):
            problems.append(f"repeated alternation with overlapping branches '{_describe(node)}'")
            continue
        inner = [n for b in node.branches for n in b if _variable(n)]
        if not inner:
            continue
        loose = frozenset().union(*(_chars(a.src, a.ignorecase) for n in inner for a in _atoms([n])))
        delimited = len(node.branches) == 1 and any(
            n.kind == "char" and n.lo >= 1 and not (_chars(n.src, n.ignorecase) & loose)
            for n in node.branches[0])
        if not delimited:
            problems.append(f"nested quantifier: the repeated group '{_describe(node)}' holds the "
                            f"variable-length '{_describe(inner[0])}' and no delimiter")


def pattern_problems(pattern: str) -> list[str]:
    """Every way ``pattern`` breaks the policy (empty: it follows it)."""
    lexer = _Lexer(pattern)
    branches = lexer.parse()
    problems = list(lexer.problems)
    for b in branches:
        _check(b, problems)
    return sorted(problems, key=lambda p: next(i for i, k in enumerate(_ORDER) if p.startswith(k)))


def check_pattern(pattern: str) -> Optional[str]:
    """The first policy problem of ``pattern``, or None."""
    problems = pattern_problems(pattern)
    return problems[0] if problems else None
