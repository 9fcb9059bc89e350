"""The trusted side of a reviewed change (``--diff REF``, ``--staged``).

A pull request (or a commit being made) must not be able to switch its own
gate off: in these modes keyscan reads its configuration (``.keyscan.toml``,
``[tool.keyscan]``), ``.keyscanignore`` files, and the baseline and rule files
a configuration names from the *trusted side* -- the merge base of REF and
HEAD for ``--diff``, ``HEAD`` for ``--staged`` -- through ``git show
REV:path``, never from the working tree or the index under review.  A file
absent there is no configuration (defaults).  A change to any of them in the
reviewed change is reported (:func:`config_changes`).

Paths here are repository-relative, ``/``-separated.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
from dataclasses import dataclass
from typing import Optional, Sequence

from .errors import UsageError
from .sources import git

IGNORE_FILE = ".keyscanignore"
CONFIG_NAMES = (".keyscan.toml", "pyproject.toml")


@dataclass(frozen=True)
class TrustedSide:
    """A commit of a repository whose files keyscan trusts (``rev`` empty: the
    repository has no commit yet, so there is no configuration at all)."""

    root: str
    """The repository's work-tree root."""
    rev: str
    label: str
    """How the commit is named to the user: ``merge base a1b2c3d4``, ``HEAD a1b2c3d4``."""
    staged: bool = False
    """The change under review is the index (``--staged``), else the work tree."""

    def entries(self, path: str, recursive: bool = False) -> list[tuple[str, str]]:
        """``(mode, path)`` of the tree entries at ``path`` (a file: itself; a
        directory: its children, or every file below it when ``recursive``)."""
        if not self.rev:
            return []
        args = ["ls-tree", "-z", "--full-tree"] + (["-r"] if recursive else [])
        path = path.strip("/")
        spec = [path + "/"] if path and self._is_dir(path) else ([path] if path else [])
        out = git._git([*args, self.rev, "--", *spec], self.root)
        rows = []
        for rec in out.split(b"\0"):
            if not rec:
                continue
            meta, _, name = rec.partition(b"\t")
            rows.append((meta.split(b" ")[0].decode(), name.decode("utf-8", "surrogateescape")))
        return rows

    def _is_dir(self, path: str) -> bool:
        out = git._git(["ls-tree", "-z", "--full-tree", self.rev, "--", path], self.root)
        return out.startswith(b"040000 tree ") and out.split(b"\t", 1)[1].rstrip(b"\0").decode(
            "utf-8", "surrogateescape") == path

    def read(self, path: str) -> Optional[bytes]:
        """The file at ``path`` in the trusted commit (None: absent there).  A
        symbolic link or a submodule is refused (exit 2): it could name
        anything on the machine running the scan."""
        rows = [r for r in self.entries(path) if r[1] == path.strip("/")]
        if not rows:
            return None
        mode = rows[0][0]
        if mode == "120000":
            raise UsageError(f"{path}: a symbolic link in {self.label}; keyscan reads no configuration through "
                             "a link")
        if mode not in ("100644", "100755"):
            return None
        return git._git(["show", f"{self.rev}:{path.strip('/')}"], self.root)

    def ignore_files(self, prefix: str) -> dict[str, list[str]]:
        """The ``.keyscanignore`` files under ``prefix`` (a directory, "" for
        the root or ending with ``/``), by directory relative to ``prefix``
        ("" for ``prefix`` itself): their lines."""
        if not self.rev:
            return {}
        out: dict[str, list[str]] = {}
        for mode, name in self.entries(prefix.rstrip("/"), recursive=True):
            if posixpath.basename(name) != IGNORE_FILE or mode not in ("100644", "100755"):
                continue
            rel = name[len(prefix):] if prefix and name.startswith(prefix) else name
            data = git._git(["show", f"{self.rev}:{name}"], self.root)
            out[posixpath.dirname(rel)] = data.decode("utf-8", "replace").splitlines()
        return out


def trusted_side(path: str, *, staged: bool, diff_ref: Optional[str]) -> TrustedSide:
    """The trusted commit for ``--staged`` (HEAD) or ``--diff REF`` (the merge
    base of REF and HEAD), in the repository holding ``path``."""
    root = git.repo_root(path)
    if staged:
        head = _rev_parse(root, "HEAD")
        return TrustedSide(root, head or "", f"HEAD {head[:8]}" if head else "no commit yet (HEAD)", staged=True)
    base = git._git(["merge-base", diff_ref or "", "HEAD"], root).decode().strip()
    return TrustedSide(root, base, f"merge base {base[:8]}")


def _rev_parse(root: str, rev: str) -> Optional[str]:
    proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=root,
                          capture_output=True, timeout=60)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def prefix_of(side: TrustedSide, path: str) -> str:
    """The repository-relative directory of a scanned ``path`` ("" for the
    root, else ending with ``/``)."""
    base = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    rel = os.path.relpath(os.path.realpath(base), os.path.realpath(side.root)).replace(os.sep, "/")
    return "" if rel == "." else rel.rstrip("/") + "/"


def changed_paths(side: TrustedSide, prefix: str = "") -> list[str]:
    """Paths the reviewed change (the index for ``--staged``, else the work
    tree) adds, modifies or deletes against the trusted commit."""
    args = ["-c", "core.quotepath=false", "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff"]
    if side.staged:
        args.append("--cached")
    if side.rev:
        args.append(side.rev)
    elif not side.staged:
        return []
    else:  # no commit yet: everything staged is new
        args = ["ls-files", "-z"]
    out = git._git(args + (["--", prefix] if prefix else []), side.root)
    return sorted({p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p})


