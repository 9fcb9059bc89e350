"""Multi-pattern keyword prefilter.

Every rule keyword is compiled once into one database.  A rule may also carry
an *anchor*: a short regex that must match right after its keyword for the hit
to count (``token`` only matters when followed by ``=`` or ``:`` and a
plausible value).  The prefilter's unit is therefore an :class:`Expr`, a
``(keyword, anchor)`` pair, and a scan returns every valid (case-insensitive,
possibly overlapping) keyword occurrence as ``(expr_index, keyword_end_byte)``;
the exact rule regexes then run only on small windows around those hits.

Two implementations give identical hits:

* :class:`HyperscanPrefilter` (the ``hyperscan`` package, where wheels exist)
  compiles ``keyword + anchor`` into the database itself, so the millions of
  ``key``/``token`` occurrences in ordinary code never reach Python.  Hyperscan
  reports where an anchored match *ends*; the keyword positions behind each end
  are then found and confirmed with the anchor on a few bytes.
* :class:`PythonPrefilter`, a pure-Python fallback built on ``bytes.find``,
  checks the anchor after each keyword occurrence.

Anchors are matched on the UTF-8 bytes, so they must be written as a
*necessary* condition of the rule's pattern in bytes (ASCII classes, negated
classes, bounded repeats sized in bytes).

The same pass answers the decoders' *triggers* (case-sensitive literals: is
it in the file?) and, for *located* triggers, where every occurrence ends, so
a decoder can match at those places instead of searching the file again.
"""

from __future__ import annotations

import threading
from typing import NamedTuple, Optional, Protocol, Sequence

import regex


class Expr(NamedTuple):
    keyword: str
    anchor: str = ""


class Prefilter(Protocol):
    name: str
    triggers: tuple[bytes, ...]
    located: tuple[bytes, ...]

    def hits(self, data: bytes) -> list[tuple[int, int]]:
        """Every valid keyword occurrence in ``data`` as ``(expr_index, keyword_end_offset)``."""
        ...

    def scan(self, data: bytes) -> tuple[list[tuple[int, int]], dict[bytes, list[int]]]:
        """:meth:`hits`, and which of the prefilter's *triggers* occur in ``data``:
        a key per trigger found, whose value lists the end offsets of every
        occurrence for the *located* triggers (ascending) and is empty for the others."""
        ...


def _anchor_pattern(anchor: str) -> "Optional[regex.Pattern[bytes]]":
    return regex.compile(anchor.encode("utf-8")) if anchor else None


class PythonPrefilter:
    name = "python"

    def __init__(self, exprs: Sequence[Expr], triggers: Sequence[bytes] = (), located: Sequence[bytes] = ()):
        self.exprs = tuple(Expr(*e) for e in exprs)
        self.triggers = tuple(triggers)
        wanted = frozenset(located)
        self.located = tuple(t for t in self.triggers if t in wanted)
        by_kw: dict[bytes, list[tuple[int, "Optional[regex.Pattern[bytes]]"]]] = {}
        for i, e in enumerate(self.exprs):
            by_kw.setdefault(e.keyword.lower().encode("ascii"), []).append((i, _anchor_pattern(e.anchor)))
        self._keywords = sorted(by_kw.items())
        # Group keywords by their first two bytes so one find() per group
        # locates candidates for several keywords.
        groups: dict[bytes, list[int]] = {}
        for k, (kw, _) in enumerate(self._keywords):
            groups.setdefault(kw[:2], []).append(k)
        self._groups = sorted(groups.items())

    def hits(self, data: bytes) -> list[tuple[int, int]]:
        lowered = data.lower()  # bytes.lower() only touches ASCII: offsets are kept
        out: list[tuple[int, int]] = []
        find = lowered.find
        startswith = lowered.startswith
        keywords = self._keywords
        for head, members in self._groups:
            pos = find(head)
            while pos != -1:
                for k in members:
                    kw, targets = keywords[k]
                    if startswith(kw, pos):
                        end = pos + len(kw)
                        for i, anchor in targets:
                            if anchor is None or anchor.match(data, end):
                                out.append((i, end))
                pos = find(head, pos + 1)
        return out

    def scan(self, data: bytes) -> tuple[list[tuple[int, int]], dict[bytes, list[int]]]:
        seen: dict[bytes, list[int]] = {t: [] for t in self.triggers if t in data}
        for t in self.located:
            if t in seen:
                ends = seen[t]
                pos = data.find(t)
                while pos != -1:
                    ends.append(pos + len(t))
                    pos = data.find(t, pos + 1)
        return self.hits(data), seen


