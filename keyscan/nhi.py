"""OWASP NHI Top 10 (2025) mapping.

The risks themselves (official titles, slugs, links) are data in
``keyscan/data/nhi.yml``.  Type-based risks come from each rule's ``nhi`` list
(``NHI7`` long-lived, ``NHI5`` admin, ``NHI10`` personal token, ``NHI4``
static key where federation exists) and are already on every finding.
:func:`enrich` adds what only the *location* and the *whole scan* can show:

========  ================================================================
NHI1      the secret is only in git history (property ``history_only``)
NHI3      MCP server / agent / IDE-extension configuration file
NHI6      CI/CD workflow, IaC or deployment file, CI log
NHI8      live key in test/dev files, test key in production config, or the
          same secret in files of different environments
NHI9      the same fingerprint in two or more files
NHI10     a personal token in an MCP/agent config or transcript; any
          credential in shell history or an agent transcript
========  ================================================================
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
import re
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from .models import Finding

EDITION = "2025"


@dataclass(frozen=True)
class Risk:
    id: str  # "NHI2"
    title: str
    slug: str
    url: str
    summary: str
    signals: str
    ratings: tuple[tuple[str, str], ...] = ()

    @property
    def official_id(self) -> str:
        """The form OWASP uses: ``NHI2:2025``."""
        return f"{self.id}:{EDITION}"

    @property
    def tag(self) -> str:
        """Tag for SARIF ``properties.tags``: ``OWASP-NHI2:2025``."""
        return f"OWASP-{self.official_id}"

    @property
    def label(self) -> str:
        return f"{self.official_id} {self.title}"


def _load_yaml(name: str):
    from importlib import resources

    from . import safeyaml

    text = resources.files("keyscan").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return safeyaml.load(text)


@functools.lru_cache(maxsize=1)
def risks() -> dict[str, Risk]:
    """All ten risks by short id (``NHI1`` ... ``NHI10``), in order."""
    data = _load_yaml("nhi.yml")
    base = data["project_url"].rstrip("/") + "/"
    out: dict[str, Risk] = {}
    for r in data["risks"]:
        out[r["id"]] = Risk(
            id=r["id"], title=r["title"], slug=r["slug"], url=f"{base}{r['slug']}/",
            summary=" ".join(str(r.get("summary", "")).split()),
            signals=" ".join(str(r.get("signals", "")).split()),
            ratings=tuple((k, str(v)) for k, v in (r.get("ratings") or {}).items()),
        )
    return out


def project_url() -> str:
    return _load_yaml("nhi.yml")["project_url"]


def risk(nhi_id: str) -> Risk:
    """Look up ``NHI7``, ``nhi7`` or ``NHI7:2025``."""
    key = nhi_id.split(":", 1)[0].upper()
    try:
        return risks()[key]
    except KeyError:
        raise KeyError(f"unknown NHI risk {nhi_id!r}") from None


def _num(nhi_id: str) -> int:
    return int(nhi_id[3:])


def order(ids: Iterable[str]) -> tuple[str, ...]:
    """NHI2 first (the primary risk of every finding), then ascending, no duplicates."""
    uniq = {i for i in ids}
    uniq.add("NHI2")
    rest = sorted((i for i in uniq if i != "NHI2"), key=_num)
    return ("NHI2", *rest)


# --------------------------------------------------------------------------
# Path classification (paths use "/" and may be relative or absolute)

_CI_NAMES = {
    ".gitlab-ci.yml", ".gitlab-ci.yaml", "jenkinsfile", "azure-pipelines.yml", "azure-pipelines.yaml",
    "bitbucket-pipelines.yml", ".travis.yml", "appveyor.yml", ".drone.yml", "cloudbuild.yaml",
    "cloudbuild.yml", "buildspec.yml", "codemagic.yaml", "dockerfile", "containerfile",
    "docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml", "serverless.yml",
    "serverless.yaml", "app.yaml", "vercel.json", "netlify.toml", "wrangler.toml", "fly.toml",
    "render.yaml", "procfile", "skaffold.yaml", "kustomization.yaml", "chart.yaml",
    "terraform.tfstate", "terraform.tfstate.backup", "template.yaml", "samconfig.toml",
    "values.yaml", "values.yml", "pulumi.yaml",
}
_CI_PATTERNS = (
    r"(^|/)\.github/workflows/[^/]+\.ya?ml$",
    r"(^|/)\.github/actions/.+\.ya?ml$",
    r"(^|/)\.circleci/[^/]+\.ya?ml$",
    r"(^|/)\.buildkite/[^/]+\.ya?ml$",
    r"(^|/)\.gitlab/ci/.+\.ya?ml$",
    r"(^|/)\.tekton/.+\.ya?ml$",
    r"(^|/)jenkinsfile(\.[^/]+)?$",
    r"(^|/)dockerfile(\.[^/]+)?$",
    r"(^|/)[^/]+\.dockerfile$",
    r"(^|/)docker-compose[^/]*\.ya?ml$",
    r"(^|/)compose\.[^/]+\.ya?ml$",
    r"\.(tf|tfvars|tfstate|hcl)$",
    r"\.tfvars\.json$",
    r"(^|/)values[-_.][^/]*\.ya?ml$",
    r"(^|/)(charts?|helm|k8s|kubernetes|manifests|deploy|deployment|kustomize|argocd|flux)/.+\.ya?ml$",
    r"(^|/)(cloudformation|cfn)/.+\.(ya?ml|json)$",
    r"\.(cfn|cloudformation)\.(ya?ml|json)$",
    # CI logs (GitHub Actions log archives, GitLab job traces, saved build logs)
    r"(^|/)(ci[-_]?logs?|build[-_]?logs?|job[-_]?logs?|pipeline[-_]?logs?|workflow[-_]?logs?)/.+",
    r"(^|/)(job|build|trace|pipeline|ci)[-_.][^/]*\.(log|txt)$",
    r"(^|/)[^/]*(gitlab[-_]ci|github[-_]actions|jenkins|circleci|buildkite)[^/]*\.(log|txt)$",
)

_MCP_NAMES = {
    ".mcp.json", "mcp.json", "mcp_config.json", "mcp-config.json", "mcp_settings.json",
    "claude_desktop_config.json", ".claude.json", "cline_mcp_settings.json", "mcp_servers.json",
    "roo_mcp_settings.json", ".roomodes",
}
_MCP_PATTERNS = (
    r"(^|/)\.cursor/(mcp\.json|.*\.json)$",
    r"(^|/)\.vscode/(mcp\.json|settings\.json)$",
    r"(^|/)\.codex/config\.toml$",
    r"(^|/)\.claude/settings(\.local)?\.json$",
    r"(^|/)\.gemini/settings\.json$",
    r"(^|/)\.continue/.+",
    r"(^|/)\.zed/settings\.json$",
    r"(^|/)zed/settings\.json$",
    r"(^|/)(\.config/)?goose/config\.ya?ml$",
    r"(^|/)\.windsurf/.+\.json$",
    r"(^|/)\.codeium/windsurf/mcp_config\.json$",
    r"(^|/)\.amazonq/(mcp|agents/.+)\.json$",
    r"(^|/)\.aws/amazonq/.+\.json$",
    r"(^|/)\.kiro/settings/mcp\.json$",
    r"(^|/)\.roo/mcp\.json$",
    r"(^|/)opencode\.jsonc?$",
    r"(^|/)\.opencode/.+\.jsonc?$",
    r"(^|/)\.junie/mcp/.+\.json$",
    r"(^|/)\.lmstudio/mcp\.json$",
    r"(^|/)[^/]*mcp[^/]*\.(json|jsonc|toml|ya?ml)$",
    r"(^|/)\.aider\.conf\.ya?ml$",
)

_TRANSCRIPT_PATTERNS = (
    r"(^|/)\.claude/(projects/.+\.jsonl|history\.jsonl|todos/.+)$",
    r"(^|/)\.codex/(sessions/.+|history\.jsonl)$",
    r"(^|/)\.gemini/tmp/.+",
    r"(^|/)\.aider\.(chat|input)\.history(\.md)?$",
    r"(^|/)\.goose/sessions/.+",
    r"(^|/)(transcripts?|sessions|chats?)/.+\.(jsonl|json|md)$",
    r"(^|/)rollout-[^/]+\.jsonl$",
)

_SHELL_HISTORY = (
    r"(^|/)(\.bash_history|\.zsh_history|\.zhistory|\.sh_history|fish_history|\.python_history"
    r"|\.psql_history|\.mysql_history|\.node_repl_history|\.irb_history|consolehost_history\.txt)$")

_TEST_PATH = (
    r"(^|/)(tests?|__tests__|spec|specs|fixtures?|testdata|test_data|mocks?|"
    r"sandbox|dev|development)/"
    r"|(^|/)\.env\.(dev|development|test|testing|local)(\.[^/]*)?$"
    r"|(^|/)[^/]+\.(dev|development|test)\.[^/]+$"
    r"|(^|/)(values|config|settings|application)[-_](dev|development|test)\.[^/]+$"
    r"|(^|/)test_[^/]+\.py$|(^|/)[^/]+_test\.(py|go)$|(^|/)[^/]+\.(test|spec)\.[jt]sx?$")
_PROD_PATH = (
    r"(^|/)(prod|production|live)/"
    r"|(^|/)\.env\.(prod|production|live)(\.[^/]*)?$"
    r"|(^|/)[^/]+\.(prod|production)\.[^/]+$"
    r"|(^|/)(values|config|settings|application)[-_](prod|production)\.[^/]+$"
    r"|(^|/)(prod|production)\.(ya?ml|json|toml|ini|env|tfvars)$")

# Environment of a file for the "same secret in several environments" signal.
_ENV_WORDS = (
    ("production", r"prod|production|live"),
    ("staging", r"stag|staging|stage|preprod|uat"),
    ("test", r"test|testing|qa|ci"),
    ("development", r"dev|development|local"),
)
_ENV_RES = [(name, (
    rf"(^|/)\.env\.({words})(\.[^/]*)?$"
    rf"|(^|/)({words})/"
    rf"|(^|[/._-])({words})\.(ya?ml|json|toml|ini|env|tfvars|properties|conf|cfg)$"
    rf"|(^|/)[^/]*[._-]({words})[._-][^/]*$")) for name, words in _ENV_WORDS]

# Key classes told by the secret itself or the rule id (Stripe-style live/test prefixes).
_LIVE_SECRET = r"^(sk|rk|pk|whsec)_live_|^[a-z]+_live_[A-Za-z0-9]|^live_|^xoxe\."
_TEST_SECRET = r"^(sk|rk|pk)_test_|^[a-z]+_test_[A-Za-z0-9]|^test_"
_LIVE_WORD = r"(^|[-_.])(live|prod|production)([-_.]|$)"
_TEST_WORD = r"(^|[-_.])(test|sandbox)([-_.]|$)"


@functools.lru_cache(maxsize=None)
def _rx(source: str) -> "re.Pattern[str]":
    """The path and key-class patterns above, compiled on first use (a scan
    without findings never needs them)."""
    return re.compile(source)


def _norm(path: str) -> str:
    p = path.replace("\\", "/")
    if "://" in p:  # e.g. git history pseudo-paths: keep the file part
        p = p.split("://", 1)[1]
    return posixpath.normpath(p).lower() if p else p


def is_ci_or_deploy(path: str) -> bool:
    p = _norm(path)
    return posixpath.basename(p) in _CI_NAMES or any(_rx(r).search(p) for r in _CI_PATTERNS)


def is_mcp_config(path: str) -> bool:
    p = _norm(path)
    return posixpath.basename(p) in _MCP_NAMES or any(_rx(r).search(p) for r in _MCP_PATTERNS)


def is_transcript(path: str) -> bool:
    p = _norm(path)
    return any(_rx(r).search(p) for r in _TRANSCRIPT_PATTERNS)


def is_shell_history(path: str) -> bool:
    return bool(_rx(_SHELL_HISTORY).search(_norm(path)))


def is_test_path(path: str) -> bool:
    return bool(_rx(_TEST_PATH).search(_norm(path)))


def is_production_path(path: str) -> bool:
    return bool(_rx(_PROD_PATH).search(_norm(path)))


def environment_of(path: str) -> Optional[str]:
    """``production``, ``staging``, ``test``, ``development`` or None."""
    p = _norm(path)
    for name, rx in _ENV_RES:
        if _rx(rx).search(p):
            return name
    return None


def key_class(f: Finding) -> Optional[str]:
    """``live`` or ``test`` when the credential says which it is, else None."""
    secret = f.secret or ""
    if secret and _rx(_LIVE_SECRET).search(secret):
        return "live"
    if secret and _rx(_TEST_SECRET).search(secret):
        return "test"
    tags = {t.lower() for t in f.tags}
    if tags & {"live", "production", "prod"} or _rx(_LIVE_WORD).search(f.rule_id):
        return "live"
    if tags & {"test", "sandbox", "test-key"} or _rx(_TEST_WORD).search(f.rule_id):
        return "test"
    return None


def _is_personal(f: Finding) -> bool:
    return "NHI10" in f.nhi or bool({t.lower() for t in f.tags} & {"personal-token", "user-token"})


def _file_of(f: Finding) -> str:
    """The file a finding belongs to (a history finding names it in ``path``)."""
    return f.path


def location_risks(f: Finding) -> set[str]:
    """Risks implied by where this one finding sits."""
    path = _file_of(f)
    out: set[str] = set()
    if is_ci_or_deploy(path) or f.provenance.carrier == "ci-log":
        out.add("NHI6")
    mcp = is_mcp_config(path) or (f.location or "").lower().startswith(("mcpservers.", "mcp_servers.",
                                                                        "mcp.servers.", "servers."))
    transcript = is_transcript(path)
    if mcp:
        out.add("NHI3")
    if _is_personal(f) and (mcp or transcript):
        out.add("NHI10")
    if transcript or is_shell_history(path):
        out.add("NHI10")
    kc = key_class(f)
    if kc == "live" and is_test_path(path):
        out.add("NHI8")
    elif kc == "test" and is_production_path(path):
        out.add("NHI8")
    if f.provenance.history_only:
        out.add("NHI1")
    if f.sent_to_model:  # handed to a third party: the model provider
        out.add("NHI3")
    return out


def enrich(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Add location- and aggregation-based NHI risks; order each ``nhi`` tuple
    as NHI2 first, then ascending.  The input order is kept."""
    files_by_fp: dict[str, set[str]] = {}
    for f in findings:
        files_by_fp.setdefault(f.fingerprint, set()).add(_file_of(f))
    out: list[Finding] = []
    for f in findings:
        extra = location_risks(f)
        files = files_by_fp.get(f.fingerprint, set())
        if len(files) >= 2:
            extra.add("NHI9")
            envs = {environment_of(p) for p in files} - {None}
            if len(envs) >= 2:
                extra.add("NHI8")
        nhi = order((*f.nhi, *extra))
        out.append(f if nhi == f.nhi else dataclasses.replace(f, nhi=nhi))
    return tuple(out)


def describe(nhi_ids: Iterable[str]) -> list[Risk]:
    return [risk(i) for i in order(nhi_ids)]


__all__ = [
    "EDITION", "Risk", "describe", "enrich", "environment_of", "is_ci_or_deploy", "is_mcp_config",
    "is_production_path", "is_shell_history", "is_test_path", "is_transcript", "key_class",
    "location_risks", "order", "project_url", "risk", "risks",
]
