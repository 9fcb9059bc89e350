"""Terminal table (rich)."""

from __future__ import annotations

import io

from ..models import ScanResult, Severity
from ..output import printable
from .interface import ReportContext, for_display, shown_secret

_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def build_table(result: ScanResult, ctx: ReportContext) -> "FindingsTable":
    """The findings for a terminal: each on at most two lines at any width
    (80 columns included), see :class:`FindingsTable`."""
    return FindingsTable(for_display(result), ctx)


def shorten_path(path: str, width: int) -> str:
    """``path`` in at most ``width`` characters: leading directories are
    replaced by ``…`` first, the file name is kept as long as it fits."""
    if len(path) <= width:
        return path
    if width <= 1:
        return "…"[:width]
    parts = path.split("/")
    name = parts[-1]
    # drop directories from the left while the rest does not fit
    for i in range(1, len(parts)):
        tail = "/".join(parts[i:])
        if len(tail) + 2 <= width:
            return "…/" + tail
    return "…" + name[-(width - 1):]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"


class FindingsTable:
    """Two lines per finding, sized to the console:

    ``SEVERITY  rule-id  path:line:col`` (the path shortened from the left,
    the rule id never cut), then, indented, the redacted secret, the commit
    that introduced it (short hash, ``history only`` when the secret is no
    longer in the working tree), the logical location and the NHI risks,
    clipped at the right edge."""

    INDENT = 10

    def __init__(self, result: ScanResult, ctx: ReportContext):
        self.result, self.ctx = result, ctx

    def lines(self, width: int) -> list[tuple[str, str]]:
        """``(text, style)`` pairs: two per finding (for tests and plain output)."""
        out: list[tuple[str, str]] = []
        for f in self.result.findings:
            sev = f"{f.severity.value.upper():<{self.INDENT - 1}}"
            pos = f":{f.start_line}:{f.start_column}"
            head = f"{sev} {f.rule_id}  "
            room = max(8, width - len(head) - len(pos))
            out.append((head + shorten_path(f.path, room) + pos, _STYLE[f.severity]))
            facts = [shown_secret(f, self.ctx)]
            commit = f.prop("commit")
            if commit:
                facts.append(f"commit {commit[:8]}" + (" (history only)" if f.prop("history_only") else ""))
            if f.not_committed:
                facts.append("(git-ignored, not committed)")
            if f.sent_to_model:
                facts.append("(sent to a model provider)")
            if f.location:
                facts.append(f"[{f.location}]")
            facts.append(" ".join(f.nhi))
            out.append((" " * self.INDENT + _clip("  ".join(facts), max(8, width - self.INDENT)), ""))
        return out

    def __rich_console__(self, console, options):
        from rich.text import Text

        for text, style in self.lines(options.max_width):
            line = Text(text, no_wrap=True, overflow="ellipsis")
            if style:
                line.stylize(style, 0, self.INDENT - 1)
            yield line


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
    if result.suppressed:
        parts.append(suppressed_text(result))
    parts.append(f"{result.duration:.2f}s")
    return printable(", ".join(parts))


SUPPRESSED_LABELS = {"inline-allow": "inline allow comment", "min-severity": "below --min-severity"}


def suppressed_text(result: ScanResult) -> str:
    """``3 suppressed (1 baseline, 2 allowlist)``: findings hidden, by mechanism."""
    total = sum(c for _, c in result.suppressed)
    kinds = ", ".join(f"{c} {SUPPRESSED_LABELS.get(k, k)}" for k, c in result.suppressed)
    return f"{total} suppressed ({kinds})"


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
        return printable(buf.getvalue(), keep="\n\t")
