"""Scanning git history, staged changes and diffs (the ``--history``,
``--staged`` and ``--diff`` modes)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Callable, Optional, Sequence

from ..detect.engine import Engine
from ..documents import Document
from ..documents.document import sniff_binary
from ..models import Finding, Provenance, ScanOptions, SkippedFile
from ..pipeline import scan_document
from . import git
from .filesystem import _display
from .pathfilter import KEYSCAN_IGNORE_FILES, PathFilter
from ..pipeline.workers import init_worker, make_pool, running, worker_context

HISTORY_PARALLEL_MIN_COMMITS = 200


class _Target:
    """Where a repository path is shown: relative to the scanned directory,
    and whether the scanned directory's path filter excludes it."""

    def __init__(self, path: str, root: Optional[str] = None, exclude: Sequence[str] = (),
                 keyscanignore: bool = True, trusted: Optional[str] = None):
        """``trusted``: ``--diff``/``--staged``, whose ``.keyscanignore`` files are read
        from the trusted commit (``"staged"`` or the diff's ref), see :mod:`keyscan.trust`."""
        self.root = root or git.repo_root(path)
        abs_path = os.path.abspath(path)
        rel = os.path.relpath(abs_path, self.root)
        self.prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        self.display_root = path
        self.pathspec = [self.prefix] if self.prefix else []
        preloaded = None
        if trusted is not None and keyscanignore:
            from ..trust import trusted_side

            side = trusted_side(path, staged=trusted == "staged", diff_ref=trusted)
            preloaded = side.ignore_files(self.prefix)
        self.filter = PathFilter(path, exclude, ignore_files=KEYSCAN_IGNORE_FILES if keyscanignore else (),
                                 preloaded=preloaded) if os.path.isdir(path) else None

    def relative(self, repo_path: str) -> str:
        return repo_path[len(self.prefix):] if self.prefix and repo_path.startswith(self.prefix) else repo_path

    def display(self, repo_path: str) -> str:
        return _display(self.display_root, self.relative(repo_path))

    def excluded(self, repo_path: str) -> bool:
        return self.filter is not None and self.filter.excludes(self.relative(repo_path))


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


def _scan_patch(engine: Engine, chunk: bytes, target: _Target, seen_blobs: set[str], out: GitScan, *,
                header: bool, max_file_size: int, prefiltered: bool = False) -> None:
    """Scan one commit's (or one diff's) added lines into ``out``.  A file
    whose added lines hold a NUL byte (binary, as in a directory scan) or are
    larger than ``max_file_size`` is listed in ``out.skipped``."""
    if not prefiltered and not engine.prefilter.hits(chunk):
        return
    cp = git.parse_patch(chunk, header=header)
    for fp in cp.files:
        if not fp.lines and not fp.binary or target.excluded(fp.path):
            continue
        if fp.blob and fp.blob in seen_blobs:
            continue
        if fp.blob:
            seen_blobs.add(fp.blob)
        data = git.added_text(fp)
        where = target.display(fp.path)
        if fp.binary or sniff_binary(data[:8192]):
            out.skipped.append(SkippedFile(where, "binary"))
            continue
        if max_file_size and len(data) > max_file_size:
            out.skipped.append(SkippedFile(
                where, f"added lines larger than --max-file-size ({len(data)} > {max_file_size} bytes)"))
            continue
        prov = Provenance(commit=cp.commit, commit_date=cp.date, commit_path=fp.path,
                          blob=fp.blob) if cp.commit else Provenance()
        doc = Document(path=where, data=data, provenance=prov, line_map=fp.numbers)
        out.findings.extend(scan_document(doc, engine))
        out.skipped.extend(SkippedFile(where, msg) for msg in doc.failures)


def _scan_commits(engine: Engine, root: str, display_root: str, commits: list[str],
                  max_file_size: int, exclude: Sequence[str] = (), keyscanignore: bool = True) -> GitScan:
    target = _Target(display_root, root, exclude, keyscanignore)
    # git reads history fastest newest first (delta chains run from new to old
    # objects); the few commits whose patch has a keyword hit are kept and then
    # parsed oldest first, so the first time a blob is seen is the commit that
    # introduced it.
    report = git.StreamReport()
    kept = [chunk for chunk in git.stream_commits(root, commits, target.pathspec, report)
            if engine.prefilter.hits(chunk)]
    seen: set[str] = set()
    out = GitScan(commits=report.commits)
    for chunk in reversed(kept):
        _scan_patch(engine, chunk, target, seen, out, header=True, max_file_size=max_file_size,
                    prefiltered=True)
    for commit, msg in report.failed:
        out.errors.append(f"commit {commit[:12]}: git could not read it ({msg}); "
                          "findings in it may be missing")
    if report.not_read:
        out.errors.append(f"{report.not_read} commits not scanned after {git.MAX_GIT_RESTARTS} git errors")
    return out


