"""The runner: every source's items and documents, scanned in this process or
in a pool of worker processes that share one initialiser
(:func:`keyscan.pipeline.workers.init_worker`).

:func:`run` is what :func:`keyscan.api.scan` calls: the directory walk and
stdin (:func:`iter_items`), plus git history, staged changes or a diff
(:mod:`keyscan.sources.history`), each consumed here.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator, Optional, Union

from ..detect.engine import Engine
from ..documents.chunked import CHUNK_SIZE, split_ranges
from ..documents.document import WIDE_BOMS, sniff_binary
from ..errors import UsageError
from ..models import Finding, ScanOptions, SkippedFile
from ..documents import Document
from ..sources import SourceItem, git, history, walk
from ..sources.containers import container_kind
from ..sources.pathfilter import PathFilter
from ..sources.stdin import read_stdin, stdin_item
from .document import scan_bytes, scan_chunked, scan_document, scan_stream, strict_mode
from .workers import WorkerPool, init_worker, make_pool, running, worker_context

PARALLEL_MIN_BYTES = 4 * 1024 * 1024
PARALLEL_MIN_FILES = 64
HISTORY_PARALLEL_MIN_COMMITS = 200
BATCH_BYTES = 2 * 1024 * 1024
BATCH_FILES = 256


@dataclass
class RunResult:
    """What :func:`run` found, before suppression and enrichment."""

    findings: list[Finding] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    bytes_scanned: int = 0
    files_scanned: int = 0
    commits: int = 0
    errors: list[str] = field(default_factory=list)


def run(engine: Engine, options: ScanOptions) -> RunResult:
    """Scan every source ``options`` names: the paths (walk and stdin), or the
    staged changes / a diff, plus the history when asked (its workers start
    first and overlap the working-tree scan)."""
    out = RunResult()
    if options.staged or options.diff_ref:
        for path in options.paths:
            if options.staged:
                got = scan_staged(engine, path, options)
            else:
                got = scan_diff(engine, path, options.diff_ref or "", options)
            out.findings += got.findings
            out.skipped += got.skipped
        return out
    started: list[HistoryScan] = []
    if options.history:  # history workers first: they overlap the working-tree scan
        started = [HistoryScan(engine, p, options) for p in options.paths if p != "-"]
    try:
        streamed: list[Finding] = []
        if "-" in options.paths and options.stdin_data is None:
            options, streamed = _scan_stdin(engine, options, out)
        items = iter_items(options, out.skipped)
        findings, skipped2, nbytes, nfiles = run_items(engine, items, options)
        findings += streamed
        out.bytes_scanned += nbytes
        out.files_scanned += nfiles
        out.skipped.extend(skipped2)
        if options.history:
            found: list[Finding] = []
            for h in started:
                got = h.result()
                found += got.findings
                have = set(out.skipped)
                out.skipped += [s for s in got.skipped if s not in have]
                out.commits += got.commits
                out.errors += got.errors
            findings = history.merge_history(findings, found)
        out.findings = findings
    finally:
        for h in started:
            h.cancel()
    return out


def _scan_stdin(engine: Engine, options: ScanOptions, out: RunResult) -> tuple[ScanOptions, list[Finding]]:
    """Standard input larger than a chunk is scanned here, read chunk by chunk
    like a large file (memory bounded by the chunk size, same findings, lines
    and columns as scanning the bytes as a file), and ``-`` is dropped from the
    paths; otherwise (it fits in a chunk, or is binary or UTF-16/32 and must be
    read whole) its bytes go in ``stdin_data`` and it is scanned as one item."""
    got = read_stdin(options.chunk_size)
    if got.data is not None:
        return replace(options, stdin_data=got.data), []
    assert got.stream is not None
    notes: list[str] = []
    found, nbytes = scan_stream(engine, options.stdin_name, got.stream, options.chunk_size, prefix=got.prefix,
                                strict=options.strict or None, failures=notes)
    out.skipped.extend(SkippedFile(options.stdin_name, msg) for msg in notes)
    out.bytes_scanned += nbytes
    out.files_scanned += 1
    return replace(options, paths=tuple(p for p in options.paths if p != "-")), found


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
        kind: Optional[str] = None  # a database or an archive: read by its own source
        if raw is None and chunk_size and (item.size > chunk_size or item.start or item.stop >= 0):
            result = _scan_large(engine, item, chunk_size, strict)
            if isinstance(result, SkippedFile):
                skipped.append(result)
                continue
            if isinstance(result, str):
                kind = result  # read from the file by the container's source
            elif result is not None:
                findings.extend(result[0])
                skipped.extend(SkippedFile(item.path, msg) for msg in result[2])
                nbytes += result[1]
                nfiles += 0 if item.start else 1  # a file split in ranges counts once
                continue
        if kind is None and raw is None:
            try:
                with open(item.fs_path or item.path, "rb") as fh:
                    raw = fh.read()
            except OSError as exc:
                skipped.append(SkippedFile(item.path, f"unreadable: {exc.strerror or exc}"))
                continue
        if kind is None and raw is not None and sniff_binary(raw[:8192]):
            kind = container_kind(raw[:512], item.path)
            if kind is None:
                skipped.append(SkippedFile(item.path, "binary"))
                continue
        if kind is not None:
            f, s, b, _ = _scan_container(engine, item, kind, raw, chunk_size, strict)
            findings += f
            skipped += s
            nbytes += b
            nfiles += 1
            continue
        assert raw is not None
        notes: list[str] = []
        try:
            found = scan_bytes(engine, item.path, raw, item.provenance, strict=strict, failures=notes)
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # one bad file never aborts the scan
            if strict:
                raise
            # Only the exception type: its text could quote the file's content.
            skipped.append(SkippedFile(item.path, f"internal error ({type(exc).__name__})"))
            continue
        if notes:
            skipped.extend(SkippedFile(item.path, msg) for msg in notes)
        nfiles += 1
        nbytes += len(raw)
        findings.extend(found)
    return findings, skipped, nbytes, nfiles


def _scan_container(engine: Engine, item: SourceItem, kind: str, data: Optional[bytes], chunk_size: int,
                    strict: bool = False):
    """The documents of a SQLite database or an archive (members that are
    containers themselves are expanded in turn, to the archive depth limit)."""
    from ..sources.containers import expand

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
        found, nbytes = scan_chunked(engine, item.path, path, chunk_size, item.provenance, item.start, item.stop,
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
            found: Iterable[SourceItem] = [stdin_item(options.stdin_name, options.stdin_data)]
        else:
            found = walk(p, max_file_size=options.max_file_size, follow_symlinks=options.follow_symlinks,
                         on_skip=on_skip, exclude=options.exclude, ignored=options.git_ignored,
                         path_filter=None if options.keyscanignore else PathFilter(p, options.exclude, ()))
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


@dataclass
class _Feed:
    """What :func:`_stream_batches` tells its caller: items seen so far, and the
    walk's error (raised once the batches already handed out are done)."""

    total: int = 0
    error: Optional[Exception] = None


