"""Project configuration: ``.keyscan.toml`` or ``[tool.keyscan]`` in ``pyproject.toml``.

Every problem is a one-line :class:`~keyscan.errors.UsageError` naming the
file and the key (exit 2).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from .errors import UsageError
from .models import ScanOptions, Severity

KEYS = {"rules", "disable-rules", "exclude", "allowlist", "entropy", "entropy-threshold", "fail-on",
        "min-severity", "max-file-size", "baseline"}

TEMPLATE = '''\
# keyscan configuration (https://github.com/keyscan/keyscan#configuration)
# Command-line options override these settings.

# Extra rule directories, relative to this file.
# rules = ["security/keyscan-rules"]

# Rules to turn off, by id (see `keyscan rules list`).
# disable-rules = ["generic-password-assignment"]

# Paths not to scan (gitignore syntax; .gitignore and .keyscanignore are honoured too).
# exclude = ["docs/examples/**", "*.min.js"]

# Exit 1 only for findings at or above this severity: info, low, medium, high, critical.
# fail-on = "high"
# Report only findings at or above this severity.
# min-severity = "low"

# Skip (and report) files larger than this.
# max-file-size = "100MB"   # default: no limit (large files are read in chunks)

# Generic (context + entropy) detection: off, or a higher minimum entropy in bits/char.
# entropy = true
# entropy-threshold = 4.0

# Accepted findings, by hashed fingerprint (`keyscan baseline create`).
# baseline = ".keyscan-baseline.json"

# Values that are known not to be secrets (exact strings or regexes on the value).
# [allowlist]
# values = ["test-key-not-secret"]
# regexes = ["^AKIA[A-Z0-9]{12}TEST$"]
'''


@dataclass(frozen=True)
class Config:
    path: Optional[str] = None
    rules: tuple[str, ...] = ()
    disable_rules: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    allow_values: tuple[str, ...] = field(default=(), repr=False)
    allow_regexes: tuple[str, ...] = ()
    entropy: Optional[bool] = None
    entropy_threshold: Optional[float] = None
    fail_on: Optional[Severity] = None
    min_severity: Optional[Severity] = None
    max_file_size: Optional[int] = None
    """Bytes (parsed from "10MB" and the like)."""
    baseline: Optional[str] = None


def find_config(start: str) -> Optional[str]:
    """``.keyscan.toml``, else a ``pyproject.toml`` with ``[tool.keyscan]``, in ``start``."""
    base = start if os.path.isdir(start) else os.path.dirname(os.path.abspath(start))
    cand = os.path.join(base, ".keyscan.toml")
    if os.path.isfile(cand):
        return cand
    py = os.path.join(base, "pyproject.toml")
    if os.path.isfile(py):
        try:
            with open(py, "rb") as fh:
                if re.search(rb"^\s*\[tool\.keyscan[\].]", fh.read(), re.M):
                    return py
        except OSError:
            return None
    return None


def load_config(path: str) -> Config:
    # Imported here: most scans have no configuration file (tomllib costs ~15 ms).
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:  # arrays or tables nested thousands deep
        raise UsageError(f"{path}: invalid TOML: nested too deeply") from None
    prefix = ""
    if os.path.basename(path) == "pyproject.toml":
        data = data.get("tool", {}).get("keyscan", {})
        prefix = "tool.keyscan."
    if not isinstance(data, dict):
        raise UsageError(f"{path}: {prefix or 'top level'} must be a table")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise UsageError(f"{path}: unknown key '{prefix}{unknown[0]}' (known: {', '.join(sorted(KEYS))})")
    base = os.path.dirname(os.path.abspath(path))

    def strs(key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"{path}: '{prefix}{key}' must be a list of strings")
        return tuple(value)

    def string(key: str, value: Any) -> str:
        if isinstance(value, int) and key == "max-file-size":
            return str(value)
        if not isinstance(value, str):
            raise UsageError(f"{path}: '{prefix}{key}' must be a string")
        return value

    kw: dict[str, Any] = {"path": path}
    for key, value in data.items():
        if key == "rules":
            kw["rules"] = tuple(os.path.join(base, p) for p in strs(key, value))
        elif key == "disable-rules":
            kw["disable_rules"] = strs(key, value)
        elif key == "exclude":
            kw["exclude"] = strs(key, value)
        elif key == "allowlist":
            if not isinstance(value, dict) or set(value) - {"values", "regexes"}:
                raise UsageError(f"{path}: '{prefix}allowlist' must be a table with 'values' and/or 'regexes'")
            kw["allow_values"] = strs("allowlist.values", value.get("values", []))
            regexes = strs("allowlist.regexes", value.get("regexes", []))
            for rx in regexes:
                try:
                    re.compile(rx)
                except re.error as exc:
                    raise UsageError(f"{path}: '{prefix}allowlist.regexes': {rx!r} does not compile: {exc}") from None
            kw["allow_regexes"] = regexes
        elif key == "entropy":
            if not isinstance(value, bool):
                raise UsageError(f"{path}: '{prefix}entropy' must be true or false")
            kw["entropy"] = value
        elif key == "entropy-threshold":
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 8:
                raise UsageError(f"{path}: '{prefix}entropy-threshold' must be a number from 0 to 8")
            kw["entropy_threshold"] = float(value)
        elif key in ("fail-on", "min-severity"):
            try:
                kw[key.replace("-", "_")] = Severity.parse(string(key, value))
            except ValueError as exc:
                raise UsageError(f"{path}: '{prefix}{key}': {exc}") from None
        elif key == "max-file-size":
            from .output import parse_size

            try:
                kw["max_file_size"] = parse_size(string(key, value))
            except ValueError as exc:
                raise UsageError(f"{path}: '{prefix}{key}': {exc}") from None
        elif key == "baseline":
            kw["baseline"] = os.path.join(base, string(key, value))
    return Config(**kw)


def project_config(explicit: Optional[str], first_path: str) -> Config:
    """The configuration a command runs with: ``explicit`` (``--config``), else
    the file :func:`find_config` finds next to the first scanned path, else none."""
    if explicit:
        if not os.path.isfile(explicit):
            raise UsageError(f"--config: file not found: {explicit}")
        return load_config(explicit)
    found = find_config(first_path if first_path != "-" else ".")
    return load_config(found) if found else Config()


@dataclass(frozen=True)
class Settings:
    """What a command runs with, configuration file and command line merged."""

    options: ScanOptions
    fail_on: Severity
    """``--fail-on``: findings below this severity do not fail the run."""
    config: Config
    """The configuration file's values (``config.path`` is None without a file)."""