def _hs_literal(literal: "str | bytes") -> bytes:
    """A literal as a Hyperscan regex (keywords are lower-cased and matched caselessly by the caller)."""
    raw = literal.lower().encode("ascii") if isinstance(literal, str) else literal
    return b"".join(bytes([c]) if chr(c).isalnum() else b"\\x%02x" % c for c in raw)


def _expression(e: Expr, with_anchor: bool) -> bytes:
    """The keyword (caseless), followed by its anchor when ``with_anchor``."""
    lit = b"(?i:" + _hs_literal(e.keyword) + b")"
    return lit + b"(?:" + e.anchor.encode("utf-8") + b")" if with_anchor and e.anchor else lit


def _anchor_width(anchor: str) -> Optional[int]:
    """Most bytes the anchor can match, or None when unbounded or unknown."""
    try:
        import re._parser as sre_parse  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_parse  # type: ignore[no-redef]
    try:
        lo, hi = sre_parse.parse(anchor.encode("utf-8")).getwidth()
    except Exception:
        return None
    return hi if hi < 65536 else None


# Constructs Hyperscan refuses (lookaround, \G, backreferences, atomic groups,
# conditionals, possessive quantifiers): a guess by syntax, confirmed by
# compiling. Saying "unsupported" wrongly only moves that anchor's check to
# Python (same results); saying "supported" wrongly costs one failed compile.
_HS_UNSUPPORTED = regex.compile(rb"\\[1-9G]|\(\?<?[=!]|\(\?>|\(\?\(|[*+?}]\+")


