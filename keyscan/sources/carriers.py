"""Which git-ignored files carry secrets: the scope rules of the directory walk, as data.

``.gitignore`` hides two very different kinds of file: what the build and the
package managers regenerate (``node_modules/``, virtualenvs, ``dist/``,
caches), and what must never be committed because it holds secrets (``.env``,
key files, agent settings and transcripts).  Coding agents read the second
kind.  By default the walk scans git-ignored files that match
:data:`CARRIERS` and leaves out git-ignored directories that match
:data:`DEPENDENCY_DIRS` (see :mod:`keyscan.sources.filesystem`).

Patterns are matched case-insensitively against the path relative to the
scanned directory (``/``-separated):

* a pattern without ``/`` matches the file name (``*.pem``);
* a pattern with ``/`` matches the end of the path, component by component
  (``.docker/config.json``);
* a pattern ending in ``/`` names a directory: every file below a directory of
  that name matches (``.claude/``).

Only git-ignored paths are ever classified, so the cost is paid where
``.gitignore`` matched, never on ordinary source files.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from typing import Optional

CARRIERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dotenv", (".env", ".env.*", "*.env", ".envrc", ".flaskenv", ".dev.vars",
                ".streamlit/secrets.toml", "secrets.toml", "secrets.yaml", "secrets.yml", "secrets.json")),
    ("key", ("*.pem", "*.key", "*.p8", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.ppk", "*.crt",
             "*.cer", "*.asc", "id_rsa", "id_rsa.*", "id_dsa", "id_ecdsa", "id_ed25519", "id_ed25519.*",
             "*.age")),
    ("credentials", (".npmrc", ".yarnrc", ".yarnrc.yml", ".pypirc", "pip.conf", "pip.ini", "uv.toml",
                     "auth.toml", ".netrc", "_netrc", ".git-credentials", ".pgpass", ".my.cnf", ".boto",
                     ".s3cfg", ".htpasswd", "htpasswd", ".docker/config.json", ".kube/config",
                     "kubeconfig", "kubeconfig.*", "*.kubeconfig", ".aws/credentials", ".aws/config",
                     ".aws/sso/cache/*.json", "credentials", "credentials.json", "credentials.*",
                     "application_default_credentials.json", "service-account*.json",
                     "service_account*.json", ".config/gcloud/", ".azure/", "gh/hosts.yml",
                     ".bundle/config", ".gem/credentials", ".m2/settings.xml", ".cargo/credentials",
                     ".cargo/credentials.toml", "OAI_CONFIG_LIST", "OAI_CONFIG_LIST.json",
                     "huggingface/token", "stored_tokens")),
    ("terraform", ("*.tfvars", "*.tfvars.json", "*.tfstate", "*.tfstate.backup", "*.tfstate.*.backup")),
    ("agent", (".claude/", ".codex/", ".cursor/", ".gemini/", ".continue/", ".windsurf/", ".codeium/",
               ".roo/", ".kiro/", ".junie/", ".amazonq/", ".goose/", ".specstory/", ".aider*",
               ".aider*/", "CLAUDE.local.md", ".mcp.json", "mcp.json", "mcp_config.json",
               "opencode.json", "opencode.jsonc")),
    ("notebook", ("*.ipynb",)),
    ("transcript", ("*.jsonl", "*.ndjson", "*.chat.md", "*history.md")),
    ("log", ("*.log", "*.log.*", "*.out", "logs/", "log/")),
    ("history", (".bash_history", ".zsh_history", ".python_history", ".psql_history", ".mysql_history",
                 ".sqlite_history", ".node_repl_history", "ConsoleHost_history.txt")),
    ("database", ("*.db", "*.sqlite", "*.sqlite3", "*.vscdb", "*.duckdb")),
)
"""``(kind, patterns)``: git-ignored files worth scanning, by the kind of secret carrier."""

DEPENDENCY_DIRS: tuple[str, ...] = (
    "node_modules", "bower_components", "jspm_packages", ".pnpm-store", ".yarn",
    ".venv", "venv", "virtualenv", ".virtualenv", "site-packages", "__pypackages__", ".eggs", "*.egg-info",
    "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis",
    "dist", "build", "_build", "target", "out", ".next", ".nuxt", ".svelte-kit", ".turbo", ".parcel-cache",
    ".angular", ".cache", "cache", ".gradle", ".terraform", ".terragrunt-cache", "coverage", "htmlcov",
    "vendor", "Pods", "DerivedData", ".dart_tool", ".stack-work", "elm-stuff", ".bundle/ruby", "vendor/bundle",
)
"""Git-ignored directories that are dependency, build or cache trees: never
entered unless git tracks something inside them (a directory holding a
``pyvenv.cfg`` is a virtualenv, whatever its name)."""

VENV_MARKER = "pyvenv.cfg"


def compile_patterns(patterns: tuple[str, ...]) -> "tuple[re.Pattern[str], re.Pattern[str]]":
    """One regex for file patterns (matched on the path's end) and one for
    directory patterns (matched on any directory component run)."""
    files: list[str] = []
    dirs: list[str] = []
    for p in patterns:
        p = p.lower()
        is_dir = p.endswith("/")
        parts = [fnmatch.translate(c)[4:-3].replace(".*", "[^/]*") for c in p.rstrip("/").split("/")]  # "(?s:X)\Z" -> X
        body = "/".join(parts)
        (dirs if is_dir else files).append(body)
    file_rx = re.compile(r"(?:^|/)(?:" + "|".join(files) + r")\Z") if files else re.compile(r"(?!)")
    dir_rx = re.compile(r"(?:^|/)(?:" + "|".join(dirs) + r")/") if dirs else re.compile(r"(?!)")
    return file_rx, dir_rx


@functools.lru_cache(maxsize=None)
def _kinds() -> "tuple[tuple[str, tuple[re.Pattern[str], re.Pattern[str]]], ...]":
    """Each carrier kind's patterns, compiled on first use (a directory that is
    not a git work tree never asks)."""
    return tuple((kind, compile_patterns(pats)) for kind, pats in CARRIERS)


@functools.lru_cache(maxsize=None)
def _deps() -> "re.Pattern[str]":
    return compile_patterns(DEPENDENCY_DIRS)[0]


@functools.lru_cache(maxsize=4096)
def _kind(rel: str) -> Optional[str]:
    low = rel.lower()
    for kind, (file_rx, dir_rx) in _kinds():
        if file_rx.search(low) or dir_rx.search(low):
            return kind
    return None


def carrier_kind(rel: str) -> Optional[str]:
    """The kind of secret carrier the file ``rel`` is (``dotenv``, ``agent``...), or None."""
    return _kind(rel.replace("\\", "/"))


def is_dependency_dir(rel_dir: str, names: "set[str] | frozenset[str]" = frozenset()) -> bool:
    """Whether the directory ``rel_dir`` (no trailing slash) is a dependency,
    build or cache tree (``names``: its entries, to recognise a virtualenv)."""
    return VENV_MARKER in names or _deps().search(rel_dir.replace("\\", "/").lower()) is not None