def reviewed_read(side: TrustedSide, path: str) -> Optional[bytes]:
    """The file at ``path`` as the reviewed change has it (index or work tree)."""
    if side.staged:
        proc = subprocess.run(["git", "show", f":{path}"], cwd=side.root, capture_output=True, timeout=60)
        return proc.stdout if proc.returncode == 0 else None
    full = os.path.join(side.root, *path.split("/"))
    try:
        with open(full, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def config_changes(side: TrustedSide, prefix: str, watched: Sequence[str],
                   watched_dirs: Sequence[str] = ()) -> list[str]:
    """Repository paths of configuration the reviewed change touches: the
    configuration files of the scanned directory (``pyproject.toml`` only when
    its ``[tool.keyscan]`` table changes), every ``.keyscanignore`` under it,
    and ``watched`` files / files under ``watched_dirs`` (baselines and rule
    files named by either side's configuration or on the command line)."""
    out = []
    for path in changed_paths(side):
        name = posixpath.basename(path)
        under = not prefix or path.startswith(prefix)
        if path == prefix + ".keyscan.toml" or (under and name == IGNORE_FILE) or path in watched or \
                any(path.startswith(d.rstrip("/") + "/") for d in watched_dirs):
            out.append(path)
        elif path == prefix + "pyproject.toml" and _tool_table(side.read(path)) != _tool_table(
                reviewed_read(side, path)):
            out.append(path)
    return out


def _tool_table(data: Optional[bytes]) -> object:
    """``[tool.keyscan]`` of a pyproject.toml (None: absent; the raw text when
    it does not parse and mentions tool.keyscan)."""
    if data is None:
        return None
    from .config import toml_loads

    try:
        doc = toml_loads(data)
    except ValueError:
        return data if b"keyscan" in data else None
    tool = doc.get("tool")
    return tool.get("keyscan") if isinstance(tool, dict) else None


def safe_relative(value: str, where: str, key: str) -> str:
    """A configuration path (``rules``, ``baseline``) that stays inside the
    directory of its configuration file: no absolute path, no ``..`` (exit 2)."""
    norm = posixpath.normpath(value.replace("\\", "/"))
    if os.path.isabs(value) or value.startswith(("/", "\\")) or norm == ".." or norm.startswith("../") or \
            (len(value) > 1 and value[1] == ":"):
        raise UsageError(f"{where}: '{key}' path {value!r} leaves the scanned tree (paths in a configuration "
                         "found in the tree must stay inside it; pass --rules/--baseline on the command line "
                         "for files elsewhere)")
    return "" if norm == "." else norm


def _repo_relative(side: TrustedSide, path: str) -> Optional[str]:
    """``path`` (on disk) relative to the repository root, None outside it."""
    rel = os.path.relpath(os.path.realpath(path), os.path.realpath(side.root)).replace(os.sep, "/")
    return None if rel == ".." or rel.startswith("../") else rel


def _named_paths(data: Optional[bytes], prefix: str) -> list[str]:
    """The ``rules`` and ``baseline`` paths a configuration file names,
    repository-relative (a file that does not parse names none: its own
    change is reported anyway)."""
    if data is None:
        return []
    from .config import toml_loads

    try:
        doc = toml_loads(data)
    except ValueError:
        return []
    tool = doc.get("tool")
    if isinstance(tool, dict) and isinstance(tool.get("keyscan"), dict):
        doc = tool["keyscan"]
    rules = doc.get("rules")
    values = [v for v in rules if isinstance(v, str)] if isinstance(rules, list) else []
    if isinstance(doc.get("baseline"), str):
        values.append(doc["baseline"])
    return [posixpath.normpath(posixpath.join(prefix, v)) for v in values]


def watched_changes(side: TrustedSide, first_path: str, *, no_config: bool, explicit: Sequence[str] = (),
                    explicit_dirs: Sequence[str] = ()) -> list[str]:
    """Configuration the reviewed change touches (see :func:`config_changes`),
    as paths relative to the current directory: the files the command line
    names when they lie in the repository, and unless ``no_config`` the
    scanned directory's configuration files and what either side's
    configuration names."""
    return [os.path.relpath(os.path.join(side.root, *p.split("/"))) for p in
            _watched_changes(side, first_path, no_config=no_config, explicit=explicit, explicit_dirs=explicit_dirs)]


def _watched_changes(side: TrustedSide, first_path: str, *, no_config: bool, explicit: Sequence[str],
                     explicit_dirs: Sequence[str]) -> list[str]:
    prefix = prefix_of(side, first_path)
    files = [r for r in (_repo_relative(side, p) for p in [*explicit, *explicit_dirs]) if r]
    dirs = [r for r in (_repo_relative(side, p) for p in explicit_dirs) if r]
    if no_config:
        changed = set(changed_paths(side))
        return [p for p in sorted(changed) if p in files or any(p.startswith(d + "/") for d in dirs)]
    for fname in CONFIG_NAMES:
        for data in (side.read(prefix + fname), reviewed_read(side, prefix + fname)):
            named = _named_paths(data, prefix)
            files += named
            dirs += named
    return config_changes(side, prefix, files, dirs)
