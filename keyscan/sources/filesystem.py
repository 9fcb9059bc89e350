"""Directory walk honouring ``.gitignore`` and ``.keyscanignore``.

* ``.git/`` directories are never entered;
* ignore files are read in every directory (gitignore syntax, via
  ``pathspec``), deeper files overriding shallower ones, plus the repository's
  ``.git/info/exclude`` at the walk root;
* symlinks are not followed unless asked (and then loops are detected);
* anything not scanned is reported through ``on_skip`` with a reason, never
  dropped silently (ignored paths excepted: ignoring is the user's choice).
"""

from __future__ import annotations

import operator
import os
import stat
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence

if TYPE_CHECKING:
    import pathspec

from .interface import SourceItem

IGNORE_FILES = (".gitignore", ".keyscanignore")
SkipFn = Callable[[str, str], None]


_NAME_KEY = operator.attrgetter("name")


def _display(root: str, rel: str) -> str:
    if root in (".", "./", ""):
        return rel
    return os.path.join(root, rel).replace(os.sep, "/") if rel else root


def _load_spec(path: str) -> "Optional[pathspec.PathSpec]":
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    lines = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return None
    import pathspec  # only where ignore files exist

    return pathspec.GitIgnoreSpec.from_lines(lines)


class _Ignores:
    """Stack of (directory prefix, spec) pairs; the deepest decision wins."""

    def __init__(self) -> None:
        self.specs: "list[tuple[str, pathspec.PathSpec]]" = []

    def ignored(self, rel: str, is_dir: bool) -> bool:
        decision = False
        for base, spec in self.specs:
            if base and not rel.startswith(base):
                continue
            sub = rel[len(base):]
            if is_dir:
                sub += "/"
            res = spec.check_file(sub)
            if res.include is not None:
                decision = res.include
        return decision


def walk(root: str, *, max_file_size: int, follow_symlinks: bool, on_skip: SkipFn,
         exclude: Sequence[str] = ()) -> Iterator[SourceItem]:
    """Yield the files under ``root`` (a directory or a single file).

    ``exclude`` holds extra gitignore-style patterns relative to ``root``.
    """
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
        item = _file_item(root, root, st, max_file_size, on_skip)
        if item:
            yield item
        return

    ignores = _Ignores()
    info_exclude = os.path.join(root, ".git", "info", "exclude")
    spec = _load_spec(info_exclude) if os.path.isfile(info_exclude) else None
    if spec:
        ignores.specs.append(("", spec))
    if exclude:
        import pathspec

        ignores.specs.append(("", pathspec.GitIgnoreSpec.from_lines(list(exclude))))
    seen_dirs: set[tuple[int, int]] = set()
    yield from _walk_dir(root, "", ignores, seen_dirs, max_file_size, follow_symlinks, on_skip)


def _walk_dir(root: str, rel_dir: str, ignores: _Ignores, seen: set, max_size: int,
              follow: bool, on_skip: SkipFn) -> Iterator[SourceItem]:
    abs_dir = os.path.join(root, rel_dir) if rel_dir else root
    try:
        dst = os.stat(abs_dir)
        key = (dst.st_dev, dst.st_ino)
        if key in seen:
            on_skip(_display(root, rel_dir.rstrip("/")), "symlink loop")
            return
        seen.add(key)
        with os.scandir(abs_dir) as it:
            entries = sorted(it, key=_NAME_KEY)
    except OSError as exc:
        on_skip(_display(root, rel_dir.rstrip("/")) or root, f"unreadable: {exc.strerror or exc}")
        return

    prefix = _display(root, "") if root in (".", "./", "") else os.path.join(root, "").replace(os.sep, "/")
    pushed = 0
    names = {e.name for e in entries}
    for fname in IGNORE_FILES:
        if fname in names:
            spec = _load_spec(os.path.join(abs_dir, fname))
            if spec:
                ignores.specs.append((rel_dir, spec))
                pushed += 1
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
                if entry.name == ".git" or ignores.ignored(rel, True):
                    continue
                yield from _walk_dir(root, rel + "/", ignores, seen, max_size, follow, on_skip)
                continue
            if ignores.ignored(rel, False):
                continue
            try:
                st = entry.stat(follow_symlinks=follow)
            except OSError as exc:
                reason = "broken symlink" if is_link else f"unreadable: {exc.strerror or exc}"
                on_skip(_display(root, rel), reason)
                continue
            item = _file_item(prefix + rel, entry.path, st, max_size, on_skip)
            if item:
                yield item
    finally:
        del ignores.specs[len(ignores.specs) - pushed:]


def _file_item(display: str, fs_path: str, st: os.stat_result, max_size: int,
               on_skip: SkipFn) -> Optional[SourceItem]:
    if not stat.S_ISREG(st.st_mode):
        on_skip(display, "not a regular file")
        return None
    if max_size and st.st_size > max_size:
        on_skip(display, f"larger than --max-file-size ({st.st_size} > {max_size} bytes)")
        return None
    return SourceItem(path=display, size=st.st_size, fs_path=fs_path)
