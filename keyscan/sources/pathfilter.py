"""The one path filter every source applies (gitignore syntax, via ``pathspec``).

A :class:`PathFilter` answers "is this path, relative to the scanned
directory, excluded?" for the directory walk, for the lines of a ``--staged``
or ``--diff`` patch and for the files of every commit of ``--history``, so a
file excluded in one mode is excluded in all of them.

Its patterns, the later overriding the earlier, as git orders them:

* the ``exclude`` patterns (configuration ``exclude``, ``--exclude``),
  relative to the scanned directory;
* ``.keyscanignore`` in every directory from the scanned one down to the
  file's, deeper files overriding shallower ones.

``.gitignore`` is not part of it: it describes files git does not track, a
scope question the walk answers (git-ignored files that carry secrets are
scanned, see :mod:`keyscan.sources.filesystem`), and git sources only see
tracked content (a ``.env`` committed before it was ignored is exactly what a
history scan must find).  The walk uses this same class, with
``GIT_IGNORE_FILES``, for its ``.gitignore`` stack.

Ignore files are read from the scanned directory as it is on disk now (the
user's current policy applies to old commits too).  An excluded directory
excludes everything below it, as in git.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

if TYPE_CHECKING:
    import pathspec

KEYSCAN_IGNORE_FILES = (".keyscanignore",)
"""The user's ignore files: left out by every source."""
GIT_IGNORE_FILES = (".gitignore",)
"""git's ignore files (the walk's scope rule, see the module docstring)."""


