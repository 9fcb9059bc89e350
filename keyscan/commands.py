"""Click command definitions (argument parsing only; work happens in the library).

Only ``click`` is imported here; the library is imported inside each command so
``keyscan --help`` and a small scan start fast.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

import click

from .errors import ScanError, UsageError

if TYPE_CHECKING:
    from .models import ScanOptions, ScanResult
    from .redaction import RedactResult
    from .ruleset.model import RuleCatalogue

# The output formats of keyscan.report.REPORTERS (a test checks they agree; the
# report package is not imported here, to keep start-up fast).
FORMATS = ("table", "json", "sarif", "markdown", "github", "gitlab")
ENGINES = ("auto", "hyperscan", "python")
SEVERITIES = "info, low, medium, high, critical"

HELP = ("Find leaked secrets in repositories, MCP configs, agent traces, notebooks and CI logs.\n\n"
        "`keyscan [PATH...]` is short for `keyscan scan [PATH...]`. Exit codes: 0 no findings, "
        "1 findings, 2 usage or configuration error, 3 runtime error, 130 interrupted, 143 terminated.")


# --------------------------------------------------------------------------
# click plumbing: arguments with help, commands listed in registration order


class _Argument(click.Argument):
    """A positional argument with a help text (shown under "Arguments:")."""

    def __init__(self, param_decls: Sequence[str], help: Optional[str] = None, **attrs: Any) -> None:
        super().__init__(param_decls, **attrs)
        self.help = help


class _Command(click.Command):
    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for param in self.get_params(ctx):
            if isinstance(param, _Argument) and param.help:
                name = (param.name or "").upper()
                metavar = name if param.required else f"[{name}]"
                if param.nargs == -1:
                    metavar += "..."
                extra = []
                if param.required:
                    extra.append("[required]")
                elif param.nargs != -1 and param.default is not None:
                    extra.append(f"[default: {param.default}]")
                rows.append((metavar, "  ".join([param.help, *extra])))
        if rows:
            with formatter.section("Arguments"):
                formatter.write_dl(rows)
        super().format_options(ctx, formatter)


class _Group(click.Group):
    command_class = _Command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


_Group.group_class = _Group


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn keyscan errors into a one-line message and exit code, Ctrl-C into 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .errors import KeyscanError

        try:
            return func(*args, **kwargs)
        except KeyscanError as exc:
            from .output import printable  # messages quote config keys, paths, rule files: never raw

            sys.stderr.write(f"keyscan: error: {printable(str(exc))}\n")
            raise click.exceptions.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:  # Ctrl-C (130) or SIGTERM (143): workers are reaped on the way
            from .errors import interrupt_code, interrupt_message

            sys.stderr.write(interrupt_message(exc))
            raise click.exceptions.Exit(interrupt_code(exc)) from None

    return wrapper


def _exit(code: int) -> None:
    if code:
        raise click.exceptions.Exit(code)


# Options shared by several commands.
_rules_option = click.option("--rules", "rules", multiple=True, help="Extra rules directory or file (repeatable).")
_disable_rule_option = click.option("--disable-rule", "disable_rule", multiple=True,
                                    help="Rule id to turn off (repeatable).")
_no_entropy_option = click.option("--no-entropy", is_flag=True, help="Turn off generic entropy-based detection.")
_engine_option = click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
                              help="Prefilter engine.")
_no_progress_option = click.option("--no-progress", is_flag=True, help="No progress bar.")
_follow_symlinks_option = click.option("--follow-symlinks", is_flag=True, help="Follow symbolic links.")
_no_ignored_option = click.option(
    "--no-ignored", is_flag=True, help="Skip every git-ignored file (default: also scan the git-ignored "
    "files that carry secrets: .env, keys, credential files, agent settings and transcripts, logs; "
    "their findings are marked not committed).")
_all_files_option = click.option(
    "--all-files", is_flag=True, help="Scan every file, git-ignored or not, dependency and build trees "
    "included (only .git/ and .keyscanignore/exclude patterns are left out).")
_decode_depth_option = click.option(
    "--decode-depth", type=click.IntRange(min=0), default=3, show_default=True,
    help="Encoding layers (base64, hex, URL-encoding) decoded inside one another; 0: none.")
_config_option = click.option(
    "--config", help="Configuration file (default: .keyscan.toml or [tool.keyscan] in pyproject.toml "
    "in the first path).")
_no_config_option = click.option(
    "--no-config", is_flag=True, help="Ignore every configuration file in the tree (.keyscan.toml, "
    "[tool.keyscan], .keyscanignore): defaults and flags only (an explicit --config still applies).")
_jobs_option = click.option("--jobs", "-j", type=click.IntRange(min=0), default=0,
                            help="Worker processes (0: one per core for large scans).")


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        from ._version import __version__

        click.echo(f"keyscan {__version__}")
        ctx.exit(0)


def build_cli() -> click.Group:
    """The ``keyscan`` command group."""

    @click.group(cls=_Group, help=HELP, context_settings={"help_option_names": ["-h", "--help"],
                                                          "show_default": True})
    @click.option("--version", "-V", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
                  help="Show the version and exit.")
    def cli() -> None:
        pass

    cli.add_command(scan_cmd)
    cli.add_command(explain_cmd)
    cli.add_command(report_cmd)
    cli.add_command(mcp_cmd)
    cli.add_command(init_cmd)
    cli.add_command(redact_cmd)
    cli.add_command(hook_cmd)
    cli.add_command(rules_group)
    cli.add_command(baseline_group)
    return cli


# --------------------------------------------------------------------------
# scan


@click.command("scan", cls=_Command, help="Scan files and directories (default command). Use - to read stdin.")
@click.argument("paths", cls=_Argument, nargs=-1,
                help="Files or directories to scan (default: .). Use - for stdin.")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="table", help="Output format.")
@click.option("--output", "-o", help="Write the report to FILE (atomically, mode 0600).")
@click.option("--show-secrets", is_flag=True, help="Show secrets in clear (default: prefix and length only).")
@click.option("--min-severity", help=f"Report only findings at or above: {SEVERITIES}. [default: info]")
@click.option("--fail-on", help=f"Exit 1 only for findings at or above: {SEVERITIES}. [default: info]")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@_rules_option
@_disable_rule_option
@_no_entropy_option
@click.option("--max-file-size", help="Skip (and report) files larger than this (e.g. 10MB, 512k). By default there "
              "is no limit: files above 8MB are scanned in overlapping chunks, in bounded memory. "
              "[default: 0, no limit]")
@_follow_symlinks_option
@_no_ignored_option
@_all_files_option
@click.option("--ai-home", is_flag=True, help="Scan where AI tools keep secrets on this machine (Claude Code, "
              "Codex, Cursor, Windsurf, VS Code Copilot chat, Gemini CLI, Continue, aider, MCP client configs) "
              "instead of PATHS, and report per tool; findings in transcripts and chat stores are marked "
              "sent to a model provider.")
@_decode_depth_option
@click.option("--history", is_flag=True, help="Also scan every commit reachable from all refs.")
@click.option("--since", help="With --history: only commits after this date.")
@click.option("--branch", help="With --history: only this branch or ref.")
@click.option("--max-commits", type=click.IntRange(min=0), default=0, help="With --history: at most N commits.")
@click.option("--staged", is_flag=True, help="Scan only what the next commit adds (for hooks).")
@click.option("--diff", metavar="REF", help="Scan only lines added since REF (for pull requests).")
@click.option("--baseline", help="Report only findings not in this baseline.")
@_config_option
@_no_config_option
@_jobs_option
@_engine_option
@_no_progress_option
@click.option("--quiet", "-q", is_flag=True, help="Print only the report, the configuration files loaded and "
              "errors (no summary, no progress).")
@guarded
def scan_cmd(paths: tuple[str, ...], fmt: str, output: Optional[str], show_secrets: bool,
             min_severity: Optional[str], fail_on: Optional[str], exit_zero: bool, rules: tuple[str, ...],
             disable_rule: tuple[str, ...], no_entropy: bool, max_file_size: Optional[str], follow_symlinks: bool,
             no_ignored: bool, all_files: bool, ai_home: bool, decode_depth: int, history: bool, since: Optional[str], branch: Optional[str], max_commits: int, staged: bool,
             diff: Optional[str], baseline: Optional[str], config: Optional[str], no_config: bool, jobs: int,
             engine: str, no_progress: bool, quiet: bool) -> None:
    from .config import resolve_settings

    if no_ignored and all_files:
        raise UsageError("--no-ignored and --all-files cannot be combined")
    if ai_home and (paths or history or staged or diff):
        raise UsageError("--ai-home scans the AI tools' own locations: give no PATH, --history, --staged or --diff")
    settings = resolve_settings(
        paths, config_file=config, rules=rules, disable_rules=disable_rule, entropy=False if no_entropy else None,
        min_severity=min_severity, fail_on=fail_on, max_file_size=max_file_size, baseline=baseline,
        git_ignored="none" if no_ignored else "all" if all_files else "carriers", decode_depth=decode_depth,
        ai_home=ai_home,
        follow_symlinks=follow_symlinks, jobs=jobs, engine=engine, history=history, since=since, branch=branch,
        max_commits=max_commits, staged=staged, diff_ref=diff, no_config=no_config)  # stdin: read in chunks by the runner
    _say_loaded(settings)
    result = _run_scan(settings.options, progress=not (no_progress or quiet))
    if settings.config_changes:
        from dataclasses import replace

        result = replace(result, config_changes=settings.config_changes)
    _emit(result, fmt, output, show_secrets, quiet)
    from .output import printable

    for path in result.config_changes:  # said even with --quiet: the gate fails for it
        sys.stderr.write(printable(f"keyscan: configuration changed by the reviewed change: {path} (not applied; "
                                   f"configuration read from {settings.trusted}); failing the scan") + "\n")
    if ai_home and not quiet:
        sys.stderr.write(_ai_home_report(result, settings.options.home))
    for err in result.errors:  # findings may be missing: said even with --quiet, and exit 3
        sys.stderr.write(f"keyscan: error: {printable(err)}\n")
    failing = [f for f in result.findings if f.severity.rank >= settings.fail_on.rank]
    _exit(3 if result.errors else 1 if (failing or result.config_changes) and not exit_zero else 0)


def _say_loaded(settings: Any) -> None:
    """``keyscan: config .keyscan.toml (from merge base a1b2c3d4)``: every
    configuration file a run reads, on stderr, even with --quiet."""
    from .output import printable

    for note in settings.loaded:
        sys.stderr.write(f"keyscan: {printable(note)}\n")


def _ai_home_report(result: ScanResult, home: Optional[str]) -> str:
    """Per AI tool: the locations found and their findings (``--ai-home``)."""
    from .sources.aihome import locate

    places: dict[str, int] = {}
    for loc in locate(home):
        places[loc.tool] = places.get(loc.tool, 0) + 1
    lines = ["AI tools on this machine:" if places else "AI tools on this machine: no known location found"]
    for tool, n in places.items():
        found = [f for f in result.findings if f.prop("ai_tool") == tool]
        sent = sum(1 for f in found if f.sent_to_model)
        text = f"  {tool}: {n} location{'s' if n != 1 else ''}, {len(found)} finding{'s' if len(found) != 1 else ''}"
        lines.append(text + (f" ({sent} sent to a model provider)" if sent else ""))
    return "\n".join(lines) + "\n"


def _run_scan(options: ScanOptions, *, progress: bool) -> ScanResult:
    from dataclasses import replace

    from .api import scan

    with _progress(enabled=progress and sys.stderr.isatty()) as progress_cb:
        return scan(replace(options, progress=progress_cb))


def _emit(result: ScanResult, fmt: str, output: Optional[str], show_secrets: bool, quiet: bool) -> None:
    from .report import ReportContext, render
    from .report.table import summary_line, suppressed_text

    ctx = ReportContext(show_secrets=show_secrets, root=os.getcwd())
    if fmt == "table" and output is None:
        if result.findings:  # rich is imported only when there is a table to draw
            from rich.console import Console

            from .report.table import build_table

            # Piped output is not wrapped at 80 columns: keep one row per finding.
            console = Console(highlight=False, width=None if sys.stdout.isatty() else 220)
            console.print(build_table(result, ctx))
        if not quiet:  # plain text: no markup interpretation, no wrapping
            sys.stderr.write(summary_line(result) + "\n")
        elif result.suppressed:  # what was hidden is said even with --quiet
            sys.stderr.write(f"keyscan: {suppressed_text(result)}\n")
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
            raise ScanError(f"cannot write {output}: {exc.strerror or exc} (the scan ran; choose a writable "
                            "--output path)") from None
    else:
        sys.stdout.write(text)
    if not quiet:
        sys.stderr.write(summary_line(result) + "\n")
    elif result.suppressed:
        sys.stderr.write(f"keyscan: {suppressed_text(result)}\n")


class _progress:
    """A rich progress bar on stderr (only for a terminal)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar: Any = None

    def __enter__(self) -> Optional[Callable[[int, int], None]]:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.console import Console

        bar = self._bar = Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                   console=Console(stderr=True), transient=True)
        bar.__enter__()
        task = bar.add_task("scan", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return update

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


# --------------------------------------------------------------------------
# rules


@click.group("rules", cls=_Group, help="List and check detection rules.", no_args_is_help=True)
def rules_group() -> None:
    pass


@rules_group.command("list", help="List the loaded rules.")
@_rules_option
@click.option("--format", "-f", "fmt", type=click.Choice(("table", "json")), default="table", help="table or json.")
@guarded
def rules_list_cmd(rules: tuple[str, ...], fmt: str) -> None:
    loaded = _catalogue(rules)
    if fmt == "json":
        import json

        click.echo(json.dumps([{"id": r.id, "name": r.name, "provider": r.provider, "family": r.family,
                                "severity": r.severity.value, "nhi": ["NHI2", *r.nhi], "tags": list(r.tags)}
                               for r in loaded], indent=2))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from .output import printable

    table = Table(header_style="bold")
    # ids are what `explain`, --disable-rule and configs take: never cut
    table.add_column("ID", no_wrap=True, min_width=max((len(r.id) for r in loaded), default=2))
    for col in ("Name", "Provider", "Severity", "NHI"):
        table.add_column(col)
    for r in loaded:
        # Text, not markup: a repo rule named "[link=...]" is shown as written
        table.add_row(r.id, Text(printable(r.name)), Text(printable(r.provider)), r.severity.value,
                      " ".join(["NHI2", *r.nhi]))
    console = Console()
    console.print(table)
    console.print(f"{len(loaded)} rules")


def _catalogue(rules: Sequence[str]) -> RuleCatalogue:
    """Every rule a scan here can run: built-in, the configuration's and ``--rules``
    (from the compiled-rules cache, the same one scans use)."""
    from .api import rule_catalogue
    from .config import resolve_settings
    from .models import ScanOptions

    configured = resolve_settings(["."], rules=rules).options
    return rule_catalogue(ScanOptions(extra_rule_dirs=configured.extra_rule_dirs))


@rules_group.command("check", help="Compile every rule, check its regex against the policy, run every example "
                     "through the pipeline and each pattern on adversarial inputs.")
@_rules_option
@_engine_option
@click.option("--no-probe", is_flag=True, help="Skip the adversarial inputs (the slowest part).")
@guarded
def rules_check_cmd(rules: tuple[str, ...], engine: str, no_probe: bool) -> None:
    from .ruleset import load_rules
    from .ruleset.check import check_rules

    loaded = load_rules(rules)
    problems = check_rules(loaded, engine, probe=not no_probe)
    from .output import printable

    for p in problems:
        click.echo(printable(str(p)), err=True)
    examples = sum(len(r.examples) + len(r.negative_examples) for r in loaded)
    status = "FAILED" if problems else "ok"
    click.echo(f"{len(loaded)} rules, {examples} examples: {status} ({len(problems)} problems)")
    _exit(1 if problems else 0)


# --------------------------------------------------------------------------
# baseline


@click.group("baseline", cls=_Group, no_args_is_help=True,
             help="Accept current findings: baselines store hashed fingerprints, never secrets.")
def baseline_group() -> None:
    pass


def _default_baseline(path: str) -> str:
    from .baseline import DEFAULT_NAME

    return os.path.join(path if os.path.isdir(path) else ".", DEFAULT_NAME)


def _scan_for_baseline(path: str, config: Optional[str], no_progress: bool) -> ScanResult:
    """Scan ``path`` with its configuration but without any baseline applied."""
    from .config import resolve_settings

    settings = resolve_settings([path], config_file=config, use_baseline=False)
    return _run_scan(settings.options, progress=not no_progress)


@baseline_group.command("create", help="Scan PATH and write a baseline of every finding.")
@click.argument("path", cls=_Argument, default=".", required=False, help="Directory to scan.")
@click.option("--output", "-o", help="Baseline file [default: PATH/.keyscan-baseline.json].")
@click.option("--config", help="Configuration file.")
@_no_progress_option
@guarded
def baseline_create_cmd(path: str, output: Optional[str], config: Optional[str], no_progress: bool) -> None:
    from . import baseline as bl

    target = output or _default_baseline(path)
    result = _scan_for_baseline(path, config, no_progress)
    bl.write(target, bl.entries_for(result.findings))
    click.echo(f"wrote {target}: {len({f.fingerprint for f in result.findings})} entries", err=True)


@baseline_group.command("update", help="Rescan PATH and drop baseline entries that are gone.")
@click.argument("path", cls=_Argument, default=".", required=False, help="Directory to scan.")
@click.option("--baseline", "-b", "baseline_file", help="Baseline file [default: PATH/.keyscan-baseline.json].")
@click.option("--config", help="Configuration file.")
@_no_progress_option
@guarded
def baseline_update_cmd(path: str, baseline_file: Optional[str], config: Optional[str], no_progress: bool) -> None:
    from . import baseline as bl

    target = baseline_file or _default_baseline(path)
    existing = bl.load(target)
    result = _scan_for_baseline(path, config, no_progress)
    kept, removed = bl.prune(existing, result.findings)
    bl.write(target, kept)
    click.echo(f"updated {target}: {len(kept)} entries kept, {removed} removed", err=True)


# --------------------------------------------------------------------------
# init


PRE_COMMIT_SNIPPET = """\
  - repo: https://github.com/keyscan/keyscan
    rev: v{version}
    hooks:
      - id: keyscan
"""


# keyscan.hooks.AGENTS, written out so that this module imports only click (tests check they agree)
HOOK_AGENTS = ("claude-code", "codex", "gemini-cli", "cursor")


@click.command("init", cls=_Command,
               help="Write a commented .keyscan.toml (and optionally add the pre-commit hook).")
@click.argument("path", cls=_Argument, default=".", required=False, help="Project directory.")
@click.option("--force", is_flag=True, help="Overwrite an existing .keyscan.toml.")
@click.option("--pre-commit", is_flag=True, help="Also add the keyscan hook to .pre-commit-config.yaml.")
@click.option("--hooks", "hooks", multiple=True, type=click.Choice(HOOK_AGENTS),
              help="Only install the agent hook (repeatable) into the project's settings (.claude/settings.json, "
              ".codex/hooks.json, .gemini/settings.json, .cursor/hooks.json), merging with what is there.")
@click.option("--user", is_flag=True, help="With --hooks: install into the user's settings instead.")
@guarded
def init_cmd(path: str, force: bool, pre_commit: bool, hooks: tuple[str, ...], user: bool) -> None:
    from ._version import __version__
    from .config import TEMPLATE

    if not os.path.isdir(path):
        raise UsageError(f"not a directory: {path}")
    if user and not hooks:
        raise UsageError("--user needs --hooks")
    if hooks:
        from .hooks import install

        for agent in hooks:
            where, added = install(agent, "user" if user else "project", path)
            click.echo(f"installed the keyscan {agent} hook in {where}" if added else
                       f"{where} already has the keyscan {agent} hook", err=True)
        return
    target = os.path.join(path, ".keyscan.toml")
    if os.path.exists(target) and not force:
        raise UsageError(f"{target} exists (use --force to overwrite)")
    with open(target, "w", encoding="utf-8") as fh:
        fh.write(TEMPLATE)
    click.echo(f"wrote {target}", err=True)
    if pre_commit:
        hook_file = os.path.join(path, ".pre-commit-config.yaml")
        snippet = PRE_COMMIT_SNIPPET.format(version=__version__)
        if os.path.exists(hook_file):
            with open(hook_file, encoding="utf-8") as fh:
                current = fh.read()
            if "id: keyscan" in current:
                click.echo(f"{hook_file} already has the keyscan hook", err=True)
                return
            if "repos:" not in current:
                raise UsageError(f"{hook_file}: no 'repos:' list to add the hook to")
            text = current.rstrip("\n") + "\n" + snippet
        else:
            text = "repos:\n" + snippet
        with open(hook_file, "w", encoding="utf-8") as fh:
            fh.write(text)
        click.echo(f"added the keyscan hook to {hook_file}", err=True)


# --------------------------------------------------------------------------
# explain


@click.command("explain", cls=_Command, help="Explain a rule: its risk, OWASP NHI mapping and remediation steps.")
@click.argument("rule_id", cls=_Argument, help="Rule id, e.g. github-pat-classic (see `keyscan rules list`).")
@_rules_option
@guarded
def explain_cmd(rule_id: str, rules: tuple[str, ...]) -> None:
    from .remediation import explain_text

    found = _catalogue(rules).get(rule_id.strip())
    if found is None:
        import difflib

        close = difflib.get_close_matches(rule_id.strip().rstrip("…."), [r.id for r in _catalogue(rules)], n=1,
                                          cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UsageError(f"unknown rule id {rule_id!r} ({hint}see 'keyscan rules list')")
    from .output import printable

    click.echo(printable(explain_text(found), keep="\n"), nl=False)


# --------------------------------------------------------------------------
# report


@click.command("report", cls=_Command,
               help="Scan and write a markdown summary (NHI risks, providers, migration actions).")
@click.argument("paths", cls=_Argument, nargs=-1, help="Files or directories to scan (default: .).")
@click.option("--output", "-o", help="Write the markdown report to FILE (atomically, mode 0600).")
@click.option("--title", default="keyscan secret report", help="Report heading.")
@click.option("--top", type=click.IntRange(min=1), default=10, help="How many migration actions to list.")
@_rules_option
@_disable_rule_option
@_no_entropy_option
@click.option("--min-severity", help=f"Report only findings at or above: {SEVERITIES}. [default: info]")
@_config_option
@_no_config_option
@_no_progress_option
@guarded
def report_cmd(paths: tuple[str, ...], output: Optional[str], title: str, top: int, rules: tuple[str, ...],
               disable_rule: tuple[str, ...], no_entropy: bool, min_severity: Optional[str], config: Optional[str],
               no_config: bool, no_progress: bool) -> None:
    """Scan and write a markdown summary for a ticket: findings by NHI risk,
    provider and file type, and the top migration actions.  Exits 0 once the
    report is written (it is a report, not a gate: use `keyscan scan` to fail CI)."""
    from .config import resolve_settings
    from .report.interface import ReportContext
    from .report.markdown import render_markdown

    settings = resolve_settings(paths, config_file=config, rules=rules, disable_rules=disable_rule,
                                entropy=False if no_entropy else None, min_severity=min_severity,
                                no_config=no_config)
    _say_loaded(settings)
    result = _run_scan(settings.options, progress=not no_progress)
    ctx = ReportContext(root=os.getcwd())
    text = render_markdown(result, ctx, title=title, top=top)
    if output:
        from .output import write_private

        try:
            write_private(output, text)
        except OSError as exc:
            raise ScanError(f"cannot write {output}: {exc.strerror or exc} (the scan ran; choose a writable "
                            "--output path)") from None
        sys.stderr.write(f"keyscan: wrote {output} ({len(result.findings)} findings)\n")
    else:
        sys.stdout.write(text)


# --------------------------------------------------------------------------
# mcp


@click.command("mcp", cls=_Command, help="Inventory MCP servers in the project and the user's config files: "
               "transport, how each authenticates, and static keys.")
@click.argument("path", cls=_Argument, default=".", required=False, help="Project directory.")
@click.option("--format", "-f", "fmt", type=click.Choice(("table", "json")), default="table", help="table or json.")
@click.option("--no-home", is_flag=True, help="Only the project, not the per-user locations.")
@click.option("--home", help="Home directory to inspect [default: yours].")
@click.option("--output", "-o", help="Write the report to FILE (mode 0600).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when static keys are found.")
@guarded
def mcp_cmd(path: str, fmt: str, no_home: bool, home: Optional[str], output: Optional[str], exit_zero: bool) -> None:
    from .mcp.inventory import render_json, render_table, run_mcp_inventory

    if not os.path.isdir(path):
        raise UsageError(f"not a directory: {path}")
    inv = run_mcp_inventory(path, home=home, include_home=not no_home)
    if fmt == "json" or output:
        text = render_json(inv) if fmt == "json" else _render_rich(lambda c: render_table(inv, c))
        if output:
            from .output import write_private

            try:
                write_private(output, text)
            except OSError as exc:
                raise ScanError(f"cannot write {output}: {exc.strerror or exc} (choose a writable "
                                "--output path)") from None
        else:
            sys.stdout.write(text)
    else:
        from rich.console import Console

        render_table(inv, Console(highlight=False, width=None if sys.stdout.isatty() else 220))
    _exit(1 if inv.findings and not exit_zero else 0)


def _render_rich(draw: Callable[[Any], object]) -> str:
    import io

    from rich.console import Console

    buf = io.StringIO()
    draw(Console(file=buf, width=160, no_color=True, highlight=False))
    return buf.getvalue()


# --------------------------------------------------------------------------
# redact


@click.command("redact", cls=_Command,
               help="Replace each finding's secret by a marker such as «REDACTED:rule:fp:1a2b3c4d», written in "
               "the secret's own encoding there (JSON escapes, notebook, JSONL, log, base64, URL, .env). "
               "Default: a dry run printing a diff (secrets never shown). Use - to filter stdin to stdout. "
               "Exit 1 when something was or would be redacted (or could not be).")
@click.argument("paths", cls=_Argument, nargs=-1,
                help="Files or directories (default: .). Use - to redact stdin to stdout.")
@click.option("--dry-run", is_flag=True, help="Print a unified diff, write nothing (the default).")
@click.option("--in-place", is_flag=True, help="Rewrite the files atomically (same mode), after a backup.")
@click.option("--backup-dir", help="With --in-place: where the original files are copied (owner-only, 0700). "
              "[default: ~/.local/state/keyscan/redact-backups/<UTC time>]")
@click.option("--no-backup", is_flag=True, help="With --in-place: keep no copy of the original files.")
@click.option("--ascii", "ascii_only", is_flag=True, help="Write [REDACTED:...] instead of «REDACTED:...».")
@click.option("--min-severity", help=f"Redact only findings at or above: {SEVERITIES}. [default: info]")
@_rules_option
@_disable_rule_option
@_no_entropy_option
@click.option("--max-file-size", help="Skip (and list) files larger than this (e.g. 10MB). [default: 0, no limit]")
@_follow_symlinks_option
@_no_ignored_option
@_all_files_option
@_decode_depth_option
@click.option("--baseline", help="Leave the findings of this baseline as they are.")
@_config_option
@_no_config_option
@_jobs_option
@_engine_option
@_no_progress_option
@click.option("--quiet", "-q", is_flag=True, help="Print only the diff (no summary).")
@guarded
def redact_cmd(paths: tuple[str, ...], dry_run: bool, in_place: bool, backup_dir: Optional[str], no_backup: bool, ascii_only: bool,
               min_severity: Optional[str], rules: tuple[str, ...], disable_rule: tuple[str, ...], no_entropy: bool,
               max_file_size: Optional[str], follow_symlinks: bool, no_ignored: bool, all_files: bool,
               decode_depth: int, baseline: Optional[str], config: Optional[str], no_config: bool, jobs: int,
               engine: str, no_progress: bool, quiet: bool) -> None:
    from dataclasses import replace

    from . import redaction

    if dry_run and in_place:
        raise UsageError("--dry-run and --in-place cannot be combined")
    dry_run = not in_place
    paths = paths or (".",)
    if "-" in paths and len(paths) > 1:
        raise UsageError("redact -: standard input cannot be combined with paths")
    if no_backup and backup_dir:
        raise UsageError("--no-backup and --backup-dir cannot be combined")
    if no_ignored and all_files:
        raise UsageError("--no-ignored and --all-files cannot be combined")
    from .config import resolve_settings

    settings = resolve_settings(
        paths, config_file=config, rules=rules, disable_rules=disable_rule, entropy=False if no_entropy else None,
        min_severity=min_severity, max_file_size=max_file_size, baseline=baseline, follow_symlinks=follow_symlinks,
        git_ignored="none" if no_ignored else "all" if all_files else "carriers", decode_depth=decode_depth,
        jobs=jobs, engine=engine, read_stdin=True, no_config=no_config)
    _say_loaded(settings)
    options = settings.options
    if paths == ("-",):
        data = options.stdin_data or b""
        out, result = redaction.redact_stream(options, data, ascii_only=ascii_only)
        sys.stdout.buffer.write(out)
        sys.stdout.flush()
        _redact_summary(result, dry_run=False, quiet=quiet, backups=None)
        _exit(result.exit_code)
        return
    with _progress(enabled=not (no_progress or quiet) and sys.stderr.isatty()) as progress_cb:
        result = redaction.plan(replace(options, progress=progress_cb), ascii_only=ascii_only)
    backups = None
    if dry_run:
        for change in result.changes:
            sys.stdout.write(change.diff())
    else:
        backups = None if no_backup else (backup_dir or redaction.default_backup_dir())
        stale = redaction.write_changes(result.changes, backup_dir=backups)
        if stale:
            result = replace(result, changes=tuple(c for c in result.changes if c.path not in stale),
                             not_redacted=result.not_redacted + tuple(
                                 redaction.NotRedacted(p, "changed on disk during the run; run again") for p in stale))
    _redact_summary(result, dry_run=dry_run, quiet=quiet, backups=backups)
    _exit(result.exit_code)


def _redact_summary(result: RedactResult, *, dry_run: bool, quiet: bool, backups: Optional[str]) -> None:
    from .output import printable

    for n in result.not_redacted:
        where = f"{n.path}:{n.line}" if n.line else n.path
        rule = f" {n.rule_id}" if n.rule_id else ""
        sys.stderr.write(printable(f"keyscan: not redacted: {where}{rule}: {n.reason}") + "\n")
    if quiet:
        return
    secrets = len(result.redactions)
    files = len(result.changes)
    if dry_run:
        tail = "; nothing written (use --in-place to rewrite)" if files else ""
        sys.stderr.write(f"keyscan: {secrets} secret(s) in {files} file(s) would be redacted{tail}\n")
    else:
        sys.stderr.write(f"keyscan: redacted {secrets} secret(s) in {files} file(s)"
                         + (f"; originals backed up in {backups}" if backups and files else "") + "\n")


# --------------------------------------------------------------------------
# hook


@click.command("hook", cls=_Command,
               help="Agent hook: read one hook event (JSON) on stdin; block a prompt, a tool call or (cursor) a file read "
               "carrying a secret, flag a tool result carrying one (never echoing it); fail closed (exit 2) on malformed input. "
               "Install with `keyscan init --hooks AGENT`.")
@click.argument("agent", cls=_Argument, type=click.Choice(HOOK_AGENTS),
                help="claude-code, codex, gemini-cli or cursor.")
def hook_cmd(agent: str) -> None:
    from .hooks import main

    _exit(main(agent))
