"""Static ReDoS check for rule patterns.

Rule regexes run on text keyscan does not control (minified bundles, logs,
whole repositories).  A pattern that backtracks super-linearly can stall a
scan, so every rule — shipped or user-supplied — must pass this check when it
is loaded (:func:`keyscan.ruleset.loader.parse_rule` calls :func:`check_pattern`).

The check walks the parse tree of the pattern (``re._parser``, which
understands the syntax rules use: possessive quantifiers, atomic groups,
scoped flags) and refuses:

* **unbounded quantifiers** (``*``, ``+``, ``{m,}``) anywhere, ``.*``,
  ``.+``, ``\\S+`` and ``[^"]*`` included: each attempt of such a pattern can
  run to the end of the text, so a long line without the expected ending
  costs quadratic time.  Use ``{m,n}`` (``\\S{1,256}``, ``[\\s\\S]{0,300}?``);
* **nested unbounded quantifiers** (``(a+)+``, ``(a*)*``, ``(?:x+){2,9}``) and
  unbounded repetition of a group that itself contains repetition;
* **repeated alternation with overlapping branches** (``(a|a)*``,
  ``(?:\\w|\\d){0,50}``): the same text can be split between the branches in
  exponentially many ways;
* **ambiguous nested repetition** even when bounded (``(?:[a-z]{1,9}){1,40}``):
  a repeated group of variable length that can both start and end with the
  same character can split a run in exponentially many ways;
* **backreferences** (``\\1``, ``(?P=name)``, ``\\g<name>``, conditionals on a
  group): they defeat every linear-time guarantee.

Possessive repeats (``{m,n}+``) and atomic groups never backtrack into their
body, so the ambiguity checks skip them (the unbounded check does not).

Patterns that ``re._parser`` cannot read (syntax only the ``regex`` module
knows) fall back to a conservative lexical scan: any unbounded quantifier or
backreference is refused.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

try:  # Python 3.11+
    from re import _constants as _C  # type: ignore[attr-defined]
    from re import _parser as _P  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as _C  # type: ignore[no-redef]
    import sre_parse as _P  # type: ignore[no-redef]

MAXREPEAT = _C.MAXREPEAT
_REPEATS = {_C.MAX_REPEAT, _C.MIN_REPEAT}
_POSSESSIVE = getattr(_C, "POSSESSIVE_REPEAT", None)
if _POSSESSIVE is not None:
    _REPEATS.add(_POSSESSIVE)
_ATOMIC = getattr(_C, "ATOMIC_GROUP", None)
_IGNORECASE = _C.SRE_FLAG_IGNORECASE
_DOTALL = _C.SRE_FLAG_DOTALL

# Characters used to approximate first/last character sets.
_PROBE = "".join(chr(c) for c in range(128)) + "\u00a0\u00e9\u00df\u0130\u2028\u4e2d\U0001f600"

_NAMED_GROUP = re.compile(r"(?<!\\)\(\?P?<(?![=!])([A-Za-z_][A-Za-z0-9_]*)>")
_LEXICAL_BACKREF = re.compile(r"\\[1-9]|\(\?P=|\\g<|\\k<|\(\?\(")


class RedosError(ValueError):
    """A pattern that is not safe to run on untrusted input; ``str()`` says why."""


def check_pattern(pattern: str) -> Optional[str]:
    """Why ``pattern`` is unsafe (a one-line reason), or None when it passes."""
    problems = list(pattern_problems(pattern))
    return problems[0] if problems else None


def pattern_problems(pattern: str) -> Iterable[str]:
    """Every reason ``pattern`` is unsafe (empty when it passes)."""
    tree = _parse(pattern)
    if tree is None:
        yield from _lexical_problems(pattern)
        return
    seen: set[str] = set()
    reasons = list(_Walker(tree.state.flags).walk(tree, outer_max=1, outer_unbounded=False))
    reasons += _single_char_alternations(pattern, tree.state.flags)
    for reason in sorted(reasons, key=_priority):
        if reason not in seen:
            seen.add(reason)
            yield reason


_ORDER = ("backreference", "conditional", "nested quantifier", "unbounded repetition of a group",
          "repeated alternation", "ambiguous nested", "unbounded quantifier")


def _priority(reason: str) -> int:
    for i, head in enumerate(_ORDER):
        if reason.startswith(head):
            return i
    return len(_ORDER)


def _parse(pattern: str):
    # The `regex` module allows one group name several times (one per
    # alternative); `re` does not.  Names do not matter here: make them unique.
    counter = iter(range(1, 1 << 30))
    renamed = _NAMED_GROUP.sub(lambda m: f"(?P<g{next(counter)}_{m.group(1)}>", pattern)
    try:
        return _P.parse(renamed)
    except Exception:  # re.error, RecursionError, syntax only `regex` knows
        if renamed != pattern:
            try:
                return _P.parse(pattern)
            except Exception:
                return None
        return None


# --------------------------------------------------------------------------
# Parse-tree walk


class _Walker:
    def __init__(self, flags: int):
        self.flags = flags

    def walk(self, seq, *, outer_max: int, outer_unbounded: bool, flags: Optional[int] = None):
        flags = self.flags if flags is None else flags
        for op, av in seq:
            if op in (_C.GROUPREF, getattr(_C, "GROUPREF_IGNORE", None), getattr(_C, "GROUPREF_LOC_IGNORE", None),
                      getattr(_C, "GROUPREF_UNI_IGNORE", None)):
                yield "backreference to a group (\\1, (?P=name)): not allowed in rules"
            elif op == _C.GROUPREF_EXISTS:
                yield "conditional on a group ((?(1)...)): not allowed in rules"
                _group, yes, no = av
                yield from self.walk(yes, outer_max=outer_max, outer_unbounded=outer_unbounded, flags=flags)
                if no is not None:
                    yield from self.walk(no, outer_max=outer_max, outer_unbounded=outer_unbounded, flags=flags)
            elif op in _REPEATS:
                yield from self._repeat(op, av, outer_max, outer_unbounded, flags)
            elif op == _C.SUBPATTERN:
                _group, add, dele, body = av
                yield from self.walk(body, outer_max=outer_max, outer_unbounded=outer_unbounded,
                                     flags=(flags | add) & ~dele)
            elif op == _C.BRANCH:
                for alt in av[1]:
                    yield from self.walk(alt, outer_max=outer_max, outer_unbounded=outer_unbounded, flags=flags)
            elif op in (_C.ASSERT, _C.ASSERT_NOT):
                yield from self.walk(av[1], outer_max=outer_max, outer_unbounded=outer_unbounded, flags=flags)
            elif _ATOMIC is not None and op == _ATOMIC:
                yield from self.walk(av, outer_max=outer_max, outer_unbounded=outer_unbounded, flags=flags)

    def _repeat(self, op, av, outer_max: int, outer_unbounded: bool, flags: int):
        lo, hi, body = av
        unbounded = hi == MAXREPEAT
        possessive = op == _POSSESSIVE
        shown = _describe(body, op, lo, hi)
        if unbounded:
            if outer_max > 1 or outer_unbounded:
                yield f"nested quantifier: unbounded {shown} inside a repeated group ((a+)+ style)"
            if _contains_repeat(body):
                yield f"unbounded repetition of a group that contains repetition: {shown}"
            if _single_char(body):
                yield f"unbounded quantifier {shown}: bound it with {{m,n}}"
            else:
                yield f"unbounded quantifier on a group {shown}: bound it with {{m,n}}"
        if hi > 1 and not possessive:
            inner = _unwrap(body)
            if len(inner) == 1 and inner[0][0] == _C.BRANCH:
                alts = inner[0][1][1]
                firsts = [_first(alt, flags) for alt in alts]
                for i in range(len(firsts)):
                    if any(firsts[i] & firsts[j] for j in range(i + 1, len(firsts))):
                        yield f"repeated alternation with overlapping branches {shown} ((a|a)* style)"
                        break
            if _contains_repeat(body, variable_only=True) and _variable_width(body):
                if _first(body, flags) & _last(body, flags):
                    yield (f"ambiguous nested repetition {shown}: the repeated group has a variable length "
                           f"and can start and end with the same character")
        yield from self.walk(body, outer_max=2 if (outer_max > 1 or hi > 1) else 1,
                             outer_unbounded=outer_unbounded or unbounded, flags=flags)


def _unwrap(seq):
    """A body that is one group: its content."""
    seq = list(seq)
    while len(seq) == 1 and seq[0][0] == _C.SUBPATTERN:
        seq = list(seq[0][1][3])
    return seq


def _contains_repeat(seq, *, variable_only: bool = False) -> bool:
    for op, av in seq:
        if op in _REPEATS:
            lo, hi, body = av
            if hi > 1 and (not variable_only or lo != hi):
                return True
            if _contains_repeat(body, variable_only=variable_only):
                return True
        elif op == _C.SUBPATTERN:
            if _contains_repeat(av[3], variable_only=variable_only):
                return True
        elif op == _C.BRANCH:
            if any(_contains_repeat(alt, variable_only=variable_only) for alt in av[1]):
                return True
        elif _ATOMIC is not None and op == _ATOMIC:
            continue  # never backtracked into
        elif op == _C.GROUPREF_EXISTS:
            _g, yes, no = av
            if _contains_repeat(yes, variable_only=variable_only) or \
                    (no is not None and _contains_repeat(no, variable_only=variable_only)):
                return True
    return False


def _width(seq) -> tuple[int, int]:
    try:
        sub = seq if isinstance(seq, _P.SubPattern) else _P.SubPattern(_P.State(), list(seq))
        return sub.getwidth()
    except Exception:
        return (0, MAXREPEAT)


def _variable_width(seq) -> bool:
    lo, hi = _width(seq)
    return lo != hi


def _single_char(seq) -> bool:
    seq = _unwrap(seq)
    return len(seq) == 1 and seq[0][0] in (_C.LITERAL, _C.NOT_LITERAL, _C.ANY, _C.IN)


def _describe(body, op, lo: int, hi: int) -> str:
    seq = _unwrap(body)
    atom = "(...)"
    if len(seq) == 1:
        o, a = seq[0]
        if o == _C.ANY:
            atom = "."
        elif o == _C.LITERAL:
            atom = re.escape(chr(a))
        elif o == _C.NOT_LITERAL:
            atom = f"[^{re.escape(chr(a))}]"
        elif o == _C.IN:
            atom = _describe_in(a)
    if hi == MAXREPEAT:
        q = "*" if lo == 0 else "+" if lo == 1 else f"{{{lo},}}"
    elif lo == hi:
        q = f"{{{lo}}}"
    else:
        q = f"{{{lo},{hi}}}"
    if op == _C.MIN_REPEAT:
        q += "?"
    elif op == _POSSESSIVE:
        q += "+"
    return f"'{atom}{q}'"


_CATEGORY_NAMES = {
    "CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W",
}


def _describe_in(items) -> str:
    if len(items) == 1 and items[0][0] == _C.CATEGORY:
        return _CATEGORY_NAMES.get(str(items[0][1]), "[...]")
    parts = []
    neg = ""
    for o, a in items:
        if o == _C.NEGATE:
            neg = "^"
        elif o == _C.LITERAL:
            parts.append(re.escape(chr(a)))
        elif o == _C.RANGE:
            parts.append(f"{re.escape(chr(a[0]))}-{re.escape(chr(a[1]))}")
        elif o == _C.CATEGORY:
            parts.append(_CATEGORY_NAMES.get(str(a), "?"))
    text = "".join(parts)
    if len(text) > 24:
        text = text[:21] + "..."
    return f"[{neg}{text}]"


# --------------------------------------------------------------------------
# First / last character sets (over a probe alphabet; an approximation that
# errs towards overlap)


def _first(seq, flags: int) -> frozenset:
    return _edge(list(seq), flags, reverse=False)


def _last(seq, flags: int) -> frozenset:
    return _edge(list(seq), flags, reverse=True)


def _edge(seq, flags: int, *, reverse: bool) -> frozenset:
    out: set = set()
    items = reversed(seq) if reverse else seq
    for op, av in items:
        chars, nullable = _item_edge(op, av, flags, reverse)
        out |= chars
        if not nullable:
            break
    return frozenset(out)


def _nullable(seq) -> bool:
    return _width(seq)[0] == 0


def _item_edge(op, av, flags: int, reverse: bool) -> tuple[frozenset, bool]:
    if op in (_C.LITERAL, _C.NOT_LITERAL, _C.ANY, _C.IN):
        return _char_set(op, av, flags), False
    if op in _REPEATS:
        lo, _hi, body = av
        chars = _edge(list(body), flags, reverse=reverse)
        return chars, lo == 0 or _nullable(body)
    if op == _C.SUBPATTERN:
        _g, add, dele, body = av
        f = (flags | add) & ~dele
        return _edge(list(body), f, reverse=reverse), _nullable(body)
    if op == _C.BRANCH:
        chars: set = set()
        nullable = False
        for alt in av[1]:
            chars |= _edge(list(alt), flags, reverse=reverse)
            nullable = nullable or _nullable(alt)
        return frozenset(chars), nullable
    if _ATOMIC is not None and op == _ATOMIC:
        return _edge(list(av), flags, reverse=reverse), _nullable(av)
    if op == _C.GROUPREF_EXISTS:
        _g, yes, no = av
        chars = set(_edge(list(yes), flags, reverse=reverse))
        if no is not None:
            chars |= _edge(list(no), flags, reverse=reverse)
        return frozenset(chars), True
    if op in (_C.GROUPREF,):
        return frozenset(_PROBE), True
    # AT, ASSERT, ASSERT_NOT: zero width
    return frozenset(), True


def _char_set(op, av, flags: int) -> frozenset:
    fold = bool(flags & _IGNORECASE)
    if op == _C.LITERAL:
        c = chr(av)
        return frozenset({c, c.lower(), c.upper()} if fold else {c})
    if op == _C.NOT_LITERAL:
        c = chr(av)
        skip = {c, c.lower(), c.upper()} if fold else {c}
        return frozenset(ch for ch in _PROBE if ch not in skip)
    if op == _C.ANY:
        return frozenset(ch for ch in _PROBE if flags & _DOTALL or ch != "\n")
    # IN
    return frozenset(ch for ch in _PROBE if _in_matches(av, ch, fold))


def _in_matches(items, ch: str, fold: bool) -> bool:
    negate = False
    hit = False
    cands = {ch, ch.lower(), ch.upper()} if fold else {ch}
    for o, a in items:
        if o == _C.NEGATE:
            negate = True
        elif o == _C.LITERAL:
            hit = hit or chr(a) in cands
        elif o == _C.RANGE:
            hit = hit or any(a[0] <= ord(c) <= a[1] for c in cands if len(c) == 1)
        elif o == _C.CATEGORY:
            hit = hit or _category(str(a), ch)
        else:  # BIGCHARSET / CHARSET after compile only; be conservative
            hit = True
    return hit != negate


def _category(name: str, ch: str) -> bool:
    if name.endswith("NOT_DIGIT"):
        return not ch.isdigit()
    if name.endswith("DIGIT"):
        return ch.isdigit()
    if name.endswith("NOT_SPACE"):
        return not ch.isspace()
    if name.endswith("SPACE"):
        return ch.isspace()
    if name.endswith("NOT_WORD"):
        return not (ch.isalnum() or ch == "_")
    if name.endswith("WORD"):
        return ch.isalnum() or ch == "_"
    if name.endswith("NOT_LINEBREAK"):
        return ch != "\n"
    if name.endswith("LINEBREAK"):
        return ch == "\n"
    return True


def _single_char_alternations(pattern: str, flags: int) -> list[str]:
    """``(a|a){0,50}``: re._parser folds one-character alternatives into a
    character set, but the ``regex`` module may backtrack through them one by
    one; find repeated groups whose alternatives overlap in the source."""
    out: list[str] = []
    stack: list[int] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern.startswith("^", i + 1):
                i += 1
            if pattern.startswith("]", i + 1):
                i += 1
        elif c == "(":
            stack.append(i)
        elif c == ")" and stack:
            start = stack.pop()
            q = _QUANT.match(pattern, i + 1)
            possessive = q is not None and len(q.group()) > 1 and q.group().endswith("+")
            if q is not None and not possessive:
                hi = _quant_max(q.group())
                if hi > 1:
                    body = pattern[start + 1:i]
                    m = _GROUP_HEAD.match(body)
                    body = body[m.end():] if m else body
                    alts = _top_level_split(body)
                    if len(alts) > 1:
                        firsts = []
                        for alt in alts:
                            try:
                                firsts.append(_first(list(_P.parse(alt, flags)), flags))
                            except Exception:
                                firsts = []
                                break
                        if any(firsts[a] & firsts[b] for a in range(len(firsts))
                               for b in range(a + 1, len(firsts))):
                            out.append(f"repeated alternation with overlapping branches "
                                       f"'({_short(body)}){q.group()}' ((a|a)* style)")
        i += 1
    return out


_QUANT = re.compile(r"(?:\*|\+|\?|\{\d*(?:,\d*)?\})[?+]?")
_GROUP_HEAD = re.compile(r"\?(?::|>|P?<[A-Za-z_][A-Za-z0-9_]*>|[a-zA-Z]*(?:-[a-zA-Z]*)?:)")


def _quant_max(q: str) -> int:
    if q[0] in "*+":
        return MAXREPEAT
    if q[0] == "?":
        return 1
    inner = q[1:q.index("}")]
    if "," not in inner:
        return int(inner or 0)
    hi = inner.split(",", 1)[1]
    return int(hi) if hi else MAXREPEAT


def _top_level_split(body: str) -> list[str]:
    parts, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(body):
        c = body[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if body.startswith("^", i + 1):
                i += 1
            if body.startswith("]", i + 1):
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(body[start:i])
            start = i + 1
        i += 1
    parts.append(body[start:])
    return parts


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


# --------------------------------------------------------------------------
# Lexical fallback for patterns re._parser cannot read


def _lexical_problems(pattern: str) -> Iterable[str]:
    if _LEXICAL_BACKREF.search(pattern):
        yield "backreference to a group (\\1, (?P=name)): not allowed in rules"
    i, n = 0, len(pattern)
    in_class = False
    prev_quantifiable = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            prev_quantifiable = True
            continue
        if in_class:
            if c == "]":
                in_class = False
                prev_quantifiable = True
            i += 1
            continue
        if c == "[":
            in_class = True
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            if i < n and pattern[i] == "]":
                i += 1
            continue
        if c in "*+" and prev_quantifiable:
            yield f"unbounded quantifier '{c}' at position {i}: bound it with {{m,n}}"
            prev_quantifiable = False
            i += 1
            continue
        if c == "{":
            m = re.match(r"\{(\d*),\}", pattern[i:])
            if m and prev_quantifiable:
                yield f"unbounded quantifier '{m.group()}' at position {i}: bound it with {{m,n}}"
                i += len(m.group())
                prev_quantifiable = False
                continue
            m = re.match(r"\{\d*(?:,\d*)?\}", pattern[i:])
            if m:
                i += len(m.group())
                prev_quantifiable = False  # a following '+'/'?' is possessive/lazy
                continue
        prev_quantifiable = c not in "(|?"
        if c == "?":
            prev_quantifiable = False
        i += 1
