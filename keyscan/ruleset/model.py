"""The in-memory form of one detection rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Optional

from ..models import Confidence, Severity


@dataclass(frozen=True)
class Example:
    """A text that a rule must (or must not) report.

    ``secret`` pins the exact value the rule must extract; ``path`` lets an
    example pretend to be a given file type (``.mcp.json``, ``x.ipynb``...).
    """

    text: str
    secret: Optional[str] = None
    path: str = "example.txt"


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    provider: str
    pattern: str
    keywords: tuple[str, ...]
    severity: Severity
    confidence: Confidence = Confidence.HIGH
    family: str = ""
    """Key into the remediation catalogue (defaults to the provider, lower-cased)."""
    min_entropy: float = 0.0
    tags: tuple[str, ...] = ()
    nhi: tuple[str, ...] = ()
    """NHI risks implied by the credential type (NHI2 is always added)."""
    checks: tuple[str, ...] = ()
    """Names of offline structure checks to run on the secret."""
    references: tuple[str, ...] = ()
    description: str = ""
    anchor: str = ""
    """Optional regex that must match right after a keyword hit for the hit
    to count (a cheap gate for rules whose keywords are common words)."""
    window: int = 512
    """How far after a keyword hit the exact regex may reach (characters)."""
    window_before: int = 256
    starts_within: int = -1
    """When >= 0: every match starts at most this many characters before its
    keyword hit, never after it, so the regex is tried anchored at those few
    positions instead of searched through the window (much cheaper for
    patterns that open with a long alternation of names)."""
    priority: int = 0
    """Higher wins when two rules report overlapping text."""
    generic: bool = False
    """Generic (context + entropy) rules give way to provider rules."""
    placeholder_filter: bool = True
    examples: tuple[Example, ...] = ()
    negative_examples: tuple[Example, ...] = ()
    source: str = field(default="", compare=False)
    """The file the rule came from (for error messages)."""


@dataclass(frozen=True)
class RuleCatalogue:
    """The rules a scan ran with, as loaded (built-in and ``--rules``), by id.

    :class:`~keyscan.models.ScanResult` carries the catalogue its engine used,
    so reports and ``keyscan explain`` describe a custom rule exactly as they
    describe a built-in one, without loading any rule file again.
    """

    rules: tuple[Rule, ...] = ()
    _by_id: dict[str, Rule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {r.id: r for r in self.rules})

    def get(self, rule_id: str) -> Optional[Rule]:
        return self._by_id.get(rule_id)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._by_id

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)
