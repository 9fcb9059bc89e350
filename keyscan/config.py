"""Project configuration: ``.keyscan.toml`` or ``[tool.keyscan]`` in ``pyproject.toml``.

Every problem is a one-line :class:`~keyscan.errors.UsageError` naming the
file and the key (exit 2).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Sequence

from .errors import UsageError
from .models import ScanOptions, Severity

if TYPE_CHECKING:
    from .trust import TrustedSide

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


def toml_loads(data: bytes) -> dict:
    """Parse TOML (ValueError when it does not parse)."""
    # Imported here: most scans have no configuration file (tomllib costs ~15 ms).
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib

    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 ({exc.reason})") from None
    except RecursionError:  # arrays or tables nested thousands deep
        raise ValueError("nested too deeply") from None


def load_config(path: str, data: Optional[bytes] = None, *, name: Optional[str] = None,
                base: Optional[str] = None, contained: bool = False) -> Config:
    """The configuration in ``path`` (or in ``data``, the file's content read
    elsewhere: a git revision).  ``name`` is how errors call the file;
    ``base`` the directory its ``rules`` and ``baseline`` paths are relative
    to (default: the file's).  ``contained``: those paths must stay inside
    ``base`` (a configuration found in the scanned tree; exit 2 otherwise)."""
    name = name or path
    if data is None:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        doc: Any = toml_loads(data)
    except ValueError as exc:
        raise UsageError(f"{name}: invalid TOML: {exc}") from None
    prefix = ""
    if os.path.basename(path) == "pyproject.toml":
        doc = doc.get("tool", {}).get("keyscan", {})
        prefix = "tool.keyscan."
    if not isinstance(doc, dict):
        raise UsageError(f"{name}: {prefix or 'top level'} must be a table")
    unknown = sorted(set(doc) - KEYS)
    if unknown:
        raise UsageError(f"{name}: unknown key '{prefix}{unknown[0]}' (known: {', '.join(sorted(KEYS))})")
    if base is None:
        base = os.path.dirname(os.path.abspath(path))
    path = name

    def inside(key: str, value: str) -> str:
        if not contained:
            return os.path.join(base, value)
        from .trust import safe_relative

        rel = safe_relative(value, path, prefix + key)
        full = os.path.join(base, rel) if rel else base
        if os.path.isabs(base):  # on disk: a symbolic link may not lead out either
            real, root = os.path.realpath(full), os.path.realpath(base)
            if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
                raise UsageError(f"{path}: '{prefix}{key}' path {value!r} leaves the scanned tree (through a "
                                 "symbolic link)")
        return full

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
    for key, value in doc.items():
        if key == "rules":
            kw["rules"] = tuple(inside(key, p) for p in strs(key, value))
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
            kw["baseline"] = inside(key, string(key, value))
    return Config(**kw)


def project_config(explicit: Optional[str], first_path: str) -> Config:
    """The configuration a command runs with: ``explicit`` (``--config``), else
    the file :func:`find_config` finds next to the first scanned path, else none."""
    return _project(explicit, first_path, no_config=False, side=None, workdir=None)[0]


def _project(explicit: Optional[str], first_path: str, *, no_config: bool, side: "Optional[TrustedSide]",
             workdir: Optional[str]) -> tuple[Config, list[str]]:
    """The configuration and what was loaded, as ``keyscan: ...`` notes.

    An explicit ``--config`` is read from disk as given (the command line is
    trusted, and its paths may lead anywhere).  Otherwise the configuration of
    the scanned directory: none with ``no_config``; from the trusted commit
    ``side`` in ``--diff``/``--staged`` (its rule and baseline files copied
    into ``workdir``); else from disk.  A configuration found in the tree
    cannot name paths outside it."""
    if explicit:
        if not os.path.isfile(explicit):
            raise UsageError(f"--config: file not found: {explicit}")
        cfg = load_config(explicit)
        return cfg, [f"config {explicit} (--config)"] + _named(cfg, "")
    if no_config:
        return Config(), []
    start = first_path if first_path != "-" else "."
    if side is None:
        found = find_config(start)
        if not found:
            return Config(), []
        base = os.path.dirname(os.path.abspath(found))
        cfg = load_config(found, base=base, contained=True)
        return cfg, [f"config {found}"] + _named(cfg, "")
    from .trust import prefix_of

    prefix = prefix_of(side, start)
    for fname in (".keyscan.toml", "pyproject.toml"):
        rel = prefix + fname
        data = side.read(rel)
        if data is None or fname == "pyproject.toml" and not _TOOL_TABLE.search(data):
            continue
        where = f" (from {side.label})"
        cfg = load_config(rel, data, name=rel + where, base=prefix, contained=True)
        notes = [f"config {rel}{where}"] + _named(cfg, where)
        return _materialize(cfg, side, workdir or ""), notes
    return Config(), []


_TOOL_TABLE = re.compile(rb"^\s*\[tool\.keyscan[\].]", re.M)


def _named(cfg: Config, where: str) -> list[str]:
    def shown(path: str) -> str:
        if where:  # repository-relative, in the trusted commit
            return path
        rel = os.path.relpath(path)
        return rel if not rel.startswith("..") else os.path.normpath(path)

    return [f"rules {shown(r)}{where}" for r in cfg.rules] + \
        ([f"baseline {shown(cfg.baseline)}{where}"] if cfg.baseline else [])


def _materialize(cfg: Config, side: "TrustedSide", workdir: str) -> Config:
    """``cfg`` (read from the trusted commit) with its rule and baseline files
    copied from that commit into ``workdir``, where the scan reads them."""
    from dataclasses import replace

    def copy(rel: str, data: bytes) -> None:
        dest = os.path.join(workdir, *rel.split("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as fh:
            fh.write(data)

    rules = []
    for rel in cfg.rules:
        rel = rel.strip("/")
        rows = side.entries(rel)
        if not rows:
            raise UsageError(f"{cfg.path}: rules path {rel!r} not found in {side.label}")
        exact = [r for r in rows if r[1] == rel]
        files = exact or [r for r in rows if r[1].endswith((".yml", ".yaml"))]
        os.makedirs(os.path.join(workdir, *rel.split("/")) if not exact else workdir, exist_ok=True)
        for _mode, name in files:
            data = side.read(name)  # refuses a symbolic link
            if data is not None:
                copy(name, data)
        rules.append(os.path.join(workdir, *rel.split("/")) if rel else workdir)
    baseline = None
    if cfg.baseline:
        data = side.read(cfg.baseline)
        if data is None:
            raise UsageError(f"{cfg.path}: baseline {cfg.baseline!r} not found in {side.label}")
        copy(cfg.baseline, data)
        baseline = os.path.join(workdir, *cfg.baseline.split("/"))
    return replace(cfg, rules=tuple(rules), baseline=baseline)


@dataclass(frozen=True)
class Settings:
    """What a command runs with, configuration file and command line merged."""

    options: ScanOptions
    fail_on: Severity
    """``--fail-on``: findings below this severity do not fail the run."""
    config: Config
    """The configuration file's values (``config.path`` is None without a file)."""
    loaded: tuple[str, ...] = ()
    """The configuration files read, as said on stderr: ``config .keyscan.toml
    (from merge base a1b2c3d4)``."""
    config_changes: tuple[str, ...] = ()
    """Configuration files the reviewed change (``--diff``/``--staged``)
    touches: reported, never applied."""
    trusted: str = ""
    """``--diff``/``--staged``: the commit configuration is read from (``merge base a1b2c3d4``)."""
    workdir: Any = field(default=None, compare=False, repr=False)
    """Holds the trusted side's rule and baseline files while the scan runs."""


def resolve_settings(paths: Sequence[str], *, config_file: Optional[str] = None, rules: Sequence[str] = (),
                     disable_rules: Sequence[str] = (), entropy: Optional[bool] = None,
                     min_severity: Optional[str] = None, fail_on: Optional[str] = None,
                     max_file_size: Optional[str] = None, baseline: Optional[str] = None,
                     use_baseline: bool = True, read_stdin: bool = False, no_config: bool = False,
                     **scan: Any) -> Settings:
    """The one place where a configuration file and command-line values become
    :class:`ScanOptions` (every command that scans goes through here).

    Command-line values win; ``None`` (or an empty sequence) means "not given".
    List values (``rules``, ``disable_rules``) add to the file's.  String values
    are parsed once, here, with errors naming the option.  ``use_baseline=False``
    ignores any baseline (``keyscan baseline create/update``); ``read_stdin``
    reads standard input when a path is ``-``, once the options are valid.  Other keywords
    are :class:`ScanOptions` fields passed through (``jobs``, ``history``...).

    In ``--diff``/``--staged`` modes the configuration comes from the trusted
    commit (see :mod:`keyscan.trust`); ``no_config`` ignores every
    configuration file in the tree (``.keyscan.toml``, ``[tool.keyscan]``,
    ``.keyscanignore``), an explicit ``config_file`` still applies.
    """
    from .output import parse_size

    paths = tuple(paths) or (".",)
    side = workdir = None
    if (scan.get("staged") or scan.get("diff_ref")) and paths[0] != "-":
        import tempfile

        from .trust import trusted_side

        side = trusted_side(paths[0], staged=bool(scan.get("staged")), diff_ref=scan.get("diff_ref"))
        workdir = tempfile.TemporaryDirectory(prefix="keyscan-trusted-")
    cfg, loaded = _project(config_file, paths[0], no_config=no_config, side=side,
                           workdir=workdir.name if workdir else None)
    loaded += [f"rules {r} (--rules)" for r in rules]
    if baseline or not use_baseline:  # the command line's baseline replaces the configuration's
        loaded = [n for n in loaded if not n.startswith("baseline ")]
    if baseline and use_baseline:
        loaded.append(f"baseline {baseline} (--baseline)")
    if not no_config:
        loaded += _ignore_notes(paths[0], side)
    changes: list[str] = []
    if side is not None:
        from .trust import watched_changes

        changes = watched_changes(side, paths[0], no_config=no_config, explicit=(
            [config_file] if config_file else []) + ([baseline] if baseline else []), explicit_dirs=rules)
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
        keyscanignore=not no_config,
        **scan,
    )
    return Settings(options=options, fail_on=fail_sev, config=cfg, loaded=tuple(loaded),
                    config_changes=tuple(changes), trusted=side.label if side else "", workdir=workdir)


def _ignore_notes(first_path: str, side: "Optional[TrustedSide]") -> list[str]:
    """The ``.keyscanignore`` files a scan of ``first_path`` applies: from the
    trusted commit (all of them), or on disk the scanned directory's own
    (deeper ones are applied as the walk reaches them)."""
    if first_path == "-":
        return []
    if side is None:
        own = os.path.join(first_path, ".keyscanignore")
        return [f"ignore file {own}"] if os.path.isdir(first_path) and os.path.isfile(own) else []
    from .trust import IGNORE_FILE, prefix_of

    prefix = prefix_of(side, first_path)
    return [f"ignore file {name} (from {side.label})" for mode, name in side.entries(prefix.rstrip("/"), True)
            if name.rsplit("/", 1)[-1] == IGNORE_FILE]


def _severity(value: Optional[str], option: str, configured: Optional[Severity]) -> Severity:
    if value is None:
        return configured or Severity.INFO
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
