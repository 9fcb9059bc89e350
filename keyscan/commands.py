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
    baseline_app = typer.Typer(help="Accept current findings: baselines store hashed fingerprints, never secrets.",
                               no_args_is_help=True)
    baseline_app.command("create", help="Scan PATH and write a baseline of every finding.")(baseline_create_cmd)
    baseline_app.command("update", help="Rescan PATH and drop baseline entries that are gone.")(
        baseline_update_cmd)
    app.add_typer(baseline_app, name="baseline")
    app.command("mcp", help="Inventory MCP servers in the project and the user's config files: "
                "transport, how each authenticates, and static keys.")(mcp_cmd)
    app.command("init", help="Write a commented .keyscan.toml (and optionally add the pre-commit hook).")(init_cmd)

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
    min_severity: Optional[str] = typer.Option(None, "--min-severity",
                                               help=f"Report only findings at or above: {SEVERITIES}. [default: info]"),
    fail_on: Optional[str] = typer.Option(None, "--fail-on",
                                          help=f"Exit 1 only for findings at or above: {SEVERITIES}. [default: info]"),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when there are findings."),
    rules: List[str] = typer.Option([], "--rules", help="Extra rules directory or file (repeatable)."),
    disable_rule: List[str] = typer.Option([], "--disable-rule", help="Rule id to turn off (repeatable)."),
    no_entropy: bool = typer.Option(False, "--no-entropy", help="Turn off generic entropy-based detection."),
    max_file_size: Optional[str] = typer.Option(None, "--max-file-size",
                                                help="Skip (and report) files larger than this (e.g. 10MB, 512k). "
                                                "By default there is no limit: files above 8MB are scanned in "
                                                "overlapping chunks, in bounded memory. [default: 0, no limit]"),
    follow_symlinks: bool = typer.Option(False, "--follow-symlinks", help="Follow symbolic links."),
    history: bool = typer.Option(False, "--history", help="Also scan every commit reachable from all refs."),
    since: Optional[str] = typer.Option(None, "--since", help="With --history: only commits after this date."),
    branch: Optional[str] = typer.Option(None, "--branch", help="With --history: only this branch or ref."),
    max_commits: int = typer.Option(0, "--max-commits", min=0, help="With --history: at most N commits."),
    staged: bool = typer.Option(False, "--staged", help="Scan only what the next commit adds (for hooks)."),
    diff: Optional[str] = typer.Option(None, "--diff", metavar="REF",
                                       help="Scan only lines added since REF (for pull requests)."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Report only findings not in this baseline."),
    config: Optional[str] = typer.Option(None, "--config",
                                         help="Configuration file (default: .keyscan.toml or [tool.keyscan] "
                                         "in pyproject.toml in the first path)."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0: one per core for large scans)."),
    engine: EngineKind = typer.Option(EngineKind.auto, "--engine", help="Prefilter engine."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the report (no summary, no progress)."),
) -> None:
    paths = paths or ["."]
    cfg = _config(config, paths[0])
    options = _scan_options(
        cfg, paths, rules=rules, disable_rule=disable_rule, no_entropy=no_entropy, max_file_size=max_file_size,
        follow_symlinks=follow_symlinks, min_severity=min_severity, jobs=jobs, engine=engine.value,
        history=history, since=since, branch=branch, max_commits=max_commits, staged=staged, diff=diff,
        baseline=baseline)
    fail_sev = _severity(fail_on or cfg.fail_on or "info", "--fail-on")
    result = _run_scan(options, progress=not (no_progress or quiet))
    _emit(result, fmt.value, output, show_secrets, quiet)
    failing = [f for f in result.findings if f.severity.rank >= fail_sev.rank]
    raise typer.Exit(1 if failing and not exit_zero else 0)


def _config(explicit: Optional[str], first_path: str):
    from .config import Config, find_config, load_config

    if explicit:
        if not os.path.isfile(explicit):
            raise UsageError(f"--config: file not found: {explicit}")
        return load_config(explicit)
    found = find_config(first_path if first_path != "-" else ".")
    return load_config(found) if found else Config()


def _scan_options(cfg, paths, *, rules=(), disable_rule=(), no_entropy=False, max_file_size=None,
                  follow_symlinks=False, min_severity=None, jobs=0, engine="auto", history=False, since=None,
                  branch=None, max_commits=0, staged=False, diff=None, baseline=None):
    """Merge the configuration file with command-line options (the command line wins)."""
    from .models import ScanOptions
    from .output import parse_size

    size_text = max_file_size or cfg.max_file_size or "0"
    try:
        size = parse_size(size_text)
    except ValueError as exc:
        raise UsageError(f"--max-file-size: {exc}") from None
    if (since or branch or max_commits) and not history:
        raise UsageError("--since, --branch and --max-commits need --history")
    stdin_data = sys.stdin.buffer.read() if "-" in paths else None
    return ScanOptions(
        paths=tuple(paths),
        max_file_size=size,
        follow_symlinks=follow_symlinks,
        extra_rule_dirs=tuple(cfg.rules) + tuple(rules),
        disabled_rules=tuple(cfg.disable_rules) + tuple(disable_rule),
        min_severity=_severity(min_severity or cfg.min_severity or "info", "--min-severity"),
        jobs=jobs,
        engine=engine,
        entropy=not no_entropy and cfg.entropy is not False,
        generic_min_entropy=cfg.entropy_threshold or 0.0,
        stdin_data=stdin_data,
        history=history,
        since=since,
        branch=branch,
        max_commits=max_commits,
        staged=staged,
        diff_ref=diff,
        baseline=baseline or cfg.baseline,
        allow_values=cfg.allow_values,
        allow_regexes=cfg.allow_regexes,
        exclude=cfg.exclude,
    )


def _run_scan(options, *, progress: bool):
    from dataclasses import replace

    from .api import scan

    with _progress(enabled=progress and sys.stderr.isatty()) as progress_cb:
        return scan(replace(options, progress=progress_cb))


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


def _default_baseline(path: str) -> str:
    from .baseline import DEFAULT_NAME

    return os.path.join(path if os.path.isdir(path) else ".", DEFAULT_NAME)


def _scan_for_baseline(path: str, config: Optional[str], no_progress: bool):
    """Scan ``path`` with its configuration but without any baseline applied."""
    from dataclasses import replace

    options = replace(_scan_options(_config(config, path), [path]), baseline=None)
    return _run_scan(options, progress=not no_progress)


@guarded
def baseline_create_cmd(
    path: str = typer.Argument(".", help="Directory to scan."),
    output: Optional[str] = typer.Option(None, "--output", "-o",
                                         help="Baseline file [default: PATH/.keyscan-baseline.json]."),
    config: Optional[str] = typer.Option(None, "--config", help="Configuration file."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
) -> None:
    from . import baseline as bl

    target = output or _default_baseline(path)
    result = _scan_for_baseline(path, config, no_progress)
    bl.write(target, bl.entries_for(result.findings))
    typer.echo(f"wrote {target}: {len({f.fingerprint for f in result.findings})} entries", err=True)


@guarded
def baseline_update_cmd(
    path: str = typer.Argument(".", help="Directory to scan."),
    baseline_file: Optional[str] = typer.Option(None, "--baseline", "-b",
                                                help="Baseline file [default: PATH/.keyscan-baseline.json]."),
    config: Optional[str] = typer.Option(None, "--config", help="Configuration file."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
) -> None:
    from . import baseline as bl

    target = baseline_file or _default_baseline(path)
    existing = bl.load(target)
    result = _scan_for_baseline(path, config, no_progress)
    kept, removed = bl.prune(existing, result.findings)
    bl.write(target, kept)
    typer.echo(f"updated {target}: {len(kept)} entries kept, {removed} removed", err=True)


PRE_COMMIT_SNIPPET = """\
  - repo: https://github.com/keyscan/keyscan
    rev: v{version}
    hooks:
      - id: keyscan
"""


@guarded
def init_cmd(
    path: str = typer.Argument(".", help="Project directory."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing .keyscan.toml."),
    pre_commit: bool = typer.Option(False, "--pre-commit",
                                    help="Also add the keyscan hook to .pre-commit-config.yaml."),
) -> None:
    from ._version import __version__
    from .config import TEMPLATE

    if not os.path.isdir(path):
        raise UsageError(f"not a directory: {path}")
    target = os.path.join(path, ".keyscan.toml")
    if os.path.exists(target) and not force:
        raise UsageError(f"{target} exists (use --force to overwrite)")
    with open(target, "w", encoding="utf-8") as fh:
        fh.write(TEMPLATE)
    typer.echo(f"wrote {target}", err=True)
    if pre_commit:
        hook_file = os.path.join(path, ".pre-commit-config.yaml")
        snippet = PRE_COMMIT_SNIPPET.format(version=__version__)
        if os.path.exists(hook_file):
            with open(hook_file, encoding="utf-8") as fh:
                current = fh.read()
            if "id: keyscan" in current:
                typer.echo(f"{hook_file} already has the keyscan hook", err=True)
                return
            if "repos:" not in current:
                raise UsageError(f"{hook_file}: no 'repos:' list to add the hook to")
            text = current.rstrip("\n") + "\n" + snippet
        else:
            text = "repos:\n" + snippet
        with open(hook_file, "w", encoding="utf-8") as fh:
            fh.write(text)
        typer.echo(f"added the keyscan hook to {hook_file}", err=True)


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


@guarded
def mcp_cmd(
    path: str = typer.Argument(".", help="Project directory."),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
    no_home: bool = typer.Option(False, "--no-home", help="Only the project, not the per-user locations."),
    home: Optional[str] = typer.Option(None, "--home", help="Home directory to inspect [default: yours]."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the report to FILE (mode 0600)."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when static keys are found."),
) -> None:
    from .mcp.inventory import render_json, render_table, run_mcp_inventory

    if fmt not in ("table", "json"):
        raise UsageError("--format: choose table or json")
    if not os.path.isdir(path):
        raise UsageError(f"not a directory: {path}")
    inv = run_mcp_inventory(path, home=home, include_home=not no_home)
    if fmt == "json" or output:
        text = render_json(inv) if fmt == "json" else _render_rich(lambda c: render_table(inv, c))
        if output:
            from .output import write_private

            write_private(output, text)
        else:
            sys.stdout.write(text)
    else:
        from rich.console import Console

        render_table(inv, Console(highlight=False, width=None if sys.stdout.isatty() else 220))
    raise typer.Exit(1 if inv.findings and not exit_zero else 0)


def _render_rich(draw) -> str:
    import io

    from rich.console import Console

    buf = io.StringIO()
    draw(Console(file=buf, width=160, no_color=True, highlight=False))
    return buf.getvalue()
