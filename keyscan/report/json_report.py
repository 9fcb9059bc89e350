"""JSON report, schema version 1 (documented in README.md, "JSON report").

Deterministic: no timings, findings and skipped files sorted, keys sorted.
"""

from __future__ import annotations

from typing import Any

from .._version import __version__
from ..models import Finding, ScanResult
from ..output import json_text
from .interface import ReportContext, for_display, shown_secret

SCHEMA_VERSION = 1


def finding_to_dict(f: Finding, ctx: ReportContext) -> dict:
    return {
        "rule_id": f.rule_id,
        "rule_name": f.rule_name,
        "provider": f.provider,
        "severity": f.severity.value,
        "confidence": f.confidence.value,
        "path": f.path,
        "start_line": f.start_line,
        "start_column": f.start_column,
        "end_line": f.end_line,
        "end_column": f.end_column,
        "location": f.location,
        "not_committed": f.not_committed,
        "sent_to_model": f.sent_to_model,
        "secret": shown_secret(f, ctx),
        "secret_redacted": not (ctx.show_secrets and bool(f.secret)),
        "fingerprint": f.fingerprint,
        "entropy": f.entropy,
        "tags": list(f.tags),
        "nhi": list(f.nhi),
        "checks": dict(f.checks),
        "properties": dict(f.properties),
    }


class JsonReporter:
    name = "json"

    def render(self, result: ScanResult, ctx: ReportContext) -> str:
        result = for_display(result)
        doc: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "keyscan", "version": __version__},
            "summary": {
                "findings": len(result.findings),
                "files_scanned": result.files_scanned,
                "bytes_scanned": result.bytes_scanned,
                "files_skipped": len(result.skipped),
                "not_committed": sum(1 for f in result.findings if f.not_committed),
                "sent_to_model": sum(1 for f in result.findings if f.sent_to_model),
                "rules_loaded": result.rules_loaded,
                "suppressed": dict(result.suppressed),
                "by_severity": _count(f.severity.value for f in result.findings),
            },
            "findings": [finding_to_dict(f, ctx) for f in result.findings],
            "skipped": [{"path": s.path, "reason": s.reason} for s in result.skipped],
        }
        if result.commits_scanned:
            doc["summary"]["commits_scanned"] = result.commits_scanned
        if result.errors:  # what could not be read: findings may be missing (exit 3)
            doc["summary"]["errors"] = list(result.errors)
        if result.config_changes:  # configuration the reviewed change touches (exit 1)
            doc["summary"]["config_changes"] = list(result.config_changes)
        return json_text(doc, indent=2, sort_keys=True)


def _count(values) -> dict:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))
