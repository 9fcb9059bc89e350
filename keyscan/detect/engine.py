"""The detection engine: one keyword prefilter for all rules, then each rule's
exact regex only on small windows around its keyword hits.

Rule regexes are compiled lazily (the first time a rule's keyword is seen), so
a scan pays only for the rules that can match.  There is no per-line or
per-rule loop over the input: the prefilter reads every byte once in native
code and Python only looks at the hits.

An :class:`Engine` is safe to use from several threads at once: the Hyperscan
prefilter gives each thread its own scratch space, compiled rule regexes are
only ever added (a race compiles one twice, harmlessly) and decoders keep no
per-document state outside the document.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import regex

from ..entropy import shannon_entropy
from ..models import Confidence, Severity
from ..ruleset.model import Rule
from .checks import CHECKS, CONTEXT_CHECKS, CheckOutcome
from .filters import generic_entropy_ok, is_generic_false_positive, is_placeholder, password_value_ok
from .prefilter import Expr, HyperscanPrefilter, Prefilter, PythonPrefilter, hyperscan_available

REGEX_TIMEOUT = 2.0  # seconds per window; a pathological input cannot hang a scan
RULE_BUDGET = 10.0
"""CPU seconds of regex time one rule may spend on one document (all its windows,
the raw text and every decoded view): a rule over it is disabled for the rest
of the document and reported with its id."""


@dataclass
class RuleBudget:
    """Regex time per rule in one document (see :data:`RULE_BUDGET`)."""

    seconds: float = field(default_factory=lambda: RULE_BUDGET)
    spent: dict[str, float] = field(default_factory=dict)
    timed_out: set[str] = field(default_factory=set)
    """Rules a window of which ran into ``REGEX_TIMEOUT`` (matches there are missing)."""
    disabled: set[str] = field(default_factory=set)
    """Rules that used up their budget and were not run on the rest of the document."""


@dataclass(frozen=True)
class RawMatch:
    """A rule match inside one text (offsets are character offsets in that text)."""

    rule: Rule
    start: int
    end: int
    secret: str
    entropy: float
    confidence: Confidence
    checks: tuple[CheckOutcome, ...] = ()
    severity: Optional[Severity] = None  # set when a check demoted the finding (else the rule's)


_UNPACK_TARGETS = regex.compile(r"(?:^|[\s(\[`])[A-Za-z_][\w.]*[ \t]*,[ \t]*(?:[A-Za-z_][\w.]*[ \t]*,[ \t]*)*[\w.]*$")
"""A line's text before a password name that makes it one of several
assignment targets (``username, password = ...``, ``host, port, db_password = ...``)."""
_NAME_EXPRESSION = regex.compile(r"[A-Za-z_][\w.]*$")


def _unpacked_into(text: str, name_start: int) -> bool:
    """The password name at ``name_start`` is one of several targets of a tuple assignment."""
    line_start = text.rfind("\n", 0, name_start) + 1
    return _UNPACK_TARGETS.search(text, line_start, name_start) is not None


class Engine:
    decode_depth: int = 3
    """Encoding layers decoders unwrap (a scan setting carried with the engine
    to every worker, like ``generic_min_entropy``; set by ``build_engine``)."""

    def __init__(self, rules: Sequence[Rule], kind: str = "auto", *, triggers: Sequence[bytes] = (),
                 located: Sequence[bytes] = (), prefilter: Optional[Prefilter] = None,
                 generic_min_entropy: float = 0.0):
        """``triggers`` are literals (decoders' cheap gates) whose presence the
        same prefilter pass reports, see :meth:`scan`; for those also in
        ``located`` it reports where every occurrence ends."""
        self.rules = tuple(rules)
        self.generic_min_entropy = generic_min_entropy
        # One prefilter expression per distinct (keyword, anchor) pair.
        exprs: list[Expr] = []
        index: dict[Expr, int] = {}
        expr_rules: list[list[int]] = []
        for ri, rule in enumerate(self.rules):
            for kw in rule.keywords:
                e = Expr(kw, rule.anchor)
                if e not in index:
                    index[e] = len(exprs)
                    exprs.append(e)
                    expr_rules.append([])
                expr_rules[index[e]].append(ri)
        self.exprs = tuple(exprs)
        self._kw_len = tuple(len(e.keyword) for e in exprs)
        self._expr_rules = tuple(tuple(r) for r in expr_rules)
        self._compiled: dict[int, "regex.Pattern[str]"] = {}
        self.prefilter = prefilter if prefilter is not None else _make_prefilter(kind, self.exprs, tuple(triggers),
                                                                                 tuple(located))
        self.triggers = frozenset(self.prefilter.triggers)
        self.located = frozenset(getattr(self.prefilter, "located", ()))

    @property
    def kind(self) -> str:
        return self.prefilter.name

    # -- pickling between processes (never for the on-disk cache, which holds
    # plain data: keyscan/cache.py): rules + the prefilter (a Hyperscan
    # database pickles as its serialized form) --------------------------------
    def __getstate__(self) -> dict:
        return {"rules": self.rules, "prefilter": self.prefilter,
                "generic_min_entropy": self.generic_min_entropy, "decode_depth": self.decode_depth}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["rules"], prefilter=state["prefilter"],  # type: ignore[misc]
                      generic_min_entropy=state.get("generic_min_entropy", 0.0))
        self.decode_depth = state.get("decode_depth", Engine.decode_depth)

    def pattern(self, ri: int) -> "regex.Pattern[str]":
        pat = self._compiled.get(ri)
        if pat is None:
            pat = self._compiled[ri] = regex.compile(self.rules[ri].pattern)
        return pat

    def scan(self, data: bytes, text: "Optional[str] | Callable[[], str]" = None,
             errors: str = "replace", triggers: Optional[dict[bytes, list[int]]] = None,
             timeouts: Optional[set[str]] = None, budget: Optional[RuleBudget] = None) -> list[RawMatch]:
        """Find rule matches in ``data`` (UTF-8 bytes of ``text``).

        ``text`` (a string, or a function returning it) is decoded from
        ``data`` (with ``errors``) when not given; it is only needed when the
        prefilter reports a hit.  When ``text`` is
        given, ``errors`` must be the handler that turns ``data`` into it.
        The triggers found in ``data`` are added to ``triggers`` when given
        (with the end offsets of every occurrence for located triggers).
        The id of a rule whose regex ran out of time (``REGEX_TIMEOUT`` per
        window: matches in that window are missing) is added to ``timeouts``.
        ``budget`` (one per document) limits each rule's regex time over every
        call that shares it: a rule past it is skipped and listed in
        ``budget.disabled``.
        """
        if triggers is None:
            hits = self.prefilter.hits(data)
        else:
            hits, seen = self.prefilter.scan(data)
            triggers.update(seen)
        if not hits:
            return []
        if callable(text):
            text = text()
        elif text is None:
            text = data.decode("utf-8", errors)
        to_char = _offset_mapper(data, text, hits, errors)
        per_rule: dict[int, list[tuple[int, int]]] = {}
        kw_len, expr_rules = self._kw_len, self._expr_rules
        for ex, end in hits:
            cend = to_char(end)
            span = (cend - kw_len[ex], cend)
            for ri in expr_rules[ex]:
                per_rule.setdefault(ri, []).append(span)
        out: list[RawMatch] = []
        if budget is None:
            budget = RuleBudget()
        for ri in sorted(per_rule):
            out.extend(self._run_rule(ri, text, sorted(set(per_rule[ri])), budget))
        if timeouts is not None:
            timeouts.update(budget.timed_out, budget.disabled)
        return out

    def _run_rule(self, ri: int, text: str, spans: list[tuple[int, int]], budget: RuleBudget) -> list[RawMatch]:
        # Anchors were checked by the prefilter: every span is a valid hit.
        rule = self.rules[ri]
        if rule.id in budget.disabled:
            return []
        pattern = self.pattern(ri)
        clock = _Clock(budget, rule.id)
        if rule.starts_within >= 0:
            matches = self._anchored_matches(pattern, rule, text, spans, clock)
        else:
            matches = self._window_matches(pattern, rule, text, spans, clock)
        clock.stop()
        starts = [s for s, _ in spans]
        results: list[RawMatch] = []
        seen: set[tuple[int, int]] = set()
        for m in matches:
            # The match must contain a keyword hit; this keeps window edges
            # from inventing matches out of truncated tokens.
            if not _contains_hit(spans, starts, m.start(), m.end()):
                continue
            s, e = m.span("secret")
            if s < 0 or e <= s or (s, e) in seen:
                continue
            seen.add((s, e))
            found = self._accept(rule, m.group("secret"), s, e, m)
            if found is not None:
                results.append(found)
        return results

    @staticmethod
    def _window_matches(pattern: "regex.Pattern[str]", rule: Rule, text: str,
                        spans: list[tuple[int, int]], clock: "_Clock") -> list["regex.Match[str]"]:
        """Matches anywhere in the windows around hits (overlapping windows merged)."""
        n = len(text)
        windows: list[list[int]] = []
        for s, e in spans:
            ws, we = max(0, s - rule.window_before), min(n, e + rule.window)
            if windows and ws <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], we)
            else:
                windows.append([ws, we])
        out: list["regex.Match[str]"] = []
        for ws, we in windows:
            timeout = clock.timeout()
            if timeout is None:
                break
            try:
                out.extend(pattern.finditer(text, ws, we, timeout=timeout))
            except TimeoutError:
                clock.ran_out(timeout)
        return out

    @staticmethod
    def _anchored_matches(pattern: "regex.Pattern[str]", rule: Rule, text: str,
                          spans: list[tuple[int, int]], clock: "_Clock") -> list["regex.Match[str]"]:
        """Matches starting within ``rule.starts_within`` characters before a hit
        (``spans`` sorted: the positions up to the previous hit were tried for it)."""
        n = len(text)
        tried = -1
        out: list["regex.Match[str]"] = []
        for s, e in spans:
            end = min(n, e + rule.window)
            for pos in range(max(0, s - rule.starts_within, tried + 1), s + 1):
                timeout = clock.timeout()
                if timeout is None:
                    return out
                try:
                    m = pattern.match(text, pos, end, timeout=timeout)
                except TimeoutError:
                    clock.ran_out(timeout)
                    continue
                if m is not None:
                    out.append(m)
            tried = s
        return out

    def _accept(self, rule: Rule, secret: str, start: int, end: int,
                match: "Optional[regex.Match[str]]" = None) -> Optional[RawMatch]:
        entropy = shannon_entropy(secret)
        if entropy < rule.min_entropy or (rule.generic and entropy < self.generic_min_entropy):
            return None
        if rule.generic:
            if "password" in rule.tags:  # human passwords: no entropy threshold
                text = match.string if match is not None else ""
                quoted = 0 < start <= end < len(text) and text[start - 1] in "\"'`" and text[end] == text[start - 1]
                in_code = (not quoted and end < len(text) and text[end] in ",;)}<"
                           and text[start - 1: start] != ">")  # `<password>x</password>` is a value
                if not quoted and match is not None and _unpacked_into(text, match.start()) \
                        and _NAME_EXPRESSION.match(secret):
                    return None  # `username, password = creds`: a variable unpacked in code, not a value
                if not password_value_ok(secret, unquoted_in_code=in_code):
                    return None
            elif is_generic_false_positive(secret) or not generic_entropy_ok(secret, entropy):
                return None
        elif rule.placeholder_filter and is_placeholder(secret):
            return None
        confidence = rule.confidence
        severity: Optional[Severity] = None
        outcomes: list[CheckOutcome] = []
        for name in rule.checks:
            check = CHECKS.get(name)
            if check is not None:
                outcome = check(secret)
            elif name in CONTEXT_CHECKS:
                outcome = CONTEXT_CHECKS[name](secret, match.groupdict() if match is not None else {})
            else:
                outcome = None
            if outcome is None:
                continue
            if outcome.effect == "reject":
                return None
            if outcome.effect == "demote":
                confidence, severity = Confidence.LOW, Severity.LOW
            elif outcome.effect == "raise":
                confidence = Confidence.HIGH
            elif outcome.effect == "lower":
                confidence = _lower(confidence)
            outcomes.append(outcome)
        return RawMatch(rule, start, end, secret, round(entropy, 3), confidence, tuple(outcomes), severity)



_REREAD = 0.05


class _Clock:
    """One rule's regex time in one :meth:`Engine.scan` call, charged to its
    budget.  CPU time of this thread, so other processes' load (a busy CI
    machine) never disables a rule; each regex call's time-out (wall clock) is
    what was left of the budget at the last reading, so a call never runs past
    it.  Reading the thread's CPU clock is a system call (microseconds, about
    ten times a wall-clock reading), so it is read again only after
    ``_REREAD`` seconds of wall time: most windows take microseconds."""

    def __init__(self, budget: RuleBudget, rule_id: str) -> None:
        self.budget, self.rule_id = budget, rule_id
        self.start = time.thread_time()
        self.deadline = self.start + budget.seconds - budget.spent.get(rule_id, 0.0)
        self.next: Optional[float] = None
        """The time-out of the next regex call, as of the last reading (only
        this clock disables its rule while it runs: one document is scanned
        by one thread)."""
        self._read(time.perf_counter(), self.start)

    def _read(self, now: float, cpu: float) -> None:
        self.read_at = now
        left = self.deadline - cpu
        if left <= 0:
            self.budget.disabled.add(self.rule_id)
            self.next = None
        else:
            self.next = REGEX_TIMEOUT if left > REGEX_TIMEOUT else left

    def timeout(self) -> Optional[float]:
        """The time-out of the next regex call (None: the budget is used up)."""
        now = time.perf_counter()
        if now - self.read_at > _REREAD and self.next is not None:
            self._read(now, time.thread_time())
        return self.next

    def ran_out(self, timeout: float) -> None:
        if timeout < REGEX_TIMEOUT:
            self.budget.disabled.add(self.rule_id)
            self.next = None
        else:
            self.budget.timed_out.add(self.rule_id)

    def stop(self) -> None:
        spent = self.budget.spent
        spent[self.rule_id] = spent.get(self.rule_id, 0.0) + time.thread_time() - self.start

def _contains_hit(spans: list[tuple[int, int]], starts: list[int], ms: int, me: int) -> bool:
    j = bisect.bisect_left(starts, ms)
    while j < len(spans) and spans[j][0] < me:
        if spans[j][1] <= me:
            return True
        j += 1
    return False


def _lower(c: Confidence) -> Confidence:
    return {Confidence.HIGH: Confidence.MEDIUM}.get(c, Confidence.LOW)


def _offset_mapper(data: bytes, text: str, hits: list[tuple[int, int]], errors: str):
    """Map byte offsets of keyword hits (always on ASCII boundaries) to character offsets."""
    if len(data) == len(text):
        return lambda b: b
    table: dict[int, int] = {}
    prev_b = prev_c = 0
    for b in sorted({end for _, end in hits}):
        prev_c += len(data[prev_b:b].decode("utf-8", errors))
        prev_b = b
        table[b] = prev_c
    return table.__getitem__


def _make_prefilter(kind: str, exprs: Sequence[Expr], triggers: Sequence[bytes],
                    located: Sequence[bytes] = ()) -> Prefilter:
    if kind not in ("auto", "hyperscan", "python"):
        raise ValueError(f"unknown engine {kind!r} (auto, hyperscan, python)")
    if kind == "python" or (kind == "auto" and not hyperscan_available()) or not exprs:
        return PythonPrefilter(exprs, triggers, located)
    return HyperscanPrefilter(exprs, triggers, located=located)
