"""``keyscan rules check``: compile every rule, check its regex against the
policy (:mod:`.policy`; loading already refuses a rule that breaks it), run
every example through the real pipeline (the same code path as a scan) and
each pattern on adversarial inputs (:mod:`.probe`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..detect.engine import Engine
from .model import Example, Rule


@dataclass(frozen=True)
class CheckProblem:
    rule_id: str
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: rule {self.rule_id!r}: {self.message}"


def check_rules(rules: Sequence[Rule], engine_kind: str = "auto", *, probe: bool = True) -> list[CheckProblem]:
    """Return every problem found; an empty list means all rules pass.
    ``probe``: also run each pattern on adversarial inputs."""
    from ..pipeline.document import scan_bytes  # the real pipeline
    from .policy import pattern_problems
    from .probe import probe_rule

    engine = Engine(rules, engine_kind)
    problems: list[CheckProblem] = []
    for ri, rule in enumerate(rules):
        try:
            engine.pattern(ri)
        except Exception as exc:  # regex.error and friends
            problems.append(CheckProblem(rule.id, rule.source, f"pattern does not compile: {exc}"))
            continue
        for what, pattern in (("pattern", rule.pattern), ("anchor", rule.anchor)):
            for msg in pattern_problems(pattern) if pattern else ():
                problems.append(CheckProblem(rule.id, rule.source, f"{what} breaks the regex policy: {msg}"))
        slow = probe_rule(rule) if probe else None
        if slow:
            problems.append(CheckProblem(rule.id, rule.source, f"slow on an adversarial input: {slow}"))
        for n, ex in enumerate(rule.examples, 1):
            hits = _hits(engine, rule, ex, scan_bytes)
            if not hits:
                problems.append(CheckProblem(rule.id, rule.source,
                                             f"example {n} not detected: {_short(ex.text)}"))
            elif ex.secret is not None and ex.secret not in hits:
                problems.append(CheckProblem(
                    rule.id, rule.source,
                    f"example {n}: extracted {len(hits)} value(s), none equal to the expected secret"))
        for n, ex in enumerate(rule.negative_examples, 1):
            if _hits(engine, rule, ex, scan_bytes):
                problems.append(CheckProblem(rule.id, rule.source,
                                             f"negative example {n} reported: {_short(ex.text)}"))
    return problems


def _hits(engine: Engine, rule: Rule, ex: Example, scan_bytes) -> list[str]:
    findings = scan_bytes(engine, ex.path, ex.text.encode("utf-8", "surrogatepass"))
    return [f.secret for f in findings if f.rule_id == rule.id]


def _short(text: str, limit: int = 60) -> str:
    from ..redact import redact

    # Never echo a credential: show the example's shape only.
    one = " ".join(text.split())
    return redact(one) if len(one) > 12 else repr(one[:limit])
