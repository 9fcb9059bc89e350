"""Terminal table (rich)."""

from __future__ import annotations

import io

from ..models import ScanResult, Severity
from .interface import ReportContext, shown_secret

_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def build_table(result: ScanResult, ctx: ReportContext):
    from rich.table import Table
    from rich.text import Text

    table = Table(title=None, show_lines=False, header_style="bold", expand=False)
    table.add_column("Location", overflow="fold")
    table.add_column("Rule", overflow="fold")
    table.add_column("Provider")
    table.add_column("Severity")
    table.add_column("Secret", overflow="fold")
    table.add_column("NHI", overflow="fold")
    for f in result.findings:
        where = f"{f.path}:{f.start_line}:{f.start_column}"
        if f.location:
            where += f"\n[{f.location}]"
        if f.not_committed:
            where += "\n(git-ignored, not committed)"
        if f.sent_to_model:
            where += "\n(sent to a model provider)"
        table.add_row(
            Text(where),
            Text(f.rule_id),
            Text(f.provider),
            Text(f.severity.value, style=_STYLE[f.severity]),
            Text(shown_secret(f, ctx)),
            Text(" ".join(f.nhi)),
        )
    return table


def summary_line(result: ScanResult) -> str:
    n = len(result.findings)
    mb = result.bytes_scanned / 1e6
    parts = [
        f"{n} finding{'s' if n != 1 else ''}",
        f"{result.files_scanned} file{'s' if result.files_scanned != 1 else ''} scanned ({mb:.1f} MB)",
    ]
    if result.commits_scanned:
        parts.append(f"{result.commits_scanned} commit{'s' if result.commits_scanned != 1 else ''} scanned")
    ignored = sum(1 for f in result.findings if f.not_committed)
    if ignored:
        parts.append(f"{ignored} in git-ignored files")
    sent = sum(1 for f in result.findings if f.sent_to_model)
    if sent:
        parts.append(f"{sent} sent to a model provider")
    if result.skipped:
        parts.append(f"{len(result.skipped)} skipped ({skip_reasons(result.skipped)})")
    suppressed = sum(c for _, c in result.suppressed)
    if suppressed:
        parts.append(f"{suppressed} suppressed")
    parts.append(f"{result.duration:.2f}s")
    return ", ".join(parts)


def skip_reasons(skipped) -> str:
    """``2 binary, 1 larger than --max-file-size``: skipped files counted by
    the kind of reason (the text before any detail in parentheses or after a colon)."""
    counts: dict[str, int] = {}
    for s in skipped:
        kind = s.reason.split(" (", 1)[0].split(":", 1)[0].strip()
        counts[kind] = counts.get(kind, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{n} {k}" for k, n in ranked[:4])
    return text + (", ..." if len(ranked) > 4 else "")


class TableReporter:
    name = "table"

    def render(self, result: ScanResult, ctx: ReportContext) -> str:
        from rich.console import Console

        buf = io.StringIO()
        console = Console(file=buf, width=160, no_color=True, highlight=False)
        if result.findings:
            console.print(build_table(result, ctx))
        console.print(summary_line(result))
        return buf.getvalue()
