"""Directory walk honouring ``.keyscanignore`` and, git's way, ``.gitignore``.

* ``.git/`` directories are never entered;
* ignore files are read in every directory (gitignore syntax, via
  ``pathspec``), deeper files overriding shallower ones, plus the repository's
  ``.git/info/exclude`` at the walk root;
* ``.keyscanignore`` and ``exclude`` patterns leave a path out, always;
* git-ignored paths (``.gitignore``, ``.git/info/exclude``) depend on
  ``ignored`` (the scope rule, see :mod:`keyscan.sources.carriers`):
  ``"carriers"`` (default) scans the git-ignored files that carry secrets and
  never enters git-ignored dependency/build trees; ``"none"`` skips every
  git-ignored file; ``"all"`` scans them all.  A git-ignored file that is
  scanned carries the property ``not_committed=git-ignored``;
* a file git tracks is always scanned, whatever ``.gitignore`` says (ignore
  rules only apply to untracked files): ``git ls-files`` is asked once per
  repository, and only when a git-ignored path is met;
* symlinks are not followed unless asked (and then loops are detected);
* anything not scanned is reported through ``on_skip`` with a reason, never
  dropped silently (ignored paths excepted: ignoring is the user's choice).
"""

from __future__ import annotations

import operator
import os
import stat
import subprocess
from typing import Callable, Iterator, Optional, Sequence

from .carriers import carrier_kind, is_dependency_dir
from ..models import Provenance
from .interface import SourceItem
from .pathfilter import GIT_IGNORE_FILES, PathFilter

SkipFn = Callable[[str, str], None]
IGNORED_MODES = ("carriers", "none", "all")
NOT_COMMITTED = Provenance(not_committed="git-ignored")
"""Property of an item git ignores (and so never committed)."""
COMMITTABLE = Provenance()
"""Any other item: no property (one shared instance, not one per file)."""

# Subtree states of the walk.
_NORMAL, _IGNORED, _TRACKED_ONLY = 0, 1, 2


_NAME_KEY = operator.attrgetter("name")


def _display(root: str, rel: str) -> str:
    if root in (".", "./", ""):
        return rel
    return os.path.join(root, rel).replace(os.sep, "/") if rel else root


