"""The reporter interface: every output format renders a ScanResult to text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..models import Finding, ScanResult


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
    return f.secret if ctx.show_secrets and f.secret else f.redacted
