"""GitLab secret detection report (``--format gitlab``).

Writes the JSON that a job publishes as ``artifacts: reports:
secret_detection`` (conventionally ``gl-secret-detection-report.json``),
following GitLab's security report schema for secret detection (schema
version below).

Times: ``scan.start_time``/``end_time`` are the scan's wall-clock times
(UTC, ``YYYY-MM-DDTHH:MM:SS`` as the schema requires), which makes two runs
differ.  Set ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention) to
pin both to that instant; the golden tests do.  ``location.commit.sha`` is
the commit a history finding came from, else ``0000000`` (GitLab's
placeholder for working-tree scans).
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timezone

from .._version import __version__
from ..models import ScanResult
from ..output import json_text
from .interface import ReportContext, for_display, shown_secret

SCHEMA_VERSION = "15.0.7"
SCHEMA_URL = ("https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/"
              f"v{SCHEMA_VERSION}/dist/secret-detection-report-format.json")
VENDOR = {"name": "keyscan"}
NAMESPACE = uuid.UUID("5b3f0d6e-8c1a-4c47-9d36-0c8f7f3f2a11")


def _fmt(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def scan_times(result: ScanResult) -> tuple[str, str]:
    pinned = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if pinned.isdigit():
        return _fmt(int(pinned)), _fmt(int(pinned))
    end = time.time()
    return _fmt(end - max(result.duration, 0.0)), _fmt(end)


def build_gitlab(result: ScanResult, ctx: ReportContext) -> dict:
    from ..nhi import risk
    from ..remediation import remediation_for_finding, rule_catalogue
    from .sarif import relative_path

    result = for_display(result)
    rules = rule_catalogue(result)
    vulns = []
    seen: dict[tuple[str, str], int] = {}
    for f in result.findings:
        rem = remediation_for_finding(f, rules)
        path = relative_path(f.path, ctx.root)
        key = (f.fingerprint, path)
        n = seen.get(key, 0)
        seen[key] = n + 1
        risks = [risk(x) for x in f.nhi]
        identifiers = [
            {"type": "keyscan_rule_id", "name": f"keyscan rule {f.rule_id}", "value": f.rule_id},
            {"type": "cwe", "name": "CWE-798", "value": "798",
             "url": "https://cwe.mitre.org/data/definitions/798.html"},
        ]
        identifiers += [{"type": "owasp_nhi", "name": r.label, "value": r.official_id, "url": r.url}
                        for r in risks]
        where = f" at {f.location}" if f.location else ""
        description = (f"{f.rule_name} ({f.provider}) found{where}: {shown_secret(f, ctx)}. "
                       f"OWASP NHI risks: {', '.join(r.label for r in risks)}.")
        vulns.append({
            "id": str(uuid.uuid5(NAMESPACE, f"{f.fingerprint}:{path}:{n}")),
            "category": "secret_detection",
            "name": f.rule_name,
            "description": description,
            "severity": f.severity.value.capitalize(),
            "confidence": f.confidence.value.capitalize(),
            "solution": " ".join([f"{rem.action}."] + rem.steps()),
            "scanner": {"id": "keyscan", "name": "keyscan"},
            "location": {
                "file": path,
                "start_line": f.start_line,
                "end_line": f.end_line,
                "commit": {"sha": f.provenance.commit or "0000000"},
            },
            "raw_source_code_extract": shown_secret(f, ctx),
            "identifiers": identifiers,
            "links": [{"name": d.title, "url": d.url} for d in rem.docs],
        })
    start, end = scan_times(result)
    tool = {"id": "keyscan", "name": "keyscan", "version": __version__, "vendor": VENDOR}
    return {
        "version": SCHEMA_VERSION,
        "schema": SCHEMA_URL,
        "scan": {
            "analyzer": dict(tool),
            "scanner": dict(tool, url="https://github.com/keyscan/keyscan"),
            "type": "secret_detection",
            "status": "success",
            "start_time": start,
            "end_time": end,
        },
        "vulnerabilities": vulns,
    }


class GitlabReporter:
    name = "gitlab"

    def render(self, result: ScanResult, ctx: ReportContext) -> str:
        return json_text(build_gitlab(result, ctx))
