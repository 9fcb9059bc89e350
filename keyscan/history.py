"""Scanning git history, staged changes and diffs (the ``--history``,
``--staged`` and ``--diff`` modes)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Callable, Optional

from .detect.engine import Engine
from .documents import Document
from .models import Finding, ScanOptions
from .pipeline import scan_document
from .sources import git
from .sources.filesystem import _display

HISTORY_PARALLEL_MIN_COMMITS = 200


class _Target:
    """Where a repository path is shown: relative to the scanned directory."""

    def __init__(self, path: str, root: Optional[str] = None):
        self.root = root or git.repo_root(path)
        abs_path = os.path.abspath(path)
        rel = os.path.relpath(abs_path, self.root)
        self.prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        self.display_root = path
        self.pathspec = [self.prefix] if self.prefix else []

    def display(self, repo_path: str) -> str:
        rel = repo_path[len(self.prefix):] if self.prefix and repo_path.startswith(self.prefix) else repo_path
        return _display(self.display_root, rel)


def _scan_patch(engine: Engine, chunk: bytes, target: _Target, seen_blobs: set[str], *,
                header: bool, max_file_size: int) -> list[Finding]:
    if not engine.prefilter.hits(chunk):
        return []
    cp = git.parse_patch(chunk, header=header)
    out: list[Finding] = []
    for fp in cp.files:
        if fp.binary or not fp.lines:
            continue
        if fp.blob and fp.blob in seen_blobs:
            continue
        if fp.blob:
            seen_blobs.add(fp.blob)
        data = git.added_text(fp)
        if max_file_size and len(data) > max_file_size:
            continue
        props: tuple[tuple[str, str], ...] = ()
        if cp.commit:
            props = (("commit", cp.commit), ("commitDate", cp.date), ("commitPath", fp.path),
                     ("blob", fp.blob))
        doc = Document(path=target.display(fp.path), data=data, properties=props, line_map=fp.numbers)
        out.extend(scan_document(doc, engine))
    return out


def _scan_commits(engine: Engine, root: str, display_root: str, commits: list[str],
                  max_file_size: int) -> list[Finding]:
    target = _Target(display_root, root)
    seen: set[str] = set()
    out: list[Finding] = []
    # Oldest first: the first time a blob is seen is the commit that introduced it.
    for chunk in git.stream_commits(root, commits[::-1], target.pathspec):
        out.extend(_scan_patch(engine, chunk, target, seen, header=True, max_file_size=max_file_size))
    return out


_WORKER_ENGINE: Optional[Engine] = None


def _init(engine: Engine) -> None:
    global _WORKER_ENGINE
    _WORKER_ENGINE = engine
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker(args: tuple) -> list[Finding]:
    assert _WORKER_ENGINE is not None
    return _scan_commits(_WORKER_ENGINE, *args)


def scan_history(engine: Engine, path: str, options: ScanOptions,
                 progress: Optional[Callable[[int, int], None]] = None) -> list[Finding]:
    """Findings in lines added by any commit reachable from all refs (or ``options.branch``).

    Each finding carries ``commit``, ``commitDate`` and ``commitPath``
    properties of the *earliest* commit that added the secret to that path.
    """
    target = _Target(path)
    commits = git.rev_list(target.root, branch=options.branch, since=options.since,
                           max_commits=options.max_commits or None, pathspec=target.pathspec)
    if not commits:
        return []
    order = {c: i for i, c in enumerate(commits)}  # newest first
    jobs = options.jobs or (os.cpu_count() or 1)
    if jobs <= 1 or len(commits) < HISTORY_PARALLEL_MIN_COMMITS:
        found = _scan_commits(engine, target.root, path, commits, options.max_file_size)
    else:
        import multiprocessing as mp
        import sys

        parts = git.split_evenly(commits, jobs)
        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        pool = ctx.Pool(len(parts), initializer=_init, initargs=(engine,))
        try:
            found = []
            for i, res in enumerate(pool.imap(_worker, [(target.root, path, p, options.max_file_size)
                                                        for p in parts]), 1):
                found.extend(res)
                if progress:
                    progress(i, len(parts))
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
    # The same secret in the same blob (a rename, a cherry-pick, the same blob
    # seen by two workers), then at the same path: keep the introducing commit.
    def age(f: Finding) -> int:
        return order.get(f.prop("commit") or "", -1)

    for key in (lambda f: (f.fingerprint, f.prop("blob")), lambda f: (f.fingerprint, f.path)):
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
            f = replace(f, properties=f.properties + tuple(p for p in h.properties if p[0] in _COMMIT_PROPS))
        out.append(f)
    in_tree = {f.fingerprint for f in tree}
    for h in history:
        if h.fingerprint not in in_tree:
            out.append(replace(h, properties=h.properties + (("history_only", "true"),)))
    return out


_COMMIT_PROPS = ("commit", "commitDate")


def scan_staged(engine: Engine, path: str, options: ScanOptions) -> list[Finding]:
    """Findings in what the next commit adds (the index against HEAD)."""
    target = _Target(path)
    return _scan_patch(engine, git.staged_patch(target.root), target, set(), header=False,
                       max_file_size=options.max_file_size)


def scan_diff(engine: Engine, path: str, ref: str, options: ScanOptions) -> list[Finding]:
    """Findings in lines added since ``ref`` (for pull requests)."""
    target = _Target(path)
    return _scan_patch(engine, git.diff_patch(target.root, ref), target, set(), header=False,
                       max_file_size=options.max_file_size)
