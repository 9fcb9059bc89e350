"""The reporter interface: every output format renders a ScanResult to text."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from ..models import Finding, ScanResult, SkippedFile
from ..output import printable


@dataclass(frozen=True)
class ReportContext:
    show_secrets: bool = False
    root: str = "."
    """Directory that relative URIs (SARIF, GitLab) are resolved against."""


class Reporter(Protocol):
    name: str

    def render(self, result: ScanResult, ctx: ReportContext) -> str:
        ...


def shown_secret(f: Finding, ctx: ReportContext) -> str:
    """The secret as a report may show it: redacted unless ``--show-secrets``."""
    return printable(f.secret if ctx.show_secrets and f.secret else f.redacted)


def _display_finding(f: Finding) -> Finding:
    prov = f.provenance
    changed: dict[str, Any] = {k: printable(v) for k, v in dataclasses.asdict(prov).items()
                               if isinstance(v, str) and printable(v) != v}
    if changed:
        prov = dataclasses.replace(prov, **changed)
    return dataclasses.replace(
        f, rule_id=printable(f.rule_id), rule_name=printable(f.rule_name), provider=printable(f.provider),
        path=printable(f.path), location=None if f.location is None else printable(f.location),
        redacted=printable(f.redacted), tags=tuple(printable(t) for t in f.tags),
        checks=tuple((printable(k), printable(v)) for k, v in f.checks), provenance=prov)


def _texts(f: Finding) -> "list[str]":
    return [f.rule_id, f.rule_name, f.provider, f.path, f.location or "", f.redacted, *f.tags,
            *(x for kv in f.checks for x in kv), *(v for _, v in f.provenance.pairs())]


def for_display(result: ScanResult) -> ScanResult:
    """``result`` as every report shows it: each string that came from scanned
    content (paths, locations, rule ids and names from repo rules, provenance
    such as archive members, skipped reasons, errors) passed through
    :func:`keyscan.output.printable`, so no format carries a raw control
    character, escape sequence, bidi override or undecodable byte, and a
    non-UTF-8 file name reads the same (``\\xff``) everywhere.  ``secret``
    and ``line_text`` stay raw (SARIF compares them with the line; what is
    shown of them is escaped where it is shown).  Returns ``result`` itself
    when nothing needs escaping."""
    def clean(texts) -> bool:
        return all(printable(t) == t for t in texts)

    if (all(clean(_texts(f)) for f in result.findings)
            and all(clean(_texts(f)) for _, f in result.suppressed_findings)
            and clean(t for s in result.skipped for t in (s.path, s.reason))
            and clean(result.errors) and clean(result.config_changes)
            and clean(k for k, _ in result.suppressed)):
        return result
    return dataclasses.replace(
        result,
        findings=tuple(_display_finding(f) for f in result.findings),
        suppressed_findings=tuple((k, _display_finding(f)) for k, f in result.suppressed_findings),
        skipped=tuple(SkippedFile(printable(s.path), printable(s.reason)) for s in result.skipped),
        errors=tuple(printable(e) for e in result.errors),
        config_changes=tuple(printable(c) for c in result.config_changes),
        suppressed=tuple((printable(k), n) for k, n in result.suppressed))
