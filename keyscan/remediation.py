"""Remediation catalogue: what to do about a leaked credential, per provider family.

The data lives in ``keyscan/data/remediation.yml``.  :func:`remediation_for`
resolves a rule (its ``family``, then its provider) to one catalogue entry,
through the entry's aliases, falling back to ``default``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .ruleset.model import RuleCatalogue

NO_IDENTITY = "No identity-based option: keep it in a secret manager and inject it at runtime."


@dataclass(frozen=True)
class DocLink:
    title: str
    url: str


@dataclass(frozen=True)
class Remediation:
    family: str
    """The catalogue key (``aws``, ``github``, ``default``...)."""
    name: str
    action: str
    """The migration in one line (``keyscan report`` ranks these)."""
    identity: bool
    """True when an identity-based or short-lived alternative exists."""
    revoke: tuple[str, ...]
    alternative: tuple[str, ...]
    least_bad: tuple[str, ...]
    docs: tuple[DocLink, ...]
    generic: bool = False
    """A deliberate catch-all for a credential kind (private keys, JWTs, passwords)."""

    @property
    def is_default(self) -> bool:
        return self.family == "default"

    def steps(self) -> list[str]:
        """Ordered steps: revoke first, then the identity option (or the plain
        statement that there is none), then the least-bad practice."""
        out = [f"Revoke/rotate: {s}" for s in self.revoke]
        if self.identity:
            out += [f"Migrate: {s}" for s in self.alternative]
        else:
            out.append(NO_IDENTITY)
            out += [f"Alternative: {s}" for s in self.alternative]
        out += [f"If the key must stay: {s}" for s in self.least_bad]
        return out


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())


def _tuple(v) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (" ".join(v.split()),)
    return tuple(" ".join(str(x).split()) for x in v)


@functools.lru_cache(maxsize=1)
def catalogue() -> dict[str, Remediation]:
    """Every entry by family key."""
    from .nhi import _load_yaml

    data = _load_yaml("remediation.yml")
    out: dict[str, Remediation] = {}
    for key, e in data["families"].items():
        out[key] = Remediation(
            family=key,
            name=str(e.get("name") or key),
            action=" ".join(str(e["action"]).split()),
            identity=bool(e.get("identity", False)),
            revoke=_tuple(e.get("revoke")),
            alternative=_tuple(e.get("alternative")),
            least_bad=_tuple(e.get("least_bad")),
            docs=tuple(DocLink(str(d["title"]), str(d["url"])) for d in e.get("docs") or ()),
            generic=bool(e.get("generic", False)),
        )
    return out


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    from .nhi import _load_yaml

    data = _load_yaml("remediation.yml")
    idx: dict[str, str] = {}
    for key, e in data["families"].items():
        idx.setdefault(_norm(key), key)
        for alias in e.get("aliases") or ():
            idx.setdefault(_norm(str(alias)), key)
    return idx


def lookup(name: str) -> Optional[Remediation]:
    """The entry for a family or provider name, or None."""
    key = _index().get(_norm(name or ""))
    return catalogue()[key] if key else None


def remediation_for(rule) -> Remediation:
    """The catalogue entry for a rule (anything with ``family``/``provider``,
    or a plain family name).  Falls back to the ``default`` entry."""
    if isinstance(rule, str):
        return lookup(rule) or catalogue()["default"]
    for name in (getattr(rule, "family", ""), getattr(rule, "provider", "")):
        hit = lookup(name) if name else None
        if hit is not None:
            return hit
    if getattr(rule, "generic", False):
        return catalogue()["generic"]
    return catalogue()["default"]


def remediation_for_finding(finding, rules: Optional[RuleCatalogue] = None) -> Remediation:
    """The entry for a finding, through its rule when ``rules`` (the scan's
    catalogue) has it, else through its provider."""
    rule = rules.get(finding.rule_id) if rules is not None else None
    if rule is not None:
        return remediation_for(rule)
    return lookup(finding.provider) or catalogue()["default"]


__all__ = ["NO_IDENTITY", "DocLink", "Remediation", "catalogue", "lookup", "remediation_for", "rule_catalogue",
           "remediation_for_finding", "explain_text", "explain_markdown", "help_uri", "rule_nhi"]


def rule_catalogue(result) -> RuleCatalogue:
    """The rules behind a scan result's findings, for reporters: the catalogue
    the scan ran with.  A hand-built result without one gets the built-in rules."""
    if result.catalogue is not None:
        return result.catalogue
    return _builtin_catalogue()


@functools.lru_cache(maxsize=1)
def _builtin_catalogue() -> RuleCatalogue:
    from .ruleset import RuleCatalogue, load_rules

    return RuleCatalogue(load_rules())


# --------------------------------------------------------------------------
# Human-readable explanations (``keyscan explain``, SARIF ``help``)

def rule_nhi(rule) -> tuple[str, ...]:
    """NHI risks a rule implies by type (NHI2 first).  Location-based risks
    (NHI3, NHI6, NHI8, NHI9, NHI1) depend on the finding."""
    from .nhi import order

    return order(getattr(rule, "nhi", ()) or ())


def explain_text(rule, nhi_ids=None) -> str:
    """Plain-text explanation of a rule: the risk, NHI mapping and steps."""
    from .nhi import risk

    rem = remediation_for(rule)
    lines = [f"{rule.id}: {rule.name}",
             f"Provider: {rule.provider} (remediation family: {rem.family})",
             f"Severity: {rule.severity.value}    Confidence: {rule.confidence.value}"]
    if getattr(rule, "description", ""):
        lines += ["", " ".join(rule.description.split())]
    lines += ["", "OWASP Top 10 Non-Human Identities Risks (2025):"]
    for nid in nhi_ids or rule_nhi(rule):
        r = risk(nid)
        lines.append(f"  {r.official_id} {r.title} - {r.url}")
    lines.append("  (a finding can add NHI1/NHI3/NHI6/NHI8/NHI9/NHI10 from where it is found)")
    lines += ["", f"What to do: {rem.action}."]
    for i, step in enumerate(rem.steps(), 1):
        lines.append(f"  {i}. {step}")
    if rem.docs:
        lines += ["", "Documentation:"]
        lines += [f"  - {d.title}: {d.url}" for d in rem.docs]
    refs = tuple(getattr(rule, "references", ()) or ())
    if refs:
        lines += ["", "Token format references:"]
        lines += [f"  - {u}" for u in refs]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Escape text for inline markdown (tables and lists)."""
    out = text.replace("\\", "\\\\")
    for ch in "|*_`[]<":
        out = out.replace(ch, "\\" + ch)
    return out