def _stream_batches(items: Iterator[SourceItem], state: "_Feed", workers: int,
                    chunk_size: int) -> Iterator[list[SourceItem]]:
    """Batches of similar cost as the walk yields items (the pool draws them a
    few batches ahead of its workers, so walking overlaps scanning); a file much
    larger than a chunk is split into ranges scanned by several workers; a walk
    error is kept in ``state``."""
    cur: list[SourceItem] = []
    size = 0
    try:
        for item in items:
            state.total += 1
            parts = _split_large(item, workers, chunk_size)
            if len(parts) > 1:
                state.total += len(parts) - 1
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
        state.error = exc
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
    state = _Feed()
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
                options.progress(done, state.total)
    if state.error is not None:
        raise state.error
    return findings, skipped, nbytes, nfiles


def _run_serial(engine: Engine, items: list[SourceItem], options: ScanOptions):
    findings: list[Finding] = []
    skipped: list[SkippedFile] = []
    nbytes = nfiles = done = 0
    state = _Feed()
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


# --------------------------------------------------------------------------
# Git sources: history commits, staged changes, diffs (keyscan/sources/history.py)


@dataclass
class GitScan:
    """What a git mode found, skipped and could not read."""

    findings: list[Finding] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    commits: int = 0
    errors: list[str] = field(default_factory=list)
    """What git could not give keyscan (findings may be missing: exit 3)."""

    def add(self, other: "GitScan") -> None:
        self.findings += other.findings
        self.skipped += other.skipped
        self.commits += other.commits
        self.errors += other.errors


