"""Report formats. ``render(fmt, result, ctx)`` returns the report text."""

from __future__ import annotations

from importlib import import_module

from ..models import ScanResult
from .interface import ReportContext, Reporter

# format name -> (module, class); modules are imported only when used.
REPORTERS: dict[str, tuple[str, str]] = {
    "table": ("table", "TableReporter"),
    "json": ("json_report", "JsonReporter"),
    "sarif": ("sarif", "SarifReporter"),
    "markdown": ("markdown", "MarkdownReporter"),
    "github": ("github", "GithubReporter"),
    "gitlab": ("gitlab", "GitlabReporter"),
}


def get_reporter(fmt: str) -> Reporter:
    try:
        module, cls = REPORTERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(REPORTERS)})") from None
    return getattr(import_module(f"{__name__}.{module}"), cls)()


def render(fmt: str, result: ScanResult, ctx: ReportContext | None = None) -> str:
    return get_reporter(fmt).render(result, ctx or ReportContext())


__all__ = ["REPORTERS", "ReportContext", "Reporter", "get_reporter", "render"]
