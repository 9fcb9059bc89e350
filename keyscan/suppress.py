"""Suppressing accepted findings: inline allow comments, baselines, allowlists.

Suppressed findings are counted by reason so reports can say how many were
hidden (``ScanResult.suppressed``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

from .models import Finding

if TYPE_CHECKING:
    from .baseline import Baseline

INLINE_MARKERS = ("keyscan:allow", "gitleaks:allow", "pragma: allowlist secret")


def has_inline_allow(line: str) -> bool:
    return any(marker in line for marker in INLINE_MARKERS)


JUSTIFICATION = {
    "inline-allow": "a keyscan:allow (or gitleaks:allow, pragma: allowlist secret) comment on the line",
    "baseline": "accepted in the baseline",
    "allowlist": "a value or regex of the configuration's allowlist",
}
"""Why a suppressed finding is hidden, by kind (SARIF ``suppressions[].justification``)."""


def partition(findings: Iterable[Finding], *, baseline: "Optional[Baseline]" = None,
              allow_values: Sequence[str] = (), allow_regexes: Sequence[str] = ()
              ) -> tuple[list[Finding], list[tuple[str, Finding]]]:
    """The findings to report, and the suppressed ones with their kind
    (``inline-allow``, ``baseline``, ``allowlist``: the first that applies)."""
    allowed = set(allow_values)
    patterns = [re.compile(p) for p in allow_regexes]
    kept: list[Finding] = []
    hidden: list[tuple[str, Finding]] = []
    for f in findings:
        if has_inline_allow(f.line_text):
            hidden.append(("inline-allow", f))
        elif baseline is not None and baseline.matches(f):
            hidden.append(("baseline", f))
        elif f.secret in allowed or any(p.search(f.secret) for p in patterns):
            hidden.append(("allowlist", f))
        else:
            kept.append(f)
    return kept, hidden

