"""The library entry point: ``scan(options) -> ScanResult``."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Optional

from . import cache
from .detect.engine import Engine
from . import baseline as _baseline
from .errors import ScanError, UsageError
from .models import ScanOptions, ScanResult, SkippedFile
from .decoders.registry import decoder_located, decoder_triggers
from .pipeline.document import scan_bytes
from .pipeline.runner import run
from .ruleset import RuleCatalogue, builtin_rules_dir, load_rules
from .ruleset.loader import rule_files
from .suppress import partition

__all__ = ["build_engine", "rule_catalogue", "scan", "scan_bytes"]


def build_engine(options: ScanOptions) -> Engine:
    """Load the rules and compile the prefilter, from the on-disk cache when possible."""
    if options.engine not in ("auto", "hyperscan", "python"):
        raise UsageError(f"unknown engine {options.engine!r} (auto, hyperscan, python)")
    dirs = [builtin_rules_dir(), *map(Path, options.extra_rule_dirs)]
    files = rule_files(dirs)
    triggers, located = decoder_triggers(), decoder_located()
    extra = "\x00".join(sorted(options.disabled_rules)) + \
        f"\x00entropy={options.entropy}\x00min={options.generic_min_entropy}\x00triggers={triggers!r}" \
        f"\x00located={located!r}"
    key = cache.cache_key(files, options.engine, extra)
    if options.use_cache:
        cached = cache.load(key)
        if isinstance(cached, Engine):
            cached.decode_depth = options.decode_depth
            return cached
    rules = load_rules(options.extra_rule_dirs, disabled=options.disabled_rules)
    if not options.entropy:
        rules = tuple(r for r in rules if not r.generic)
    try:
        engine = Engine(rules, options.engine, triggers=triggers, located=located,
                        generic_min_entropy=options.generic_min_entropy)
    except ImportError as exc:
        raise UsageError(f"engine {options.engine!r} is not available: {exc}") from None
    if options.use_cache:
        cache.store(key, engine)
    engine.decode_depth = options.decode_depth  # a scan setting, not part of the cached engine
    return engine


def rule_catalogue(options: Optional[ScanOptions] = None) -> RuleCatalogue:
    """The rules a scan with ``options`` runs (``keyscan explain``, ``rules list``):
    the engine's, from the on-disk cache when possible, so no rule file is re-read."""
    return RuleCatalogue(build_engine(options or ScanOptions()).rules)


def scan(options: ScanOptions) -> ScanResult:
    """Scan what ``options`` names and return every finding.

    Raises :class:`~keyscan.errors.UsageError` for bad paths, rules or
    options and :class:`~keyscan.errors.ScanError` for runtime failures.
    """
    t0 = time.perf_counter()
    locations: list = []
    if options.ai_home:  # the places AI tools keep secrets on this machine (keyscan/sources/aihome.py)
        from .sources.aihome import locate

        locations = locate(options.home)
        options = replace(options, paths=tuple(loc.path for loc in locations), git_ignored="all")
    _validate(options)
    baseline = _baseline.load(options.baseline) if options.baseline else None
    engine = build_engine(options)
    try:
        ran = run(engine, options)
    except (OSError, MemoryError) as exc:
        raise ScanError(f"scan failed: {exc.__class__.__name__}: {getattr(exc, 'strerror', '') or ''}") from None
    skipped = ran.skipped
    _check_targets(options, skipped)
    from .nhi import enrich  # location/aggregation NHI risks, over the whole scan
    from .sources.aihome import mark

    findings = mark(ran.findings, locations)  # sent to a model provider; the AI tool of an --ai-home finding

    findings, hidden = partition(
        findings, baseline=baseline, allow_values=options.allow_values, allow_regexes=options.allow_regexes)
    floor = options.min_severity.rank
    suppressed = Counter(kind for kind, _ in hidden)
    if any(f.severity.rank < floor for f in findings):
        suppressed["min-severity"] = sum(1 for f in findings if f.severity.rank < floor)
    findings = [f for f in enrich(findings) if f.severity.rank >= floor]
    findings.sort(key=lambda f: f.sort_key)
    # Suppressed findings a report would otherwise show stay in SARIF as suppressed results.
    hidden = sorted(((kind, f) for kind, f in hidden if f.severity.rank >= floor), key=lambda h: h[1].sort_key)
    skipped.sort(key=lambda s: (s.path, s.reason))
    return ScanResult(
        findings=tuple(findings),
        files_scanned=ran.files_scanned,
        bytes_scanned=ran.bytes_scanned,
        skipped=tuple(skipped),
        duration=time.perf_counter() - t0,
        rules_loaded=len(engine.rules),
        engine=engine.kind,
        suppressed=tuple(sorted(suppressed.items())),
        suppressed_findings=tuple(hidden),
        commits_scanned=ran.commits,
        errors=tuple(ran.errors),
        catalogue=RuleCatalogue(engine.rules),
    )


_UNSCANNABLE = frozenset({"not a regular file", "broken symlink", "symlink loop", "symlink (not followed)"})


def _check_targets(options: ScanOptions, skipped: list[SkippedFile]) -> None:
    """A path the user named that could not be read at all is an error, not a
    skipped entry in a report nobody reads (exit 2)."""
    named = set(options.paths) - {"-"}
    for s in skipped:
        # only what left the path unread (a partly scanned file, e.g. a decoder
        # limit, is reported in skipped like any other file)
        if s.path in named and (s.reason.startswith("unreadable: ") or s.reason in _UNSCANNABLE):
            if s.reason.startswith("unreadable: "):
                raise UsageError(f"cannot read {s.path}: {s.reason[len('unreadable: '):]}")
            raise UsageError(f"cannot scan {s.path}: {s.reason} (name a file or directory, or - for "
                             "standard input)")


def _validate(options: ScanOptions) -> None:
    modes = [m for m, on in (("--history", options.history), ("--staged", options.staged),
                             ("--diff", bool(options.diff_ref))) if on]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(modes)} cannot be combined")
    if options.decode_depth < 0:
        raise UsageError("--decode-depth must be 0 or more")
    if options.git_ignored not in ("carriers", "none", "all"):
        raise UsageError(f"unknown git_ignored mode {options.git_ignored!r} (carriers, none, all)")
    if modes and "-" in options.paths:
        raise UsageError(f"{modes[0]} needs a path in a git repository, not stdin")
    from .sources.pathfilter import MAX_EXCLUDE_PATTERNS

    if len(options.exclude) > MAX_EXCLUDE_PATTERNS:
        raise UsageError(f"exclude has {len(options.exclude)} patterns, more than the {MAX_EXCLUDE_PATTERNS} "
                         "keyscan accepts: exclude whole directories ('build/') or use .keyscanignore")
    import re

    for rx in options.allow_regexes:
        try:
            re.compile(rx)
        except re.error as exc:
            raise UsageError(f"allowlist regex {rx!r} does not compile: {exc}") from None
