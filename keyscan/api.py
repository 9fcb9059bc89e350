"""The library entry point: ``scan(options) -> ScanResult``."""

from __future__ import annotations

import itertools
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator, Optional

from . import cache
from .detect.engine import Engine
from .documents import read_document
from .documents.document import WIDE_BOMS, sniff_binary
from . import baseline as _baseline
from .errors import ScanError, UsageError
from .models import Finding, ScanOptions, ScanResult, SkippedFile
from .documents.chunked import CHUNK_SIZE, split_ranges
from .decoders.registry import decoder_located, decoder_triggers
from .pipeline import scan_chunked, scan_document, strict_mode
from .ruleset import RuleCatalogue, builtin_rules_dir, load_rules
from .ruleset.loader import rule_files
from .sources import SourceItem, walk
from .sources.containers import container_kind
from .suppress import apply_suppressions
from .pipeline.workers import init_worker, make_pool, running, worker_context

PARALLEL_MIN_BYTES = 4 * 1024 * 1024
PARALLEL_MIN_FILES = 64
BATCH_BYTES = 2 * 1024 * 1024
BATCH_FILES = 256


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


def scan_bytes(engine: Engine, path: str, raw: bytes,
               properties: tuple[tuple[str, str], ...] = (), *, strict: Optional[bool] = None,
               failures: Optional[list[str]] = None) -> list[Finding]:
    """Scan in-memory content as if it were the file ``path``.  What went
    wrong (a decoder that failed, a rule that timed out) is added to
    ``failures`` when given; ``strict`` re-raises a decoder's exception
    (see :func:`keyscan.pipeline.scan_document`)."""
    doc = read_document(path, raw, properties)
    found = scan_document(doc, engine, strict)
    if failures is not None:
        failures.extend(doc.failures)
    return found


# --------------------------------------------------------------------------
# Scanning a batch of items (runs in the parent or in a worker process)

def _scan_batch_in_worker(batch: list[SourceItem]):
    ctx = worker_context()  # set by workers.init_worker
    return (*scan_items(ctx.engine, batch, ctx.chunk_size, ctx.strict), len(batch))


def scan_items(engine: Engine, items: Iterable[SourceItem], chunk_size: int = CHUNK_SIZE,
               strict: Optional[bool] = None):
    """Scan ``items``; returns ``(findings, skipped, bytes, files)``.  A
    decoder that failed on a file, or a rule that timed out, is listed in
    ``skipped`` with the file (its other findings are kept); ``strict``
    (default ``KEYSCAN_STRICT``) raises instead."""
    if strict is None:
        strict = strict_mode()
    findings: list[Finding] = []
    skipped: list[SkippedFile] = []
    nbytes = nfiles = 0
    for item in items:
        raw = item.data
        if raw is None and chunk_size and (item.size > chunk_size or item.start or item.stop >= 0):
            result = _scan_large(engine, item, chunk_size, strict)
            if isinstance(result, str):  # a database or an archive, read by its own source
                f, s, b, _ = _scan_container(engine, item, result, None, chunk_size, strict)
                findings += f
                skipped += s
                nbytes += b
                nfiles += 1
                continue
            if isinstance(result, SkippedFile):
                skipped.append(result)
                continue
            if result is not None:
                findings.extend(result[0])
                skipped.extend(SkippedFile(item.path, msg) for msg in result[2])
                nbytes += result[1]
                nfiles += 0 if item.start else 1  # a file split in ranges counts once
                continue
        if raw is None:
            try:
                with open(item.fs_path or item.path, "rb") as fh:
                    raw = fh.read()
            except OSError as exc:
                skipped.append(SkippedFile(item.path, f"unreadable: {exc.strerror or exc}"))
                continue
        if sniff_binary(raw[:8192]):
            kind = container_kind(raw[:512], item.path)
            if kind is None:
                skipped.append(SkippedFile(item.path, "binary"))
                continue
            f, s, b, _ = _scan_container(engine, item, kind, raw, chunk_size, strict)
            findings += f
            skipped += s
            nbytes += b
            nfiles += 1
            continue
        notes: list[str] = []
        try:
            found = scan_bytes(engine, item.path, raw, item.properties, strict=strict, failures=notes)
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # one bad file never aborts the scan
            if strict:
                raise
            # Only the exception type: its text could quote the file's content.
            skipped.append(SkippedFile(item.path, f"internal error ({type(exc).__name__})"))
            continue
        skipped.extend(SkippedFile(item.path, msg) for msg in notes)
        nfiles += 1
        nbytes += len(raw)
        findings.extend(found)
    return findings, skipped, nbytes, nfiles


