"""SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer).

Design choices:

* ``tool.driver.rules`` lists only the rules that have results, sorted by id.
  A run that loads hundreds of rules would otherwise ship hundreds of full
  rule descriptions (help text with NHI mapping and migration steps) in every
  upload; code scanning only needs the metadata of rules that produced alerts,
  and the output stays stable when the rule set grows (golden files, diffs).
  ``ruleIndex`` points into this list.
* URIs are relative to ``%SRCROOT%`` (the scan root, the repository checkout
  in CI), declared in ``originalUriBaseIds``.
* Columns count Unicode code points (``columnKind: unicodeCodePoints``), as
  keyscan does; ``endColumn`` is exclusive, as SARIF requires.
* ``partialFingerprints`` hold a hash of the finding fingerprint (rule +
  secret), the file and the occurrence number inside the file: no line
  numbers, so alerts survive lines moving.
* No secret in clear anywhere unless ``--show-secrets``: messages carry the
  redacted form, ``region.snippet`` the redacted secret, and
  ``contextRegion.snippet`` the line with every known secret redacted.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import os
import re
from pathlib import Path
from typing import Any, Optional

from .._version import __version__
from ..models import Finding, ScanResult, Severity
from ..redact import redact
from ..output import json_text, printable
from ..suppress import JUSTIFICATION
from .interface import ReportContext, for_display, shown_secret

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/keyscan/keyscan"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "keyscanSecret/v2"
CWE_798 = "CWE-798"
CONTEXT_MAX = 240  # characters of the line around the secret in contextRegion

SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
PRECISION = {"high": "very-high", "medium": "high", "low": "medium"}


def pascal(rule_id: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", rule_id) if p)


def sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def relative_path(path: str, root: str) -> str:
    """``path`` relative to ``root``, with forward slashes.  A backslash is a
    separator only on Windows: elsewhere it is part of a name (and of the
    visible escapes of :func:`keyscan.output.printable`, ``\\xff``)."""
    p = path.replace(os.sep, "/") if os.sep != "/" else path
    if os.path.isabs(path):
        try:
            p = os.path.relpath(path, root).replace(os.sep, "/")
        except ValueError:  # another drive on Windows
            p = path.replace(os.sep, "/").lstrip("/")
    while p.startswith("./"):
        p = p[2:]
    return p


def relative_uri(path: str, root: str) -> str:
    """``path`` as a URI reference relative to ``root`` (forward slashes, percent-encoded)."""
    from urllib.parse import quote

    return quote(relative_path(path, root), safe="/-._~!$&'()*+,;=@")


def root_uri(root: str) -> str:
    uri = Path(os.path.abspath(root)).as_uri()
    return uri if uri.endswith("/") else uri + "/"


class _Secrets:
    """Every known secret per file, to redact context snippets completely."""

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        by_path: dict[str, list[str]] = {}
        # (path, line) -> 0-based [start, end) spans of findings on that line (end None: to the end)
        self.spans: dict[tuple[str, int], list[tuple[int, Optional[int]]]] = {}
        for f in findings:
            if f.secret:
                by_path.setdefault(f.path, []).append(f.secret)
            for ln in range(f.start_line, f.end_line + 1):
                c0 = f.start_column - 1 if ln == f.start_line else 0
                c1 = f.end_column - 1 if ln == f.end_line else None
                self.spans.setdefault((f.path, ln), []).append((c0, c1))
        # Per file, each secret indexed by its first PREFIX characters: a
        # snippet is searched position by position, not secret by secret
        # (thousands of secrets in one file made that quadratic).
        self.by_prefix: dict[str, dict[str, list[str]]] = {}
        self.short: dict[str, list[str]] = {}
        for path, v in by_path.items():
            index = self.by_prefix.setdefault(path, {})
            for secret in set(v):
                if len(secret) >= self.PREFIX:
                    index.setdefault(secret[:self.PREFIX], []).append(secret)
                else:
                    self.short.setdefault(path, []).append(secret)
        # Per line: spans sorted by start, and the longest bounded one, so a
        # window of the line finds its spans by bisection (a minified JSON line
        # can hold thousands of findings).
        self.longest: dict[tuple[str, int], int] = {}
        for key, spans in self.spans.items():
            spans.sort(key=lambda sp: sp[0])
            self.longest[key] = max((c1 - c0 for c0, c1 in spans if c1 is not None), default=0)
        self.starts = {key: [c0 for c0, _ in spans] for key, spans in self.spans.items()}
        # lines where a multi-line finding runs to the end of the line
        self.open_ended = {key for key, spans in self.spans.items() if any(c1 is None for _, c1 in spans)}

    PREFIX = 4

    def scrub(self, path: str, text: str) -> str:
        """``text`` with every known secret of ``path`` in it redacted (longest first)."""
        index, short = self.by_prefix.get(path, {}), self.short.get(path, ())
        if not index and not short:
            return text
        n = self.PREFIX
        present = {s for i in range(len(text) - n + 1) for s in index.get(text[i:i + n], ()) if text.startswith(s, i)}
        present.update(s for s in short if s in text)
        for s in sorted(present, key=lambda s: (-len(s), s)):
            if s in text:
                text = text.replace(s, redact(s, prefix=False))
        return text

    def mask(self, path: str, line_no: int, text: str, offset: int = 0) -> str:
        """Redact every finding's span on this line, by position: a secret stored
        escaped (``\\/``, ``\\u0041``) or encoded does not appear literally.
        ``text`` is the part of the line starting at column ``offset`` (0-based)."""
        spans = []
        key = (path, line_no)
        every = self.spans.get(key, ())
        if every:
            starts = self.starts[key]
            hi = bisect.bisect_left(starts, offset + len(text))
            lo = bisect.bisect_left(starts, offset - self.longest[key])
            if key in self.open_ended:  # a multi-line finding runs to the line's end
                lo = 0
            every = every[lo:hi]
        for c0, c1 in every:
            a = max(c0 - offset, 0)
            b = len(text) if c1 is None else min(c1 - offset, len(text))
            if b > a:
                spans.append((a, b))
        merged: list[list[int]] = []
        for a, b in sorted(spans):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        for a, b in reversed(merged):
            text = text[:a] + redact(text[a:b], prefix=False) + text[b:]
        return text


def _rule_name(rule_id: str) -> str:
    """A PascalCase name that differs from the id (SARIF: ``name`` must not
    repeat ``id``; ``jwt`` would give ``Jwt``)."""
    name = pascal(rule_id)
    return name if name.lower() != rule_id.lower() else name + "Secret"


def _rule_entry(rule_id: str, f: Finding, rule) -> dict:
    from ..nhi import order, risk
    from ..remediation import explain_markdown, explain_text, help_uri, remediation_for

    name = printable(rule.name) if rule is not None else f.rule_name  # repo rules: names from the tree
    provider = printable(rule.provider) if rule is not None else f.provider
    severity = rule.severity if rule is not None else f.severity
    nhi_ids = order(rule.nhi) if rule is not None else order(())
    if rule is None:
        from ..ruleset.model import Rule

        rule = Rule(id=rule_id, name=name, provider=provider, pattern="", keywords=(), severity=severity,
                    family=provider.lower(), tags=f.tags)
    rem = remediation_for(rule)
    description = getattr(rule, "description", "") or (
        f"A {name} ({provider}) was found in a file. Anyone who can read the file can use it.")
    tags = ["security", "secret", CWE_798, "external/cwe/cwe-798"]
    tags += [risk(n).tag for n in nhi_ids]
    tags += [t for t in rule.tags if t not in tags]
    confidence = getattr(rule, "confidence", None)
    props = {
        "tags": tags,
        "security-severity": SECURITY_SEVERITY[severity],
        "precision": PRECISION.get(confidence.value if confidence else "high", "high"),
        "problem.severity": "error" if severity.rank >= Severity.HIGH.rank else "warning",
        "provider": provider,
        "family": rem.family,
        "nhi": [risk(n).official_id for n in nhi_ids],
        "identityBasedAlternative": rem.identity,
    }
    return {
        "id": rule_id,
        "name": _rule_name(rule_id),
        "shortDescription": {"text": sentence(f"{name} leaked")},
        "fullDescription": {"text": printable(sentence(description))},
        "helpUri": help_uri(rule),
        "help": {"text": explain_text(rule, nhi_ids), "markdown": explain_markdown(rule, nhi_ids)},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": props,
    }


_CREDENTIAL_RUN = re.compile(r"[^\s\"'`,;:=(){}\[\]<>|]{6,}")


def _credential_like(run: str) -> bool:
    """Could this run of a line be a secret no rule reported here (baselined,
    allowlisted, disabled, below --min-severity, cut by a chunk boundary)?"""
    if "…" in run:
        return False
    has_digit = any(c.isdigit() for c in run)
    has_alpha = any(c.isalpha() for c in run)
    mixed_case = any(c.isupper() for c in run) and any(c.islower() for c in run)
    one_case_name = not mixed_case and all(c.isalpha() or c in "_-." for c in run)  # GITHUB_TOKEN, api-key
    return (has_digit and has_alpha) or (len(run) >= 12 and mixed_case) or (len(run) >= 20 and not one_case_name)


def mask_context(text: str) -> str:
    """Every credential-like run replaced by ``…``: a context snippet shows the
    shape of the line (names, operators, quotes), never a value."""
    return _CREDENTIAL_RUN.sub(lambda m: "…" if _credential_like(m.group(0)) else m.group(0), text)


def _region(f: Finding, ctx: ReportContext, secrets: _Secrets) -> tuple[dict, Optional[dict]]:
    """The finding's region and a context region on the same line, in raw
    (on-disk) coordinates: the context always contains the region, or is
    absent (multi-line findings, or a line that does not hold the finding
    where its columns say, e.g. inside a chunk of a huge line).  Without
    ``--show-secrets`` the context snippet is the line with this and every
    other known finding redacted and every other credential-like value masked."""
    region: dict[str, Any] = {
        "startLine": f.start_line,
        "startColumn": f.start_column,
        "endLine": f.end_line,
        "endColumn": max(f.end_column, f.start_column + 1) if f.end_line == f.start_line else f.end_column,
        "snippet": {"text": shown_secret(f, ctx)},
    }
    line = f.line_text.rstrip("\r\n")
    start, end = f.start_column - 1, region["endColumn"] - 1
    if not line or f.end_line != f.start_line or end > len(line) or not f.secret or line[start:end] != f.secret:
        return region, None
    lo = max(0, start - max(0, CONTEXT_MAX - (end - start)) // 2)
    hi = min(len(line), max(end, lo + CONTEXT_MAX))
    if (lo, hi) == (start, end):  # a secret longer than CONTEXT_MAX: some of the line around it
        lo, hi = max(0, start - 40), min(len(line), end + 40)
    if (lo, hi) == (start, end):  # the line is the secret: a context would equal the region (SARIF1008)
        return region, None
    if ctx.show_secrets:
        text = line[lo:hi]
    else:
        left = mask_context(secrets.scrub(f.path, secrets.mask(f.path, f.start_line, line[lo:start], lo)))
        right = mask_context(secrets.scrub(f.path, secrets.mask(f.path, f.start_line, line[end:hi], end)))
        text = left + f.redacted + right
    if not text.strip():
        return region, None
    context = {"startLine": f.start_line, "startColumn": lo + 1, "endLine": f.start_line,
               "endColumn": hi + 1, "snippet": {"text": printable(text, keep="\t")}}
    return region, context


def _message(f: Finding, ctx: ReportContext, rem) -> str:
    from ..nhi import risk

    risks = ", ".join(risk(n).label for n in f.nhi)
    where = f" at {f.location}" if f.location else ""
    return (f"{f.rule_name} ({f.provider}) found{where}: {shown_secret(f, ctx)}. "
            f"OWASP NHI risks: {risks}. Revoke it first, then: {rem.action.rstrip('.')}.")


def _partial_fingerprint(f: Finding, occurrence: int) -> str:
    h = hashlib.sha256(f"{f.fingerprint}\x00{f.path}\x00{occurrence}".encode(
        "utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def build_sarif(result: ScanResult, ctx: ReportContext) -> dict:
    from ..nhi import risk
    from ..remediation import remediation_for_finding, rule_catalogue

    result = for_display(result)
    rules = rule_catalogue(result)
    # Suppressed findings (baseline, allowlist, inline comment) stay as suppressed
    # results, so code scanning shows them dismissed rather than absent.
    every: list[tuple[str, Finding]] = [("", f) for f in result.findings] + list(result.suppressed_findings)
    rule_ids = sorted({f.rule_id for _, f in every})
    first: dict[str, Finding] = {}
    for _, f in every:
        first.setdefault(f.rule_id, f)
    driver_rules = [_rule_entry(rid, first[rid], rules.get(rid)) for rid in rule_ids]
    index = {rid: i for i, rid in enumerate(rule_ids)}
    secrets = _Secrets(tuple(f for _, f in every))
    seen: dict[tuple[str, str], int] = {}
    results = []
    for hidden, f in every:
        rem = remediation_for_finding(f, rules)
        key = (f.fingerprint, f.path)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        region, context = _region(f, ctx, secrets)
        physical: dict[str, Any] = {
            "artifactLocation": {"uri": relative_uri(f.path, ctx.root), "uriBaseId": SRCROOT},
            "region": region,
        }
        if context:
            physical["contextRegion"] = context
        location: dict[str, Any] = {"physicalLocation": physical}
        if f.location:
            location["logicalLocations"] = [{"fullyQualifiedName": f.location, "kind": "member"}]
        props: dict[str, Any] = {
            "severity": f.severity.value,
            "confidence": f.confidence.value,
            "nhi": [risk(n).official_id for n in f.nhi],
            "provider": f.provider,
            "fingerprint": f.fingerprint,
            "remediation": rem.action,
        }
        if f.location:
            props["location"] = f.location
        if f.checks:
            props["checks"] = dict(f.checks)
        prov = f.provenance
        if prov.not_committed:
            props["notCommitted"] = True  # git-ignored: on disk, never in a commit
        if prov.sent_to_model:
            props["sentToModel"] = True  # in an AI tool's transcript / chat store
        if prov.commit:
            props["commit"] = prov.commit
        if prov.commit_date:
            props["commitDate"] = prov.commit_date
        if prov.history_only:
            props["historyOnly"] = "true"
        source = dict(dataclasses.replace(prov, commit="", commit_date="", history_only=False,
                                          not_committed="", sent_to_model="").pairs())
        if source:
            props["source"] = source
        results.append({
            "ruleId": f.rule_id,
            "ruleIndex": index[f.rule_id],
            "level": LEVEL[f.severity],
            "message": {"text": _message(f, ctx, rem)},
            "locations": [location],
            "partialFingerprints": {FINGERPRINT_KEY: _partial_fingerprint(f, occurrence)},
            "properties": props,
        })
        if hidden:
            results[-1]["suppressions"] = [{"kind": "inSource" if hidden == "inline-allow" else "external",
                                            "justification": JUSTIFICATION.get(hidden, hidden)}]
    run: dict[str, Any] = {}
    if result.config_changes:
        run["invocations"] = [{"executionSuccessful": True, "toolConfigurationNotifications": [
            _config_notification(path, ctx) for path in result.config_changes]}]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            **run,
            "tool": {"driver": {
                "name": "keyscan",
                "fullName": f"keyscan {__version__}",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": driver_rules,
            }},
            "originalUriBaseIds": {SRCROOT: {"uri": root_uri(ctx.root),
                                             "description": {"text": "The directory keyscan scanned from."}}},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "filesScanned": result.files_scanned,
                "filesSkipped": len(result.skipped),
                "rulesLoaded": result.rules_loaded,
            },
        }],
    }


def _config_notification(path: str, ctx: ReportContext) -> dict:
    """A configuration file the reviewed change touches (``--diff``/``--staged``):
    not applied, and the scan fails for it."""
    return {
        "descriptor": {"id": "keyscan/config-changed"},
        "level": "error",
        "message": {"text": f"The reviewed change modifies keyscan configuration ({path}). It was not applied "
                            "(configuration is read from the trusted commit); a maintainer must review it."},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": relative_uri(path, ctx.root),
                                                                 "uriBaseId": SRCROOT}}}],
    }


class SarifReporter:
    name = "sarif"

    def render(self, result: ScanResult, ctx: ReportContext) -> str:
        return json_text(build_sarif(result, ctx))
