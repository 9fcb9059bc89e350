"""The adversarial probe of ``keyscan rules check``: each rule's regex on
inputs built to make a backtracking pattern slow (runs of its keywords and
alphabet, near misses of its examples), at two sizes.

A pattern that follows the policy (:mod:`keyscan.ruleset.policy`) costs
about 4x the CPU time on a 4x larger input; a pattern that backtracks
super-linearly costs 16x or more, or runs into the time-out.  Inputs too
cheap to measure are not compared.
"""

from __future__ import annotations

import time
from typing import Iterator, Optional

import regex

from .model import Rule

SIZE = 40_000
"""Characters per adversarial input (the small input is a quarter of it)."""
TIMEOUT = 2.0
"""Seconds one adversarial input may take before the rule is reported."""
MEASURABLE = 0.02
"""CPU seconds under which a run is too short to compare."""
MAX_RATIO = 8.0
"""Cost ratio for 4x the input above which the growth is not linear."""


def _alphabet(rule: Rule) -> str:
    chars = set("".join(e.secret or e.text for e in rule.examples)) - {"\n", "\r"}
    return "".join(sorted(chars)) or "aA0"


def _fill(unit: str, size: int) -> str:
    return (unit * (size // max(len(unit), 1) + 1))[:size]


def adversarial_inputs(rule: Rule, size: int = SIZE) -> Iterator[tuple[str, str]]:
    """``(name, text)`` pairs: the inputs the probe runs ``rule`` on."""
    alpha = _alphabet(rule)
    for kw in rule.keywords[:3]:
        yield f"run of {kw!r} then the alphabet", _fill(kw, size // 2) + _fill(alpha, size // 2)
        yield f"{kw!r} + alphabet, repeated", _fill(kw + alpha, size)
        yield f"{kw!r} + a run of spaces", kw + "=" + " " * size + "x"
        yield f"{kw!r} + a run of one letter", kw + "=" + "A" * size
    for n, ex in enumerate(rule.examples[:2], 1):
        line = ex.text.replace("\n", " ")
        yield f"example {n} as one long line", _fill(line, size)
        yield f"example {n} near miss (last char cut), repeated", _fill(line[:-1] + " ", size)
        yield f"example {n} near miss (last char doubled), repeated", _fill(line + line[-1:] + "\n", size)
        yield f"example {n} then its alphabet", ex.text + _fill(alpha, size)
        if ex.secret and len(ex.secret) > 8:
            cut = ex.secret[: len(ex.secret) // 2]
            yield f"example {n} half secrets, repeated", _fill(line.replace(ex.secret, cut) + " ", size)


def _cpu(pattern: "regex.Pattern[str]", text: str, timeout: float) -> float:
    """CPU seconds of one full search (other processes' load does not count);
    infinite when the regex ran into ``timeout``."""
    t0 = time.process_time()
    try:
        for _ in pattern.finditer(text, timeout=timeout):
            pass
    except TimeoutError:
        return float("inf")
    return time.process_time() - t0


def probe_rule(rule: Rule, size: int = SIZE, timeout: float = TIMEOUT) -> Optional[str]:
    """Why ``rule``'s pattern is slow on an adversarial input, or None."""
    pattern = regex.compile(rule.pattern)
    small = dict(adversarial_inputs(rule, size // 4))
    for name, text in adversarial_inputs(rule, size):
        big = _cpu(pattern, text, timeout)
        if big == float("inf"):
            return f"{name}: timed out after {timeout:g} s"
        if big < MEASURABLE:
            continue
        ratio = big / max(_cpu(pattern, small[name], timeout), 1e-4)
        if ratio > MAX_RATIO:  # once more before reporting: one run can be skewed by a page fault
            ratio = min(ratio, _cpu(pattern, text, timeout) / max(_cpu(pattern, small[name], timeout), 1e-4))
        if ratio > MAX_RATIO:
            return f"{name}: {ratio:.0f}x the time for 4x the input (not linear)"
    return None
