"""Markdown report: a summary a security lead can paste into a ticket.

Sections: totals; the top migration actions ranked by how many findings each
removes; findings by OWASP NHI risk, by provider and by file type; then every
finding (redacted).  Deterministic: no timings.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Optional

from ..models import Finding, ScanResult, Severity
from ..output import printable
from .interface import ReportContext, for_display, shown_secret

if TYPE_CHECKING:
    from ..remediation import Remediation
    from ..ruleset.model import RuleCatalogue

TITLE = "keyscan secret report"


def cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    out = " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")
    for ch in "*_[]<`":  # emphasis, links, HTML tags, code
        out = out.replace(ch, "\\" + ch)
    return _ENTITY.sub(r"\\&", out)  # "&lt;" stays as written, not "<"


_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def code(text: str) -> str:
    """An inline code span that survives backticks and pipes (for table cells)."""
    text = " ".join(str(text).split()).replace("|", "\u2502")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_EXT_TYPES = {
    "source code": {".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".go", ".java", ".kt", ".rb", ".php",
                    ".cs", ".rs", ".swift", ".scala", ".c", ".cc", ".cpp", ".h", ".sh", ".bash", ".ps1", ".r",
                    ".lua", ".pl", ".sql"},
    "notebook": {".ipynb"},
    "config (YAML/JSON/TOML/INI)": {".yml", ".yaml", ".json", ".jsonc", ".toml", ".ini", ".cfg", ".conf",
                                    ".properties", ".xml", ".plist"},
    "log": {".log"},
    "documentation": {".md", ".rst", ".txt", ".adoc", ".html"},
}


def file_type(path: str) -> str:
    from .. import nhi

    p = path.replace("\\", "/")
    base = posixpath.basename(p).lower()
    if nhi.is_mcp_config(p):
        return "MCP / agent config"
    if nhi.is_transcript(p):
        return "agent transcript"
    if nhi.is_shell_history(p):
        return "shell history"
    if nhi.is_ci_or_deploy(p):
        return "CI/CD & deployment"
    if base == ".env" or base.startswith(".env.") or base.endswith(".env"):
        return "environment file"
    if base in (".npmrc", ".pypirc", ".netrc", ".git-credentials", "credentials", "config") or "/.aws/" in p:
        return "credential store"
    ext = posixpath.splitext(base)[1]
    for name, exts in _EXT_TYPES.items():
        if ext in exts:
            return name
    return "other"


def _advice(fs) -> str:
    """What to do first, worded by how sure keyscan is: a high-confidence
    finding (a checked structure, a provider prefix) is a credential to revoke;
    a low-confidence one (a generic name + entropy match) is to be checked."""
    from ..models import Confidence

    sure = sum(1 for f in fs if f.confidence != Confidence.LOW)
    unsure = len(fs) - sure
    tail = "deleting it from the file does not un-leak it (it stays in git history, caches and clones)."
    if not unsure:
        return f"Every finding is a credential that must be **revoked or rotated first**: {tail}"
    if not sure:
        return ("Every finding is **low confidence** (a secret-looking value under a secret-like name): check "
                f"each one; if it is a real credential, revoke or rotate it first: {tail}")
    return (f"{sure} finding{'s are' if sure != 1 else ' is'} high or medium confidence: **revoke or rotate "
            f"those first**; {tail} {unsure} low-confidence finding{'s' if unsure != 1 else ''} (a "
            "secret-looking value under a secret-like name) should be checked before acting.")


def _sev_counts(findings) -> str:
    c = Counter(f.severity for f in findings)
    return ", ".join(f"{s.value} {c[s]}" for s in sorted(c, key=lambda s: -s.rank))


def _max_sev(findings) -> Severity:
    return max((f.severity for f in findings), key=lambda s: s.rank)


def migration_actions(findings, rules: Optional[RuleCatalogue] = None):
    """``[(remediation, findings)]`` ranked by how many findings each removes
    (then distinct secrets, then highest severity, then name); ``rules`` is
    the scan's catalogue (:attr:`ScanResult.catalogue`)."""
    from ..remediation import remediation_for_finding

    groups: dict[str, list[Finding]] = defaultdict(list)
    rems: dict[str, Remediation] = {}
    for f in findings:
        rem = remediation_for_finding(f, rules)
        groups[rem.action].append(f)
        rems.setdefault(rem.action, rem)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), -len({f.fingerprint for f in kv[1]}),
                                                    -_max_sev(kv[1]).rank, kv[0]))
    return [(rems[action], fs) for action, fs in ranked]