def explain_markdown(rule, nhi_ids=None) -> str:
    """Markdown explanation of a rule (SARIF ``help.markdown``)."""
    from .nhi import risk

    rem = remediation_for(rule)
    parts = [f"**{_md(rule.name)}** ({_md(rule.provider)}), severity **{rule.severity.value}**."]
    if getattr(rule, "description", ""):
        parts += ["", " ".join(rule.description.split())]
    parts += ["", "**OWASP Top 10 Non-Human Identities Risks (2025)**", ""]
    for nid in nhi_ids or rule_nhi(rule):
        r = risk(nid)
        parts.append(f"- [{r.official_id} {_md(r.title)}]({r.url})")
    parts += ["", f"**What to do:** {_md(rem.action)}.", ""]
    for i, step in enumerate(rem.steps(), 1):
        parts.append(f"{i}. {_md(step)}")
    if rem.docs:
        parts += ["", "**Documentation**", ""]
        parts += [f"- [{_md(d.title)}]({d.url})" for d in rem.docs]
    return "\n".join(parts) + "\n"


def help_uri(rule) -> str:
    """The most useful single link for a rule: its migration documentation."""
    from .nhi import risk

    rem = remediation_for(rule)
    return rem.docs[0].url if rem.docs else risk("NHI2").url