def _scan_container(engine: Engine, item: SourceItem, kind: str, data: Optional[bytes], chunk_size: int,
                    strict: bool = False):
    """The documents of a SQLite database or an archive (members that are
    containers themselves are expanded in turn, to the archive depth limit)."""
    from .sources.containers import expand

    findings: list[Finding] = []
    skipped: list[SkippedFile] = []
    nbytes = 0
    try:
        for sub in expand(item, kind, data):
            if isinstance(sub, SkippedFile):
                skipped.append(sub)
                continue
            f, s, b, _ = scan_items(engine, (sub,), chunk_size, strict)
            findings += f
            skipped += s
            nbytes += b
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # one bad file never aborts the scan (type only: no content)
        if strict:
            raise
        skipped.append(SkippedFile(item.path, f"internal error reading {kind} ({type(exc).__name__})"))
    return findings, skipped, nbytes, 1


def _scan_large(engine: Engine, item: SourceItem, chunk_size: int,
                strict: bool = False) -> "tuple[list[Finding], int, list[str]] | SkippedFile | str | None":
    """A file above the chunk size: read and scanned in overlapping chunks
    (None: a UTF-16/32 file, read whole like any other; a string: the kind of
    container it is, see :func:`~keyscan.sources.containers.container_kind`)."""
    path = item.fs_path or item.path
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except OSError as exc:
        return SkippedFile(item.path, f"unreadable: {exc.strerror or exc}") if not item.start else ([], 0, [])
    # A skipped or whole-read file is handled once, by its first range.
    if sniff_binary(head):
        if item.start:
            return [], 0, []
        return container_kind(head[:512], item.path) or SkippedFile(item.path, "binary")
    if head.startswith(WIDE_BOMS):
        return None if not item.start else ([], 0, [])
    notes: list[str] = []
    try:
        found, nbytes = scan_chunked(engine, item.path, path, chunk_size, item.properties, item.start, item.stop,
                                     strict=strict, failures=notes)
        return found, nbytes, notes
    except OSError as exc:
        return SkippedFile(item.path, f"unreadable: {exc.strerror or exc}")
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:
        if strict:
            raise
        return SkippedFile(item.path, f"internal error ({type(exc).__name__})")


# --------------------------------------------------------------------------


def iter_items(options: ScanOptions, skipped: list[SkippedFile]) -> Iterator[SourceItem]:
    """What ``options.paths`` name, as the walk finds it.  Missing paths raise
    :class:`UsageError` before anything is yielded; the same file named twice
    (overlapping arguments) is yielded once."""
    for p in options.paths:
        if p != "-" and not os.path.lexists(p):
            raise UsageError(f"path does not exist: {p}")
    return _iter_items(options, skipped)


def _iter_items(options: ScanOptions, skipped: list[SkippedFile]) -> Iterator[SourceItem]:
    def on_skip(path: str, reason: str) -> None:
        skipped.append(SkippedFile(path, reason))

    seen: set[str] = set()
    for p in options.paths:
        if p == "-":
            data = options.stdin_data
            if data is None:
                data = sys.stdin.buffer.read()
            found: Iterable[SourceItem] = [SourceItem(path=options.stdin_name, size=len(data), data=data)]
        else:
            found = walk(p, max_file_size=options.max_file_size, follow_symlinks=options.follow_symlinks,
                         on_skip=on_skip, exclude=options.exclude, ignored=options.git_ignored)
        for it in found:
            if it.path not in seen:
                seen.add(it.path)
                yield it