def render_markdown(result: ScanResult, ctx: ReportContext, title: str = TITLE, top: int = 10) -> str:
    from ..nhi import risk

    result = for_display(result)
    fs = list(result.findings)
    out: list[str] = [f"# {printable(title)}", ""]
    secrets = len({f.fingerprint for f in fs})
    files = len({f.path for f in fs})
    if not fs:
        out += [f"No secrets found in {result.files_scanned} files scanned"
                f"{f' ({len(result.skipped)} skipped)' if result.skipped else ''}.", ""]
        return printable("\n".join(out + _hidden(result)), keep="\n\t")
    out += [f"**{len(fs)} finding{'s' if len(fs) != 1 else ''}** ({secrets} distinct secret"
            f"{'s' if secrets != 1 else ''}) in {files} file{'s' if files != 1 else ''}; "
            f"{result.files_scanned} files scanned"
            f"{f', {len(result.skipped)} skipped' if result.skipped else ''}. "
            f"Severity: {_sev_counts(fs)}.", "",
            _advice(fs), ""]

    from ..remediation import rule_catalogue

    actions = migration_actions(fs, rule_catalogue(result))
    out += ["## Top migration actions", "",
            "| # | Action | Findings removed | Distinct secrets | Identity-based option |",
            "| ---: | --- | ---: | ---: | --- |"]
    for i, (rem, group) in enumerate(actions[:top], 1):
        out.append(f"| {i} | {cell(rem.action)} | {len(group)} | {len({f.fingerprint for f in group})} | "
                   f"{'yes' if rem.identity else 'no'} |")
    out.append("")
    for i, (rem, group) in enumerate(actions[:top], 1):
        out += [f"### {i}. {cell(rem.action)}", ""]
        providers = sorted({f.provider for f in group})
        out.append(f"Applies to: {', '.join(cell(p) for p in providers)} "
                   f"({len(group)} finding{'s' if len(group) != 1 else ''}).")
        out.append("")
        out += [f"- {cell(s)}" for s in rem.steps()]
        if rem.docs:
            out.append("- Docs: " + "; ".join(f"[{cell(d.title)}]({d.url})" for d in rem.docs))
        out.append("")

    out += ["## Findings by OWASP NHI risk (2025)", "", "| Risk | Findings | Distinct secrets |",
            "| --- | ---: | ---: |"]
    by_risk: dict[str, list[Finding]] = defaultdict(list)
    for f in fs:
        for n in f.nhi:
            by_risk[n].append(f)
    for n in sorted(by_risk, key=lambda x: int(x[3:])):
        r = risk(n)
        group = by_risk[n]
        out.append(f"| [{r.official_id} {cell(r.title)}]({r.url}) | {len(group)} | "
                   f"{len({f.fingerprint for f in group})} |")
    out.append("")

    out += ["## Findings by provider", "", "| Provider | Findings | Highest severity | Rules |",
            "| --- | ---: | --- | --- |"]
    by_provider: dict[str, list[Finding]] = defaultdict(list)
    for f in fs:
        by_provider[f.provider].append(f)
    for p, group in sorted(by_provider.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        rules = ", ".join(code(r) for r in sorted({f.rule_id for f in group}))
        out.append(f"| {cell(p)} | {len(group)} | {_max_sev(group).value} | {rules} |")
    out.append("")

    out += ["## Findings by file type", "", "| File type | Findings | Files |", "| --- | ---: | ---: |"]
    by_type: dict[str, list[Finding]] = defaultdict(list)
    for f in fs:
        by_type[file_type(f.path)].append(f)
    for t, group in sorted(by_type.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        out.append(f"| {cell(t)} | {len(group)} | {len({f.path for f in group})} |")
    out.append("")

    out += ["## Findings", "", "| Severity | Location | Rule | Secret | NHI |", "| --- | --- | --- | --- | --- |"]
    for f in fs:
        where = f"{f.path}:{f.start_line}:{f.start_column}"
        loc = code(where) + (f" ({cell(f.location)})" if f.location else "")
        out.append(f"| {f.severity.value} | {loc} | {code(f.rule_id)} | {code(shown_secret(f, ctx))} | "
                   f"{' '.join(f.nhi)} |")
    out.append("")
    if result.skipped:
        out += [f"{len(result.skipped)} file{'s' if len(result.skipped) != 1 else ''} skipped "
                "(see `keyscan --format json` for the list and reasons).", ""]
    out += _hidden(result)
    out += ["Generated by keyscan. NHI ids follow the "
            "[OWASP Top 10 Non-Human Identities Risks - 2025]"
            "(https://owasp.org/www-project-non-human-identities-top-10/2025/).", ""]
    return printable("\n".join(out), keep="\n\t")  # a field a future change forgets still cannot inject


def _hidden(result: ScanResult) -> list[str]:
    """What the report does not show: suppressed findings by mechanism, and
    configuration a reviewed change touched (not applied)."""
    from .table import suppressed_text

    out = []
    if result.suppressed:
        out += [f"{suppressed_text(result)}: not listed above.", ""]
    if result.config_changes:
        out += ["Configuration changed by the reviewed change (not applied; the scan fails for it): "
                + ", ".join(code(c) for c in result.config_changes) + ".", ""]
    return out


class MarkdownReporter:
    name = "markdown"

    def render(self, result: ScanResult, ctx: ReportContext) -> str:
        return render_markdown(result, ctx)
