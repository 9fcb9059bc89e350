"""Typer command definitions (argument parsing only; work happens in the library)."""

from __future__ import annotations

import functools
import os
import sys
from enum import Enum
from typing import List, Optional

import typer

from .errors import UsageError


class Format(str, Enum):
    table = "table"
    json = "json"
    sarif = "sarif"
    markdown = "markdown"
    github = "github"
    gitlab = "gitlab"


class EngineKind(str, Enum):
    auto = "auto"
    hyperscan = "hyperscan"
    python = "python"


SEVERITIES = "info, low, medium, high, critical"


def guarded(func):
    """Turn keyscan errors into a one-line message and exit code, Ctrl-C into 130."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .errors import KeyscanError

        try:
            return func(*args, **kwargs)
        except KeyscanError as exc:
            sys.stderr.write(f"keyscan: error: {exc}\n")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            sys.stderr.write("keyscan: interrupted\n")
            raise typer.Exit(130) from None

    return wrapper


def register(app: typer.Typer) -> None:
    app.command("scan", help="Scan files and directories (default command). Use - to read stdin.")(scan_cmd)
    rules_app = typer.Typer(help="List and check detection rules.", no_args_is_help=True)
    rules_app.command("list", help="List the loaded rules.")(rules_list_cmd)
    rules_app.command("check", help="Compile every rule and run every example through the pipeline.")(
        rules_check_cmd)
    app.add_typer(rules_app, name="rules")
    app.command("explain", help="Explain a rule: its risk, OWASP NHI mapping and remediation steps.")(explain_cmd)
    app.command("report", help="Scan and write a markdown summary (NHI risks, providers, migration actions).")(
        report_cmd)

    @app.callback(invoke_without_command=True)
    def _root(version: bool = typer.Option(False, "--version", "-V", help="Show the version and exit.")):
        if version:
            from ._version import __version__

            typer.echo(f"keyscan {__version__}")
            raise typer.Exit(0)


def _severity(value: str, option: str):
    from .models import Severity

    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


@guarded
def scan_cmd(
    paths: List[str] = typer.Argument(None, help="Files or directories to scan (default: .). Use - for stdin."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    output: Optional[str] = typer.Option(None, "--output", "-o",
                                         help="Write the report to FILE (atomically, mode 0600)."),
    show_secrets: bool = typer.Option(False, "--show-secrets",
                                      help="Show secrets in clear (default: prefix and length only)."),
    min_severity: str = typer.Option("info", "--min-severity", help=f"Report only findings at or above: {SEVERITIES}."),
    fail_on: str = typer.Option("info", "--fail-on", help=f"Exit 1 only for findings at or above: {SEVERITIES}."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when there are findings."),
    rules: List[str] = typer.Option([], "--rules", help="Extra rules directory or file (repeatable)."),
    disable_rule: List[str] = typer.Option([], "--disable-rule", help="Rule id to turn off (repeatable)."),
    no_entropy: bool = typer.Option(False, "--no-entropy", help="Turn off generic entropy-based detection."),
    max_file_size: str = typer.Option("10MB", "--max-file-size",
                                      help="Skip (and report) files larger than this (e.g. 10MB, 512k)."),
    follow_symlinks: bool = typer.Option(False, "--follow-symlinks", help="Follow symbolic links."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0: one per core for large scans)."),
    engine: EngineKind = typer.Option(EngineKind.auto, "--engine", help="Prefilter engine."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the report (no summary, no progress)."),
) -> None:
    from .models import ScanOptions
    from .output import parse_size

    try:
        size = parse_size(max_file_size)
    except ValueError as exc:
        raise UsageError(f"--max-file-size: {exc}") from None
    min_sev = _severity(min_severity, "--min-severity")
    fail_sev = _severity(fail_on, "--fail-on")
    paths = paths or ["."]
    stdin_data = sys.stdin.buffer.read() if "-" in paths else None

    progress_ctx = _progress(enabled=not (no_progress or quiet) and sys.stderr.isatty())
    with progress_ctx as progress_cb:
        options = ScanOptions(
            paths=tuple(paths),
            max_file_size=size,
            follow_symlinks=follow_symlinks,
            extra_rule_dirs=tuple(rules),
            disabled_rules=tuple(disable_rule),
            min_severity=min_sev,
            jobs=jobs,
            engine=engine.value,
            entropy=not no_entropy,
            stdin_data=stdin_data,
            progress=progress_cb,
        )
        from .api import scan

        result = scan(options)

    _emit(result, fmt.value, output, show_secrets, quiet)
    failing = [f for f in result.findings if f.severity.rank >= fail_sev.rank]
    raise typer.Exit(1 if failing and not exit_zero else 0)


def _emit(result, fmt: str, output: Optional[str], show_secrets: bool, quiet: bool) -> None:
    from .report import ReportContext, render
    from .report.table import summary_line

    ctx = ReportContext(show_secrets=show_secrets, root=os.getcwd())
    if fmt == "table" and output is None:
        from rich.console import Console

        from .report.table import build_table

        # Piped output is not wrapped at 80 columns: keep one row per finding.
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 220)
        if result.findings:
            console.print(build_table(result, ctx))
        if not quiet:
            Console(stderr=True, highlight=False).print(summary_line(result))
        return
    try:
        text = render(fmt, result, ctx)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if output:
        from .output import write_private

        try:
            write_private(output, text)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    if not quiet:
        sys.stderr.write(summary_line(result) + "\n")


class _progress:
    """A rich progress bar on stderr (only for a terminal)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar = None
        self._task = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.console import Console

        self._bar = Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                             console=Console(stderr=True), transient=True)
        self._bar.__enter__()
        self._task = self._bar.add_task("scan", total=None)

        def update(done: int, total: int) -> None:
            self._bar.update(self._task, completed=done, total=total)

        return update

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False


