"""Suppressing accepted findings: inline allow comments, baselines, allowlists.

Suppressed findings are counted by reason so reports can say how many were
hidden (``ScanResult.suppressed``).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

from .models import Finding

if TYPE_CHECKING:
    from .baseline import Baseline

INLINE_MARKERS = ("keyscan:allow", "gitleaks:allow", "pragma: allowlist secret")


def has_inline_allow(line: str) -> bool:
    return any(marker in line for marker in INLINE_MARKERS)


def apply_suppressions(findings: Iterable[Finding], *, baseline: "Optional[Baseline]" = None,
                       allow_values: Sequence[str] = (), allow_regexes: Sequence[str] = ()
                       ) -> tuple[list[Finding], dict[str, int]]:
    allowed = set(allow_values)
    patterns = [re.compile(p) for p in allow_regexes]
    kept: list[Finding] = []
    counts: Counter[str] = Counter()
    for f in findings:
        if has_inline_allow(f.line_text):
            counts["inline-allow"] += 1
        elif baseline is not None and baseline.matches(f):
            counts["baseline"] += 1
        elif f.secret in allowed or any(p.search(f.secret) for p in patterns):
            counts["allowlist"] += 1
        else:
            kept.append(f)
    return kept, dict(sorted(counts.items()))