def scan_documents(engine: Engine, docs: Iterable[Union[Document, SkippedFile]], out: GitScan) -> GitScan:
    """Scan what a git source yields into ``out``."""
    for doc in docs:
        if isinstance(doc, SkippedFile):
            out.skipped.append(doc)
            continue
        out.findings.extend(scan_document(doc, engine))
        out.skipped.extend(SkippedFile(doc.path, msg) for msg in doc.failures)
    return out


def _scan_commits(engine: Engine, target: history.Target, commits: list[str], max_file_size: int) -> GitScan:
    report = git.StreamReport()
    out = scan_documents(engine, history.commit_documents(target, commits, max_file_size, engine.prefilter.hits,
                                                          report), GitScan())
    out.commits = report.commits
    out.errors += history.stream_errors(report)
    return out


def _scan_commits_in_worker(args: tuple) -> GitScan:
    root, display_root, commits, max_file_size, exclude, keyscanignore = args
    target = history.Target(display_root, root, exclude, keyscanignore)
    return _scan_commits(worker_context().engine, target, commits, max_file_size)


class HistoryScan:
    """A history scan started in worker processes: :meth:`result` waits for it.

    Started before the working tree is scanned, so the two overlap (git's
    diffing is most of the cost of a history scan and runs in its own
    processes)."""

    def __init__(self, engine: Engine, path: str, options: ScanOptions,
                 progress: Optional[Callable[[int, int], None]] = None):
        self._engine, self._path, self._options, self._progress = engine, path, options, progress
        self._target = history.Target(path, exclude=options.exclude, keyscanignore=options.keyscanignore)
        self._commits = history.commits_to_scan(self._target, options)
        self._pool: Optional[WorkerPool] = None
        self._pending: list = []
        self._parts: list[list[str]] = []
        jobs = options.jobs or (os.cpu_count() or 1)
        if jobs > 1 and len(self._commits) >= HISTORY_PARALLEL_MIN_COMMITS:
            # One contiguous range of commits per worker keeps git's delta-base
            # cache warm (interleaved commits cost git half as much again).
            self._parts = git.split_contiguous(self._commits, jobs)
            self._pool = make_pool(jobs, init_worker, (engine,))
            self._pending = [self._pool.submit(_scan_commits_in_worker,
                                               (self._target.root, path, p, options.max_file_size,
                                                options.exclude, options.keyscanignore))
                             for p in self._parts]

    def result(self) -> GitScan:
        """Findings in lines added by any commit reachable from all refs (or ``options.branch``).

        Each finding's provenance names the *earliest* commit that added the
        secret to that path (commit, date, path in the commit, blob).
        """
        if not self._commits:
            return GitScan()
        if self._pool is None:
            found = _scan_commits(self._engine, self._target, self._commits, self._options.max_file_size)
        else:
            pool, self._pool = self._pool, None
            found = GitScan()
            with running(pool):
                for i, res in enumerate(pool.results(self._pending), 1):
                    found.add(res)
                    if self._progress:
                        self._progress(i, len(self._parts))
        found.findings = history.earliest(found.findings, {c: i for i, c in enumerate(self._commits)})  # newest first
        found.skipped = sorted(set(found.skipped), key=lambda s: (s.path, s.reason))
        return found

    def cancel(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None


def scan_history(engine: Engine, path: str, options: ScanOptions,
                 progress: Optional[Callable[[int, int], None]] = None) -> GitScan:
    """:class:`HistoryScan`, started and awaited."""
    return HistoryScan(engine, path, options, progress).result()


def scan_staged(engine: Engine, path: str, options: ScanOptions) -> GitScan:
    """Findings in what the next commit adds (the index against HEAD)."""
    return scan_documents(engine, history.staged_documents(path, options, engine.prefilter.hits), GitScan())


def scan_diff(engine: Engine, path: str, ref: str, options: ScanOptions) -> GitScan:
    """Findings in lines added since ``ref`` (for pull requests)."""
    return scan_documents(engine, history.diff_documents(path, ref, options, engine.prefilter.hits), GitScan())
