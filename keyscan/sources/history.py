"""Git as a source: the documents of history commits, staged changes and
diffs (the ``--history``, ``--staged`` and ``--diff`` modes), each file's
added lines with a typed :class:`~keyscan.models.Provenance` (commit, date,
path in the commit, blob), filtered by the scanned directory's path filter.

The runner (:mod:`keyscan.pipeline.runner`) scans them, in worker processes
for long histories; :func:`earliest` and :func:`merge_history` give history
findings their meaning (the introducing commit; ``history_only``)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Callable, Iterator, Optional, Sequence, Union

from ..documents import Document
from ..documents.document import sniff_binary
from ..models import Finding, Provenance, ScanOptions, SkippedFile
from . import git
from .filesystem import _display
from .pathfilter import KEYSCAN_IGNORE_FILES, PathFilter


class Target:
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


def patch_documents(chunk: bytes, target: Target, seen_blobs: set[str], *, header: bool,
                    max_file_size: int) -> Iterator[Union[Document, SkippedFile]]:
    """The documents of one commit's (or one diff's) patch: each file's added
    lines, at their line numbers in the file, with the commit's provenance.  A
    file whose added lines hold a NUL byte (binary, as in a directory scan) or
    are larger than ``max_file_size`` is a :class:`SkippedFile`; a blob already
    in ``seen_blobs`` is not yielded again."""
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
            yield SkippedFile(where, "binary")
            continue
        if max_file_size and len(data) > max_file_size:
            yield SkippedFile(where, f"added lines larger than --max-file-size ({len(data)} > {max_file_size} bytes)")
            continue
        prov = Provenance(commit=cp.commit, commit_date=cp.date, commit_path=fp.path,
                          blob=fp.blob) if cp.commit else Provenance()
        yield Document(path=where, data=data, provenance=prov, line_map=fp.numbers)


def commit_documents(target: Target, commits: list[str], max_file_size: int, keep: Callable[[bytes], object],
                     report: git.StreamReport) -> Iterator[Union[Document, SkippedFile]]:
    """The documents of ``commits`` whose patch text passes ``keep`` (the
    engine's keyword prefilter); what git could not read is in ``report``
    (see :func:`stream_errors`).

    git reads history fastest newest first (delta chains run from new to old
    objects); the few commits whose patch is kept are then parsed oldest
    first, so the first time a blob is seen is the commit that introduced it."""
    kept = [chunk for chunk in git.stream_commits(target.root, commits, target.pathspec, report) if keep(chunk)]
    seen: set[str] = set()
    for chunk in reversed(kept):
        yield from patch_documents(chunk, target, seen, header=True, max_file_size=max_file_size)


def stream_errors(report: git.StreamReport) -> list[str]:
    """What git could not give keyscan (findings may be missing: exit 3)."""
    out = [f"commit {commit[:12]}: git could not read it ({msg}); findings in it may be missing"
           for commit, msg in report.failed]
    if report.not_read:
        out.append(f"{report.not_read} commits not scanned after {git.MAX_GIT_RESTARTS} git errors")
    return out


def staged_documents(path: str, options: ScanOptions,
                     keep: Callable[[bytes], object]) -> Iterator[Union[Document, SkippedFile]]:
    """The documents of what the next commit adds (the index against HEAD)."""
    target = Target(path, exclude=options.exclude, keyscanignore=options.keyscanignore, trusted="staged")
    patch = git.staged_patch(target.root)
    if keep(patch):
        yield from patch_documents(patch, target, set(), header=False, max_file_size=options.max_file_size)


def diff_documents(path: str, ref: str, options: ScanOptions,
                   keep: Callable[[bytes], object]) -> Iterator[Union[Document, SkippedFile]]:
    """The documents of the lines added since ``ref`` (for pull requests)."""
    target = Target(path, exclude=options.exclude, keyscanignore=options.keyscanignore, trusted=ref)
    patch = git.diff_patch(target.root, ref)
    if keep(patch):
        yield from patch_documents(patch, target, set(), header=False, max_file_size=options.max_file_size)


def commits_to_scan(target: Target, options: ScanOptions) -> list[str]:
    """The commits ``--history`` reads, newest first (all refs, or ``options.branch``)."""
    return git.rev_list(target.root, branch=options.branch, since=options.since,
                        max_commits=options.max_commits or None, pathspec=target.pathspec)


def earliest(found: list[Finding], order: dict[str, int]) -> list[Finding]:
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
