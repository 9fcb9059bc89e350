"""GitHub Actions workflow-command annotations (``--format github``).

One line per finding::

    ::error file=PATH,line=L,endLine=L2,col=C,endColumn=C2,title=TITLE::MESSAGE

critical/high -> ``error``, medium -> ``warning``, low/info -> ``notice``.
Data is escaped as the runner expects (``%`` ``\\r`` ``\\n``), and property
values additionally escape ``:`` and ``,``.  Paths are relative to the scan
root (the workspace in Actions).  GitHub shows at most 10 annotations of
each level per step; keyscan prints them all, most severe first.
"""

from __future__ import annotations

from ..models import ScanResult, Severity
from ..output import printable
from .interface import ReportContext, for_display, shown_secret

COMMAND = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(f, ctx: ReportContext, action: str) -> str:
    from ..nhi import risk
    from .sarif import relative_path

    path = relative_path(f.path, ctx.root)
    props = [("file", path), ("line", str(f.start_line)), ("endLine", str(f.end_line))]
    if f.start_line == f.end_line:
        props += [("col", str(f.start_column)), ("endColumn", str(f.end_column))]
    else:
        props += [("col", str(f.start_column))]
    props.append(("title", f"keyscan: {f.rule_name} ({f.severity.value})"))
    head = ",".join(f"{k}={escape_property(v)}" for k, v in props)
    where = f" at {f.location}" if f.location else ""
    risks = ", ".join(risk(n).label for n in f.nhi)
    msg = (f"{f.rule_name} ({f.provider}) found{where}: {shown_secret(f, ctx)}\n"
           f"OWASP NHI: {risks}\n"
           f"Revoke it first, then: {action} (keyscan explain {f.rule_id})")
    return f"::{COMMAND[f.severity]} {head}::{escape_data(msg)}"


class GithubReporter:
    name = "github"

    def render(self, result: ScanResult, ctx: ReportContext) -> str:
        from ..remediation import remediation_for_finding, rule_catalogue

        result = for_display(result)
        rules = rule_catalogue(result)
        lines = []
        ordered = sorted(result.findings, key=lambda f: (-f.severity.rank, f.sort_key))
        for f in ordered:
            rem = remediation_for_finding(f, rules)
            lines.append(annotation(f, ctx, rem.action))
        # printable() again over the whole text: a field a future change forgets still cannot break a line
        return "".join(printable(line, keep="\t") + "\n" for line in lines)