def load_spec(path: str, refused: "Optional[list[tuple[str, int]]]" = None) -> "Optional[pathspec.PathSpec]":
    """The gitignore patterns of the file at ``path`` (None: absent or empty,
    or more than :data:`MAX_IGNORE_PATTERNS` patterns: then ``(path, count)``
    is added to ``refused``)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    return _ignore_spec(path, lines, refused)


def _ignore_spec(path: str, lines: Iterable[str],
                 refused: "Optional[list[tuple[str, int]]]") -> "Optional[pathspec.PathSpec]":
    lines = _patterns(lines)
    if len(lines) > MAX_IGNORE_PATTERNS:
        if refused is not None:
            refused.append((path, len(lines)))
        return None
    return spec_from_lines(lines, backend="simple")


MAX_EXCLUDE_PATTERNS = 1000
"""The ``exclude`` list (it can come from the scanned repository's
configuration) is refused above this many patterns (checked by
:func:`keyscan.api.scan`): each costs about 0.35 ms to compile."""

MAX_IGNORE_PATTERNS = 2000
"""An ignore file (``.gitignore``, ``.keyscanignore``, ``.git/info/exclude``:
the scanned repository writes them) with more patterns than this is not
applied, and listed in ``skipped``: what it would have left out is scanned
(never less).  Ignore files are compiled with pathspec's ``simple`` backend
(one Python regex per pattern: linear, interruptible).  Measured (pathspec
1.1.1, CPU time, load ~19): a typical 68-line Python ``.gitignore`` compiles in
1 ms (0.20 s with the Hyperscan backend) and costs 41 us per path checked
(5.7 us with Hyperscan); 20,000 patterns: 4 s to compile and 15 ms per path
(Hyperscan: 107 s in one uninterruptible call); so about 0.6 us per pattern
and path, 1.2 ms per path at this limit."""

REFUSED_IGNORE_REASON = "ignore file with {count} patterns (more than {limit}): not applied, the files it names are scanned"


def _patterns(lines: Iterable[str]) -> list[str]:
    return [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def spec_from_lines(lines: Iterable[str], backend: Optional[str] = None) -> "Optional[pathspec.PathSpec]":
    """``backend="simple"``: one Python regex per pattern, compiled in time
    linear in their number and interruptible by Ctrl-C.  pathspec's default
    backend (Hyperscan, when installed) compiles all patterns in one native
    call: 1,000 patterns took 15 s, 20,000 over a minute, uninterruptible."""
    lines = _patterns(lines)
    if not lines:
        return None
    import pathspec  # only where patterns exist

    if backend:
        try:
            return pathspec.GitIgnoreSpec.from_lines(lines, backend=backend)
        except TypeError:  # pathspec < 1.0 has one backend: one regex per pattern
            pass
    return pathspec.GitIgnoreSpec.from_lines(lines)


class PathFilter:
    """Gitignore-style exclusion of paths relative to ``root`` (``/``-separated,
    directories without a trailing slash)."""

    def __init__(self, root: str, exclude: Sequence[str] = (),
                 ignore_files: Sequence[str] = KEYSCAN_IGNORE_FILES, git_info_exclude: bool = False,
                 preloaded: Optional[dict[str, list[str]]] = None):
        """``preloaded``: the ignore files' lines by directory, read elsewhere
        (a trusted git commit, see :mod:`keyscan.trust`): nothing is read from disk."""
        self.root = root
        self.exclude = tuple(exclude)
        self.ignore_files = tuple(ignore_files)
        self.git_info_exclude = git_info_exclude
        self.preloaded = preloaded
        self._base: "list[pathspec.PathSpec]" = []
        self._setup()

    def _setup(self) -> None:
        self._base = []
        self.refused: list[tuple[str, int]] = []
        """Ignore files not applied (too many patterns): ``(path, count)``, for
        the walk to list in ``skipped`` (:meth:`take_refused`)."""
        self._loaded: set[str] = set()
        self._specs: "dict[str, list[pathspec.PathSpec]]" = {}
        """Directories with ignore patterns, parents before children."""
        if self.git_info_exclude:
            spec = load_spec(os.path.join(self.root, ".git", "info", "exclude"), self.refused)
            if spec:
                self._base.append(spec)
        spec = spec_from_lines(self.exclude, backend="simple")
        if spec:
            self._base.append(spec)

    # Picklable for worker processes: the per-directory cache is rebuilt there.
    def __getstate__(self) -> dict:
        return {"root": self.root, "exclude": self.exclude, "ignore_files": self.ignore_files,
                "git_info_exclude": self.git_info_exclude, "preloaded": self.preloaded}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._setup()

    def enter(self, rel_dir: str, names: "Optional[set[str]]" = None) -> None:
        """Load the ignore files of directory ``rel_dir`` ("" for the root, no
        trailing slash; ``names``, its entries when the caller has listed it,
        saves the existence checks)."""
        if rel_dir in self._loaded:
            return
        self._loaded.add(rel_dir)
        if self.preloaded is not None:
            lines = self.preloaded.get(rel_dir) if self.ignore_files else None
            fname = self.ignore_files[0] if self.ignore_files else ""
            spec = _ignore_spec(os.path.join(rel_dir, fname), lines, self.refused) if lines else None
            if spec:
                self._specs[rel_dir] = [spec]
            return
        specs = []
        for fname in self.ignore_files:
            if names is not None and fname not in names:
                continue  # most directories
            spec = load_spec(os.path.join(self.root, rel_dir, fname), self.refused)
            if spec:
                specs.append(spec)
        if specs:
            self._specs[rel_dir] = specs

    def take_refused(self) -> list[tuple[str, str]]:
        """``(path, reason)`` of the ignore files not applied since the last call."""
        if not self.refused:
            return []
        out = [(path, REFUSED_IGNORE_REASON.format(count=n, limit=MAX_IGNORE_PATTERNS)) for path, n in self.refused]
        self.refused.clear()
        return out

    def leave(self, rel_dir: str) -> None:
        """Forget a directory's ignore files (the walk is done with it)."""
        self._loaded.discard(rel_dir)
        self._specs.pop(rel_dir, None)

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        """Whether ``rel`` itself is excluded, its parent directories assumed
        not to be (the walk never enters an excluded directory)."""
        if not self._base and not self._specs:  # no pattern applies (most of a walk)
            return False
        sub = rel + "/" if is_dir else rel
        decision = False
        for spec in self._base:
            res = spec.check_file(sub)
            if res.include is not None:
                decision = res.include
        for key, specs in self._specs.items():
            if key:
                if not sub.startswith(key) or sub[len(key):len(key) + 1] != "/":
                    continue
                tail = sub[len(key) + 1:]
                if not tail or tail == "/":
                    continue  # a directory's own ignore files do not apply to it
            else:
                tail = sub
            for spec in specs:
                res = spec.check_file(tail)
                if res.include is not None:
                    decision = res.include
        return decision

    def excludes(self, rel: str) -> bool:
        """Whether the file ``rel`` is excluded, itself or through a parent
        directory (for sources that see paths, not directories: git patches)."""
        rel = rel.strip("/")
        if not rel:
            return False
        parts = rel.split("/")
        self.enter("")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if self.ignored(parent, True):
                return True
            self.enter(parent)
        return self.ignored(rel, False)