def _split_large(item: SourceItem, workers: int, chunk_size: int) -> list[SourceItem]:
    """A file much larger than the chunk size, as byte ranges for several workers."""
    parts = min(workers, item.size // (2 * chunk_size)) if chunk_size else 1
    if item.data is not None or parts < 2 or item.start or item.stop >= 0:
        return [item]
    try:
        ranges = split_ranges(item.fs_path or item.path, item.size, parts)
    except OSError:
        return [item]  # reported as unreadable when scanned
    size = item.size
    return [replace(item, start=a, stop=b, size=(b if b >= 0 else size) - a) for a, b in ranges]


def _stream_batches(items: Iterator[SourceItem], state: dict, workers: int,
                    chunk_size: int) -> Iterator[list[SourceItem]]:
    """Batches of similar cost as the walk yields items (it runs in the pool's
    feeder thread, so walking overlaps scanning); a file much larger than a
    chunk is split into ranges scanned by several workers; a walk error is
    kept in ``state`` for the main thread."""
    cur: list[SourceItem] = []
    size = 0
    try:
        for item in items:
            state["total"] += 1
            parts = _split_large(item, workers, chunk_size)
            if len(parts) > 1:
                state["total"] += len(parts) - 1
                for part in parts:
                    yield [part]
                continue
            it = parts[0]
            cur.append(it)
            size += it.size
            if size >= BATCH_BYTES or len(cur) >= BATCH_FILES:
                yield cur
                cur, size = [], 0
    except Exception as exc:  # noqa: BLE001 - re-raised by run_items
        state["error"] = exc
    if cur:
        yield cur


def run_items(engine: Engine, items: Iterable[SourceItem], options: ScanOptions):
    """Scan ``items`` (a list, or an iterator fed by a directory walk).

    Small scans run in this process; large ones in a pool of worker
    processes that starts as soon as the walk has found enough work, so the
    rest of the walk overlaps the scanning.  Results do not depend on the
    path taken (the caller sorts them)."""
    it = iter(items)
    head: list[SourceItem] = []
    size = 0
    parallel = False
    if options.jobs != 1:
        big = False  # a file several workers can share (see _split_large)
        for item in it:
            head.append(item)
            size += item.size
            big = big or (item.data is None and options.chunk_size > 0 and item.size >= 4 * options.chunk_size)
            many = len(head) >= 2 if options.jobs > 1 else len(head) >= PARALLEL_MIN_FILES
            if (many or big) and (options.jobs > 1 or size >= PARALLEL_MIN_BYTES):
                parallel = True
                break
    if not parallel:
        return _run_serial(engine, head + list(it), options)

    findings: list[Finding] = []
    skipped: list[SkippedFile] = []
    nbytes = nfiles = done = 0
    state = {"total": 0, "error": None}
    workers = options.jobs or (os.cpu_count() or 1)
    with running(make_pool(workers, init_worker, (engine, options.chunk_size, options.strict or None))) as pool:
        # The first items, largest first so the long poles start early.
        batches = _stream_batches(itertools.chain(sorted(head, key=lambda i: -i.size), it), state,
                                  workers, options.chunk_size)
        for f, s, b, n, count in pool.imap_unordered(_scan_batch_in_worker, batches):
            findings += f
            skipped += s
            nbytes += b
            nfiles += n
            done += count
            if options.progress:
                options.progress(done, state["total"])
    if state["error"] is not None:
        raise state["error"]
    return findings, skipped, nbytes, nfiles


def _run_serial(engine: Engine, items: list[SourceItem], options: ScanOptions):
    findings: list[Finding] = []
    skipped: list[SkippedFile] = []
    nbytes = nfiles = done = 0
    state = {"total": 0, "error": None}
    for batch in _stream_batches(iter(items), state, 1, options.chunk_size):
        f, s, b, n = scan_items(engine, batch, options.chunk_size, options.strict or None)
        findings += f
        skipped += s
        nbytes += b
        nfiles += n
        done += len(batch)
        if options.progress:
            options.progress(done, len(items))
    return findings, skipped, nbytes, nfiles


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
    skipped: list[SkippedFile] = []
    findings: list[Finding] = []
    nbytes = nfiles = 0
    commits = 0
    errors: list[str] = []
    try:
        if options.staged or options.diff_ref:
            from .sources import history

            for path in options.paths:
                if options.staged:
                    got = history.scan_staged(engine, path, options)
                else:
                    got = history.scan_diff(engine, path, options.diff_ref or "", options)
                findings += got.findings
                skipped += got.skipped
        else:
            started = []
            if options.history:  # history workers first: they overlap the working-tree scan
                from .sources import history

                started = [history.HistoryScan(engine, p, options) for p in options.paths if p != "-"]
            try:
                items = iter_items(options, skipped)
                findings, skipped2, nbytes, nfiles = run_items(engine, items, options)
                skipped.extend(skipped2)
                if options.history:
                    found: list[Finding] = []
                    for h in started:
                        got = h.result()
                        found += got.findings
                        have = set(skipped)
                        skipped += [s for s in got.skipped if s not in have]
                        commits += got.commits
                        errors += got.errors
                    findings = history.merge_history(findings, found)
            finally:
                for h in started:
                    h.cancel()
    except (OSError, MemoryError) as exc:
        raise ScanError(f"scan failed: {exc.__class__.__name__}: {getattr(exc, 'strerror', '') or ''}") from None
    _check_targets(options, skipped)
    from .nhi import enrich  # location/aggregation NHI risks, over the whole scan
    from .sources.aihome import mark

    findings = mark(findings, locations)  # sent to a model provider; the AI tool of an --ai-home finding

    findings, suppressed = apply_suppressions(
        findings, baseline=baseline, allow_values=options.allow_values, allow_regexes=options.allow_regexes)
    findings = [f for f in enrich(findings) if f.severity.rank >= options.min_severity.rank]
    findings.sort(key=lambda f: f.sort_key)
    skipped.sort(key=lambda s: (s.path, s.reason))
    return ScanResult(
        findings=tuple(findings),
        files_scanned=nfiles,
        bytes_scanned=nbytes,
        skipped=tuple(skipped),
        duration=time.perf_counter() - t0,
        rules_loaded=len(engine.rules),
        engine=engine.kind,
        suppressed=tuple(suppressed.items()),
        commits_scanned=commits,
        errors=tuple(errors),
        catalogue=RuleCatalogue(engine.rules),
    )


def _check_targets(options: ScanOptions, skipped: list[SkippedFile]) -> None:
    """A path the user named that could not be read at all is an error, not a
    skipped entry in a report nobody reads (exit 2)."""
    named = set(options.paths) - {"-"}
    for s in skipped:
        if s.path in named and s.reason != "binary" and not s.reason.startswith("larger than"):
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
