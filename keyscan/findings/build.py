"""Build :class:`~keyscan.models.Finding` objects from engine matches."""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, replace
from typing import Optional

from ..detect.engine import RawMatch
from ..documents import Document
from ..models import Finding
from ..fingerprint import fingerprint as _fingerprint
from ..redact import is_password_class, redact


@dataclass(frozen=True)
class Candidate:
    """A match placed in document coordinates."""

    match: RawMatch
    start: int
    end: int
    location: Optional[str]
    decoder: str = ""

    def quality(self) -> tuple:
        rule = self.match.rule
        return (not rule.generic, rule.priority, self.match.confidence.rank,
                self.end - self.start, bool(self.decoder), rule.id)


def fingerprint(rule_id: str, secret: str) -> str:
    """Stable across line moves: a slow hash of the rule and the secret only
    (see :mod:`keyscan.fingerprint`)."""
    return _fingerprint(rule_id, secret)


def resolve_overlaps(cands: list[Candidate]) -> list[Candidate]:
    """Keep the best candidate wherever several report overlapping text
    (a provider rule beats a generic one; decoded beats raw on ties)."""
    if len(cands) < 2:
        return cands
    kept: list[Candidate] = []
    # The kept candidates by start: one that overlaps [start, end) starts in
    # (start - longest, end), a short window (was a pass over every kept one:
    # quadratic, minutes for a minified JSON line holding 45,000 keys).
    starts: list[int] = []
    by_start: list[Candidate] = []
    longest = 0
    for cand in sorted(cands, key=Candidate.quality, reverse=True):
        window = by_start[bisect.bisect_left(starts, cand.start - longest):bisect.bisect_left(starts, cand.end)]
        clash = [k for k in window if not (cand.end <= k.start or cand.start >= k.end)]
        if not clash or _not_shadowed(cand, clash):
            kept.append(cand)
            i = bisect.bisect_right(starts, cand.start)
            starts.insert(i, cand.start)
            by_start.insert(i, cand)
            longest = max(longest, cand.end - cand.start)
    return kept


def _not_shadowed(cand: Candidate, clash: list[Candidate]) -> bool:
    """A custom rule (configuration ``rules``, ``--rules``) cannot lower what a
    built-in rule reports: a built-in finding that only lost to custom rules of
    lower severity (a ``priority: 1000, severity: info`` shadow) is kept too."""
    from ..ruleset.loader import builtin_rules_dir

    rank = (cand.match.severity or cand.match.rule.severity).rank
    if any((k.match.severity or k.match.rule.severity).rank >= rank for k in clash):
        return False
    builtin = str(builtin_rules_dir())
    return os.path.dirname(cand.match.rule.source) == builtin and \
        all(os.path.dirname(k.match.rule.source) != builtin for k in clash)


def build_finding(doc: Document, cand: Candidate, carrier: str = "") -> Finding:
    """``carrier``: the kind of document, when a format decoder recognised it (``ci-log``)."""
    m = cand.match
    rule = m.rule
    start_line, start_col = doc.position(cand.start)
    end_line, end_col = doc.position(max(cand.end - 1, cand.start))
    nhi = ("NHI2",) + tuple(n for n in rule.nhi if n != "NHI2")
    checks = tuple((c.label, c.value) for c in m.checks)
    prov = doc.provenance
    location = cand.location
    if prov.cell:  # a database cell: table and row first, then the decoder's place
        location = f"{prov.cell}, {location}" if location else prov.cell
    if cand.decoder or carrier:
        prov = replace(prov, decoder=cand.decoder or prov.decoder, carrier=carrier or prov.carrier)
    return Finding(
        rule_id=rule.id,
        rule_name=rule.name,
        provider=rule.provider,
        path=doc.path,
        start_line=start_line,
        start_column=start_col,
        end_line=end_line,
        end_column=end_col + 1,
        redacted=redact(m.secret, prefix=not is_password_class(rule.id, rule.tags)),
        fingerprint=fingerprint(rule.id, m.secret),
        severity=m.severity or rule.severity,
        confidence=m.confidence,
        entropy=m.entropy,
        tags=rule.tags,
        location=location,
        nhi=nhi,
        checks=checks,
        provenance=prov,
        secret=m.secret,
        line_text=doc.line_text(start_line),
    )

