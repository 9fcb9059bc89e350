"""Project configuration: ``.keyscan.toml`` or ``[tool.keyscan]`` in ``pyproject.toml``.

Every problem is a one-line :class:`~keyscan.errors.UsageError` naming the
file and the key (exit 2).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

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
    fail_on: Optional[str] = None
    min_severity: Optional[str] = None
    max_file_size: Optional[str] = None
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
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
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
            from .models import Severity

            try:
                Severity.parse(string(key, value))
            except ValueError as exc:
                raise UsageError(f"{path}: '{prefix}{key}': {exc}") from None
            kw[key.replace("-", "_")] = value
        elif key == "max-file-size":
            from .output import parse_size

            try:
                parse_size(string(key, value))
            except ValueError as exc:
                raise UsageError(f"{path}: '{prefix}{key}': {exc}") from None
            kw["max_file_size"] = string(key, value)
        elif key == "baseline":
            kw["baseline"] = os.path.join(base, string(key, value))
    return Config(**kw)