class _Tracked:
    """What git tracks under the walk root, per repository (``git ls-files``,
    asked lazily: only when a git-ignored path is met)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._repos: dict[str, tuple[frozenset[str], frozenset[str]]] = {}

    def _load(self, repo: str) -> tuple[frozenset[str], frozenset[str]]:
        got = self._repos.get(repo)
        if got is None:
            cwd = os.path.join(self.root, repo) if repo else self.root
            try:
                out = subprocess.run(["git", "-C", cwd, "ls-files", "-z"], capture_output=True,
                                     check=False, timeout=120).stdout
            except (OSError, subprocess.SubprocessError):
                out = b""  # no git, or not a repository: nothing is tracked
            files = {repo + f for f in os.fsdecode(out).split("\0") if f}
            dirs = set()
            for f in files:
                d = f.rfind("/")
                while d > 0 and f[:d] not in dirs:
                    dirs.add(f[:d])
                    d = f.rfind("/", 0, d)
            got = self._repos[repo] = (frozenset(files), frozenset(dirs))
        return got

    def file(self, repo: str, rel: str) -> bool:
        return rel in self._load(repo)[0]

    def holds(self, repo: str, rel_dir: str) -> bool:
        """Whether git tracks anything below ``rel_dir`` (no trailing slash)."""
        return rel_dir in self._load(repo)[1]


class _Walk:
    """The state of one walk (ignore stacks, tracked files, options)."""

    def __init__(self, root: str, max_size: int, follow: bool, on_skip: SkipFn, ignored: str,
                 own: PathFilter) -> None:
        self.root = root
        self.max_size = max_size
        self.follow = follow
        self.on_skip = on_skip
        self.mode = ignored
        # .gitignore, .git/info/exclude: scope rules apply
        self.git = PathFilter(root, (), GIT_IGNORE_FILES, git_info_exclude=True)
        self.own = own  # .keyscanignore, exclude: always left out (the filter of every source)
        self.tracked = _Tracked(root)
        self.seen: set[tuple[int, int]] = set()


def walk(root: str, *, max_file_size: int, follow_symlinks: bool, on_skip: SkipFn,
         exclude: Sequence[str] = (), ignored: str = "carriers",
         path_filter: Optional[PathFilter] = None) -> Iterator[SourceItem]:
    """Yield the files under ``root`` (a directory or a single file).

    ``exclude`` holds extra gitignore-style patterns relative to ``root``;
    ``ignored`` is the scope rule for git-ignored paths (``carriers``,
    ``none``, ``all``: see the module docstring); ``path_filter``, when
    given, replaces ``exclude`` (the :class:`PathFilter` of ``root`` every
    source applies).
    """
    if ignored not in IGNORED_MODES:
        raise ValueError(f"unknown ignored mode {ignored!r}")
    try:
        # a root named by the user is followed even when it is a symlink
        # (symlinks met inside it are governed by ``follow_symlinks``)
        st = os.stat(root)
    except FileNotFoundError:
        if os.path.islink(root):
            on_skip(root, "broken symlink")
            return
        raise
    except OSError as exc:
        on_skip(root, f"unreadable: {exc.strerror or exc}")
        return
    if not stat.S_ISDIR(st.st_mode):
        item = _file_item(root, root, st, max_file_size, on_skip)  # named explicitly: always scanned
        if item:
            yield item
        return

    own = path_filter if path_filter is not None else PathFilter(root, exclude)
    w = _Walk(root, max_file_size, follow_symlinks, on_skip, ignored, own)
    yield from _walk_dir(w, "", _NORMAL, "")


def _walk_dir(w: _Walk, rel_dir: str, state: int, repo: str) -> Iterator[SourceItem]:
    """Walk one directory.  ``state``: ``_NORMAL``; ``_IGNORED`` (a git-ignored
    directory: its untracked files are git-ignored too); ``_TRACKED_ONLY``
    (only what git tracks is scanned).  ``repo``: the repository's directory
    (relative to the root, with a trailing slash, or "")."""
    root, on_skip, follow = w.root, w.on_skip, w.follow
    abs_dir = os.path.join(root, rel_dir) if rel_dir else root
    try:
        dst = os.stat(abs_dir)
        key = (dst.st_dev, dst.st_ino)
        if key in w.seen:
            on_skip(_display(root, rel_dir.rstrip("/")), "symlink loop")
            return
        w.seen.add(key)
        with os.scandir(abs_dir) as it:
            entries = sorted(it, key=_NAME_KEY)
    except OSError as exc:
        on_skip(_display(root, rel_dir.rstrip("/")) or root, f"unreadable: {exc.strerror or exc}")
        return

    prefix = _display(root, "") if root in (".", "./", "") else os.path.join(root, "").replace(os.sep, "/")
    names = {e.name for e in entries}
    if ".git" in names and rel_dir:
        repo = rel_dir  # a repository inside the walk: its own tracked files
    dir_key = rel_dir.rstrip("/")
    w.git.enter(dir_key, names)
    w.own.enter(dir_key, names)
    if w.git.refused or w.own.refused:  # an ignore file too large to apply: what it names is scanned
        for path, reason in w.git.take_refused() + w.own.take_refused():
            on_skip(path, reason)
    tracked = w.tracked
    try:
        for entry in entries:
            rel = rel_dir + entry.name
            try:
                is_link = entry.is_symlink()
                if is_link and not follow:
                    on_skip(_display(root, rel), "symlink (not followed)")
                    continue
                is_dir = entry.is_dir(follow_symlinks=follow)
            except OSError as exc:
                on_skip(_display(root, rel), f"unreadable: {exc.strerror or exc}")
                continue
            if is_dir:
                if entry.name == ".git" or w.own.ignored(rel, True):
                    continue
                sub = state
                if state == _NORMAL and w.git.ignored(rel, True):
                    sub = _IGNORED
                if sub == _IGNORED and w.mode != "all" and (
                        w.mode == "none" or is_dependency_dir(rel, _names(entry.path))):
                    sub = _TRACKED_ONLY
                if sub == _TRACKED_ONLY and not tracked.holds(repo, rel):
                    continue
                yield from _walk_dir(w, rel + "/", sub, repo)
                continue
            if w.own.ignored(rel, False):
                continue
            props = COMMITTABLE
            if state != _NORMAL or w.git.ignored(rel, False):
                if tracked.file(repo, rel):
                    pass  # git tracks it: in the repository, whatever .gitignore says
                elif state == _TRACKED_ONLY or w.mode == "none" or (
                        w.mode == "carriers" and carrier_kind(rel) is None):
                    continue
                else:
                    props = NOT_COMMITTED
            try:
                st = entry.stat(follow_symlinks=follow)
            except OSError as exc:
                reason = "broken symlink" if is_link else f"unreadable: {exc.strerror or exc}"
                on_skip(_display(root, rel), reason)
                continue
            item = _file_item(prefix + rel, entry.path, st, w.max_size, on_skip, props)
            if item:
                yield item
    finally:
        w.git.leave(dir_key)
        w.own.leave(dir_key)


def _names(path: str) -> set[str]:
    try:
        return set(os.listdir(path))
    except OSError:
        return set()


def _file_item(display: str, fs_path: str, st: os.stat_result, max_size: int,
               on_skip: SkipFn, provenance: Provenance = COMMITTABLE) -> Optional[SourceItem]:
    if not stat.S_ISREG(st.st_mode):
        on_skip(display, "not a regular file")
        return None
    if max_size and st.st_size > max_size:
        on_skip(display, f"larger than --max-file-size ({st.st_size} > {max_size} bytes)")
        return None
    return SourceItem(path=display, size=st.st_size, fs_path=fs_path, provenance=provenance)