class HyperscanPrefilter:
    name = "hyperscan"

    def __init__(self, exprs: Sequence[Expr], triggers: Sequence[bytes] = (), serialized: bytes | None = None,
                 in_database: Optional[Sequence[bool]] = None, located: Sequence[bytes] = ()):
        import hyperscan

        self._hs = hyperscan
        self.exprs = tuple(Expr(*e) for e in exprs)
        self.triggers = tuple(triggers)
        wanted = frozenset(located)
        self._locates = tuple(t in wanted for t in self.triggers)
        self.located = tuple(t for t, loc in zip(self.triggers, self._locates) if loc)
        self._kw = tuple(e.keyword.lower().encode("ascii") for e in self.exprs)
        if serialized is not None and in_database is not None:
            self.in_database = tuple(in_database)
            self._db = hyperscan.loadb(serialized, hyperscan.HS_MODE_BLOCK)
        else:
            # An anchor goes into the database when it is bounded and Hyperscan
            # supports its constructs; otherwise it is checked in Python.
            # First guess by syntax and compile once (a rule set compiles in about
            # a second); only when Hyperscan refuses the guess is every anchor
            # tried on its own (about 30 ms each), which gives the same answer.
            bounded = [bool(e.anchor) and _anchor_width(e.anchor) is not None for e in self.exprs]
            guess = tuple(b and not _HS_UNSUPPORTED.search(_expression(e, True))
                          for e, b in zip(self.exprs, bounded))
            try:
                self.in_database, self._db = guess, self._compile_all(guess)
            except hyperscan.error:
                self.in_database = tuple(b and self._compiles(_expression(e, True))
                                         for e, b in zip(self.exprs, bounded))
                self._db = self._compile_all(self.in_database)
        # Anchors Hyperscan does not check are matched in Python on every
        # keyword hit; those it checks are needed only to confirm a reported
        # end (``_confirm``), so they are compiled on first use: a start-up
        # from the cache compiles none of the ~100 anchors it does not need.
        self._anchor = tuple(None if db else _anchor_pattern(e.anchor) for e, db in zip(self.exprs, self.in_database))
        self._confirmers: dict[int, "tuple[Optional[regex.Pattern[bytes]], int]"] = {}
        # Hyperscan needs one scratch per concurrent scan: each thread clones
        # its own from this prototype on first use (the engine is thread-safe).
        self._scratch_proto = hyperscan.Scratch(self._db)
        self._local = threading.local()

    def _scratch(self):
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._scratch_proto.clone()
        return scratch

    def _compile_all(self, in_database: Sequence[bool]):
        return self._compile([_expression(e, a) for e, a in zip(self.exprs, in_database)],
                             [_hs_literal(t) for t in self.triggers], self._locates)

    def _compile(self, expressions: list[bytes], triggers: Sequence[bytes] = (), locates: Sequence[bool] = ()):
        """Rule expressions get ids 0..n-1; triggers (case-sensitive literals,
        reported once per scan unless located) the ids after them."""
        db = self._hs.Database(mode=self._hs.HS_MODE_BLOCK)
        exprs = expressions + list(triggers)
        locates = tuple(locates) + (False,) * (len(triggers) - len(locates))
        flags = [0] * len(expressions) + [0 if loc else self._hs.HS_FLAG_SINGLEMATCH for loc in locates]
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
        return db

    def _compiles(self, expression: bytes) -> bool:
        try:
            self._compile([expression])
        except Exception:  # construct Hyperscan does not support: confirm in Python instead
            return False
        return True

    def serialize(self) -> bytes:
        return self._hs.dumpb(self._db)

    def __getstate__(self) -> dict:
        return {"exprs": self.exprs, "triggers": self.triggers, "db": self.serialize(),
                "in_database": self.in_database, "located": self.located}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["exprs"], state["triggers"], state["db"], state["in_database"],  # type: ignore[misc]
                      state.get("located", ()))

    def hits(self, data: bytes) -> list[tuple[int, int]]:
        return self.scan(data)[0]

    def scan(self, data: bytes) -> tuple[list[tuple[int, int]], dict[bytes, list[int]]]:
        out: list[tuple[int, int]] = []
        seen: dict[bytes, list[int]] = {}
        if not data:
            return out, seen
        append = out.append
        ends: list[tuple[int, int]] = []  # (expr, match end) of anchored expressions
        in_db, anchors = self.in_database, self._anchor
        n = len(in_db)
        triggers, locates = self.triggers, self._locates

        def on_match(i: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            if i >= n:
                t = triggers[i - n]
                found = seen.get(t)
                if found is None:
                    found = seen[t] = []
                if locates[i - n]:
                    found.append(to)
            elif in_db[i]:
                ends.append((i, to))
            else:
                anchor = anchors[i]
                if anchor is None or anchor.match(data, to):
                    append((i, to))

        self._db.scan(data, match_event_handler=on_match, scratch=self._scratch())
        if ends:
            out.extend(self._confirm(data, ends))
        return out, seen

    def _confirmer(self, i: int) -> "tuple[Optional[regex.Pattern[bytes]], int]":
        """Expression ``i``'s anchor (compiled on first use) and the most bytes it matches."""
        got = self._confirmers.get(i)
        if got is None:  # two threads may both compile it: same value, no lock needed
            anchor = self.exprs[i].anchor
            got = self._confirmers[i] = (_anchor_pattern(anchor), (_anchor_width(anchor) or 0) if anchor else 0)
        return got

    def _confirm(self, data: bytes, ends: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Keyword positions behind anchored match ends, each confirmed by its anchor.

        A keyword ending at ``k`` whose anchor matches makes Hyperscan report
        an end in ``[k, k + width]``, so every valid keyword lies within
        ``len(keyword) + width`` bytes before some reported end.
        """
        found: set[tuple[int, int]] = set()
        by_expr: dict[int, list[int]] = {}
        for i, to in ends:
            by_expr.setdefault(i, []).append(to)
        for i, tos in by_expr.items():
            anchor, width = self._confirmer(i)
            kw_i = self._kw[i]
            reach = len(kw_i) + width
            lo_done = -1
            for to in sorted(set(tos)):
                lo = max(to - reach, lo_done, 0)
                region = data[lo:to].lower()
                pos = region.find(kw_i)
                while pos != -1:
                    end = lo + pos + len(kw_i)
                    if anchor is not None and anchor.match(data, end):
                        found.add((i, end))
                    pos = region.find(kw_i, pos + 1)
                lo_done = max(lo_done, to - len(kw_i) + 1)
        return sorted(found)


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except Exception:  # ImportError, or a broken native library
        return False
    return True