def _worker(args: tuple) -> GitScan:
    return _scan_commits(worker_context().engine, *args)


class HistoryScan:
    """A history scan started in worker processes: :meth:`result` waits for it.

    Started before the working tree is scanned, so the two overlap (git's
    diffing is most of the cost of a history scan and runs in its own
    processes)."""

    def __init__(self, engine: Engine, path: str, options: ScanOptions,
                 progress: Optional[Callable[[int, int], None]] = None):
        self._engine, self._path, self._options, self._progress = engine, path, options, progress
        self._target = _Target(path, exclude=options.exclude, keyscanignore=options.keyscanignore)
        self._commits = git.rev_list(self._target.root, branch=options.branch, since=options.since,
                                     max_commits=options.max_commits or None, pathspec=self._target.pathspec)
        self._pool = None
        self._pending = None
        self._parts: list[list[str]] = []
        jobs = options.jobs or (os.cpu_count() or 1)
        if jobs > 1 and len(self._commits) >= HISTORY_PARALLEL_MIN_COMMITS:
            # One contiguous range of commits per worker keeps git's delta-base
            # cache warm (interleaved commits cost git half as much again).
            self._parts = git.split_contiguous(self._commits, jobs)
            self._pool = make_pool(jobs, init_worker, (engine,))
            self._pending = [self._pool.submit(_worker, (self._target.root, path, p, options.max_file_size,
                                                         options.exclude, options.keyscanignore))
                             for p in self._parts]

    def result(self) -> GitScan:
        """Findings in lines added by any commit reachable from all refs (or ``options.branch``).

        Each finding carries ``commit``, ``commitDate`` and ``commitPath``
        properties of the *earliest* commit that added the secret to that path.
        """
        if not self._commits:
            return GitScan()
        if self._pool is None:
            found = _scan_commits(self._engine, self._target.root, self._path, self._commits,
                                  self._options.max_file_size, self._options.exclude,
                                  self._options.keyscanignore)
        else:
            pool, self._pool = self._pool, None
            found = GitScan()
            with running(pool):
                for i, res in enumerate(pool.results(self._pending or ()), 1):
                    found.add(res)
                    if self._progress:
                        self._progress(i, len(self._parts))
        found.findings = _earliest(found.findings, {c: i for i, c in enumerate(self._commits)})  # newest first
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


def _earliest(found: list[Finding], order: dict[str, int]) -> list[Finding]:
    """The same secret in the same blob (a rename, a cherry-pick, the same blob
    seen by two workers), then at the same path: keep the introducing commit."""
    def age(f: Finding) -> int:
        return order.get(f.provenance.commit, -1)

    for key in (lambda f: (f.fingerprint, f.provenance.blob), lambda f: (f.fingerprint, f.path)):
        earliest: dict[tuple, Finding] = {}
        for f in sorted(found, key=lambda f: f.sort_key):
            cur = earliest.get(key(f))
            if cur is None or age(f) > age(cur):
                earliest[key(f)] = f
        found = list(earliest.values())
    return found


def merge_history(tree: list[Finding], history: list[Finding]) -> list[Finding]:
    """Working-tree findings gain the introducing commit; secrets found only in
    history are reported as ``history_only`` (they were removed but are still
    in the repository, very likely never revoked)."""
    by_fp: dict[str, list[Finding]] = {}
    for h in history:
        by_fp.setdefault(h.fingerprint, []).append(h)
    out: list[Finding] = []
    for f in tree:
        hs = by_fp.get(f.fingerprint)
        if hs:
            # Prefer the history entry at the same path; else any (the file was renamed).
            h = next((x for x in hs if x.path == f.path), hs[0])
            f = replace(f, provenance=replace(f.provenance, commit=h.provenance.commit,
                                              commit_date=h.provenance.commit_date))
        out.append(f)
    in_tree = {f.fingerprint for f in tree}
    for h in history:
        if h.fingerprint not in in_tree:
            out.append(replace(h, provenance=replace(h.provenance, history_only=True)))
    return out



def scan_staged(engine: Engine, path: str, options: ScanOptions) -> GitScan:
    """Findings in what the next commit adds (the index against HEAD)."""
    target = _Target(path, exclude=options.exclude, keyscanignore=options.keyscanignore, trusted="staged")
    out = GitScan()
    _scan_patch(engine, git.staged_patch(target.root), target, set(), out, header=False,
                max_file_size=options.max_file_size)
    return out


def scan_diff(engine: Engine, path: str, ref: str, options: ScanOptions) -> GitScan:
    """Findings in lines added since ``ref`` (for pull requests)."""
    target = _Target(path, exclude=options.exclude, keyscanignore=options.keyscanignore, trusted=ref)
    out = GitScan()
    _scan_patch(engine, git.diff_patch(target.root, ref), target, set(), out, header=False,
                max_file_size=options.max_file_size)
    return out