@guarded
def rules_list_cmd(
    rules: List[str] = typer.Option([], "--rules", help="Extra rules directory or file (repeatable)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    from .ruleset import load_rules

    loaded = load_rules(rules)
    if fmt == "json":
        import json

        typer.echo(json.dumps([{"id": r.id, "name": r.name, "provider": r.provider, "family": r.family,
                                "severity": r.severity.value, "nhi": ["NHI2", *r.nhi], "tags": list(r.tags)}
                               for r in loaded], indent=2))
        return
    if fmt != "table":
        raise UsageError("--format: choose table or json")
    from rich.console import Console
    from rich.table import Table

    table = Table(header_style="bold")
    for col in ("ID", "Name", "Provider", "Severity", "NHI"):
        table.add_column(col)
    for r in loaded:
        table.add_row(r.id, r.name, r.provider, r.severity.value, " ".join(["NHI2", *r.nhi]))
    console = Console()
    console.print(table)
    console.print(f"{len(loaded)} rules")


@guarded
def rules_check_cmd(
    rules: List[str] = typer.Option([], "--rules", help="Extra rules directory or file (repeatable)."),
    engine: EngineKind = typer.Option(EngineKind.auto, "--engine", help="Prefilter engine."),
) -> None:
    from .ruleset import load_rules
    from .ruleset.check import check_rules

    loaded = load_rules(rules)
    problems = check_rules(loaded, engine.value)
    for p in problems:
        typer.echo(str(p), err=True)
    examples = sum(len(r.examples) + len(r.negative_examples) for r in loaded)
    status = "FAILED" if problems else "ok"
    typer.echo(f"{len(loaded)} rules, {examples} examples: {status} ({len(problems)} problems)")
    raise typer.Exit(1 if problems else 0)


@guarded
def explain_cmd(
    rule_id: str = typer.Argument(..., help="Rule id, e.g. github-pat-classic (see `keyscan rules list`)."),
    rules: List[str] = typer.Option([], "--rules", help="Extra rules directory or file (repeatable)."),
) -> None:
    from .remediation import explain_text
    from .ruleset import load_rules

    found = {r.id: r for r in load_rules(rules)}.get(rule_id.strip())
    if found is None:
        raise UsageError(f"unknown rule id {rule_id!r} (see 'keyscan rules list')")
    typer.echo(explain_text(found), nl=False)


@guarded
def report_cmd(
    paths: List[str] = typer.Argument(None, help="Files or directories to scan (default: .)."),
    output: Optional[str] = typer.Option(None, "--output", "-o",
                                         help="Write the markdown report to FILE (atomically, mode 0600)."),
    title: str = typer.Option("keyscan secret report", "--title", help="Report heading."),
    top: int = typer.Option(10, "--top", min=1, help="How many migration actions to list."),
    rules: List[str] = typer.Option([], "--rules", help="Extra rules directory or file (repeatable)."),
    disable_rule: List[str] = typer.Option([], "--disable-rule", help="Rule id to turn off (repeatable)."),
    no_entropy: bool = typer.Option(False, "--no-entropy", help="Turn off generic entropy-based detection."),
    min_severity: str = typer.Option("info", "--min-severity", help=f"Report only findings at or above: {SEVERITIES}."),
) -> None:
    """Scan and write a markdown summary for a ticket: findings by NHI risk,
    provider and file type, and the top migration actions.  Exits 0 once the
    report is written (it is a report, not a gate: use `keyscan scan` to fail CI)."""
    from .api import scan
    from .models import ScanOptions
    from .report.interface import ReportContext
    from .report.markdown import render_markdown
    from .ruleset import load_rules

    options = ScanOptions(paths=tuple(paths or ["."]), extra_rule_dirs=tuple(rules),
                          disabled_rules=tuple(disable_rule), entropy=not no_entropy,
                          min_severity=_severity(min_severity, "--min-severity"))
    result = scan(options)
    ctx = _RulesContext(root=os.getcwd(), rules=load_rules(rules))
    text = render_markdown(result, ctx, title=title, top=top)
    if output:
        from .output import write_private

        try:
            write_private(output, text)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        sys.stderr.write(f"keyscan: wrote {output} ({len(result.findings)} findings)\n")
    else:
        sys.stdout.write(text)


def _rules_context_cls():
    from dataclasses import dataclass

    from .report.interface import ReportContext

    @dataclass(frozen=True)
    class RulesContext(ReportContext):
        """A report context that also carries the loaded rules (extra --rules included)."""

        rules: tuple = ()

    return RulesContext


def _RulesContext(**kwargs):
    return _rules_context_cls()(**kwargs)