def resolve_settings(paths: Sequence[str], *, config_file: Optional[str] = None, rules: Sequence[str] = (),
                     disable_rules: Sequence[str] = (), entropy: Optional[bool] = None,
                     min_severity: Optional[str] = None, fail_on: Optional[str] = None,
                     max_file_size: Optional[str] = None, baseline: Optional[str] = None,
                     use_baseline: bool = True, read_stdin: bool = False, **scan: Any) -> Settings:
    """The one place where a configuration file and command-line values become
    :class:`ScanOptions` (every command that scans goes through here).

    Command-line values win; ``None`` (or an empty sequence) means "not given".
    List values (``rules``, ``disable_rules``) add to the file's.  String values
    are parsed once, here, with errors naming the option.  ``use_baseline=False``
    ignores any baseline (``keyscan baseline create/update``); ``read_stdin``
    reads standard input when a path is ``-``, once the options are valid.  Other keywords
    are :class:`ScanOptions` fields passed through (``jobs``, ``history``...).
    """
    from .output import parse_size

    paths = tuple(paths) or (".",)
    cfg = project_config(config_file, paths[0])
    size = cfg.max_file_size or 0
    if max_file_size is not None:
        try:
            size = parse_size(max_file_size)
        except ValueError as exc:
            raise UsageError(f"--max-file-size: {exc}") from None
    if (scan.get("since") or scan.get("branch") or scan.get("max_commits")) and not scan.get("history"):
        raise UsageError("--since, --branch and --max-commits need --history")
    min_sev = _severity(min_severity, "--min-severity", cfg.min_severity)
    fail_sev = _severity(fail_on, "--fail-on", cfg.fail_on)
    if read_stdin and "-" in paths:
        scan["stdin_data"] = sys.stdin.buffer.read()
    options = ScanOptions(
        paths=paths,
        max_file_size=size,
        extra_rule_dirs=cfg.rules + tuple(rules),
        disabled_rules=cfg.disable_rules + tuple(disable_rules),
        min_severity=min_sev,
        entropy=(cfg.entropy is not False) if entropy is None else entropy,
        generic_min_entropy=cfg.entropy_threshold or 0.0,
        baseline=(baseline or cfg.baseline) if use_baseline else None,
        allow_values=cfg.allow_values,
        allow_regexes=cfg.allow_regexes,
        exclude=cfg.exclude,
        **scan,
    )
    return Settings(options=options, fail_on=fail_sev, config=cfg)


def _severity(value: Optional[str], option: str, configured: Optional[Severity]) -> Severity:
    if value is None:
        return configured or Severity.INFO
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
