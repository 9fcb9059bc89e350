"""Git sources: history, staged changes and diffs against a ref.

Content is streamed from ``git log -p`` / ``git diff`` (no checkout per
commit).  Only *added* lines are scanned, each file version once (deduplicated
by blob id), and every added line keeps its real line number in the file.
A commit whose patch text has no keyword hit at all is skipped without being
parsed: the prefilter reads the patch in native code first.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional, Sequence

from ..errors import ScanError, UsageError

COMMIT_MARK = b"\x01KSC "
# "@@ -a,b +c,d @@", or "@@@ -a,b -c,d +e,f @@@" (one "-" range per parent) in a merge's combined diff
_HUNK = re.compile(rb"^(@@+) (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? @@+")
_INDEX = re.compile(rb"^index [0-9a-f,]+\.\.([0-9a-f]+)")
_QUOTED = re.compile(r'\\([0-7]{3}|.)')


@dataclass
class FilePatch:
    path: str
    blob: str = ""
    lines: list[bytes] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    binary: bool = False


@dataclass
class CommitPatch:
    commit: str
    date: str
    files: list[FilePatch]


@dataclass
class StreamReport:
    """What a :func:`stream_commits` call read, and what git could not give it."""

    commits: int = 0
    """Commits whose patch git printed completely."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(commit, git's message) for each commit git failed on: its patch is
    missing or cut short, so findings may be missing."""
    not_read: int = 0
    """Commits never read because git kept failing (see ``MAX_GIT_RESTARTS``)."""


MAX_GIT_RESTARTS = 20
"""After this many failures in one commit range, the rest of the range is
reported as not read instead of restarting git once more per commit."""


def _last_line(stderr: bytes, code: int) -> str:
    lines = [ln for ln in stderr.decode("utf-8", "replace").strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else f"exit status {code}"


def _git(args: Sequence[str], cwd: str, *, input: Optional[bytes] = None, usage: bool = True) -> bytes:
    """Run git; a failure is a :class:`UsageError` (a bad ref, not a repository)
    or, with ``usage=False``, a :class:`ScanError` (git could not read what it
    should: findings may be missing)."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, timeout=3600)
    except FileNotFoundError:
        raise UsageError("git is not installed (needed for --history, --staged and --diff)") from None
    if proc.returncode != 0:
        msg = _last_line(proc.stderr, proc.returncode)
        if usage:
            raise UsageError(f"git {args[0] if args[0] != '-c' else args[2]} failed: {msg}")
        raise ScanError(f"git could not produce the patch to scan ({msg}); nothing was scanned: "
                        "check the repository with 'git fsck'")
    return proc.stdout


def repo_root(path: str) -> str:
    """The work-tree root of the repository holding ``path`` (UsageError outside one)."""
    start = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    try:
        proc = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=start or ".",
                              capture_output=True, timeout=60)
    except FileNotFoundError:
        raise UsageError("git is not installed (needed for --history, --staged and --diff)") from None
    if proc.returncode != 0:
        raise UsageError(f"not a git repository: {path}")
    return proc.stdout.decode().strip()


def rev_list(root: str, *, branch: Optional[str] = None, since: Optional[str] = None,
             max_commits: Optional[int] = None, pathspec: Sequence[str] = ()) -> list[str]:
    """Commits to scan, newest first (all refs unless ``branch`` is given)."""
    args = ["rev-list", "--date-order"]
    if since:
        args.append(f"--since={since}")
    if max_commits:
        args.append(f"--max-count={max_commits}")
    args.append(branch if branch else "--all")
    if pathspec:
        args += ["--", *pathspec]
    try:
        out = _git(args, root)
    except UsageError as exc:
        if "does not have any commits" in str(exc) or "bad default revision" in str(exc):
            return []
        raise
    return out.decode().split()


def _log_cmd(pathspec: Sequence[str]) -> list[str]:
    # --cc: merges show what their resolution wrote (plain -p shows nothing for a merge)
    # --text: a "-diff" attribute or a NUL byte must not turn a file's lines
    # into "Binary files differ" (binary content is recognised after parsing)
    cmd = ["-c", "core.quotepath=false", "log", "--no-walk=unsorted", "--stdin", "-p", "--cc", "-U0",
           "--text", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--full-index",
           "--format=%x01KSC %H %aI"]
    if pathspec:
        cmd += ["--", *pathspec]
    return cmd


def stream_commits(root: str, commits: Sequence[str], pathspec: Sequence[str] = (),
                   report: Optional[StreamReport] = None) -> Iterator[bytes]:
    """Yield the raw patch text of each commit (starting with ``COMMIT_MARK``).

    When git fails (a missing or corrupt object), the commit it failed on is
    recorded in ``report.failed`` with git's message and git is restarted on
    the commits after it, so one bad object costs one commit, not the rest of
    the range."""
    report = report if report is not None else StreamReport()
    remaining = list(commits)
    restarts = 0
    while remaining:
        seen: list[str] = []
        code, stderr = yield from _stream_once(root, remaining, pathspec, seen)
        if code == 0:
            report.commits += len(remaining)
            return
        msg = _last_line(stderr, code)
        # git stops inside the commit it could not read: the last one it
        # started (or, if it printed nothing, the first one asked for)
        bad = seen[-1] if seen else remaining[0]
        try:
            at = remaining.index(bad)
        except ValueError:
            at = 0
        report.commits += at
        report.failed.append((bad, msg))
        remaining = remaining[at + 1:]
        restarts += 1
        if restarts >= MAX_GIT_RESTARTS and remaining:
            report.not_read += len(remaining)
            return


def _stream_once(root: str, commits: Sequence[str], pathspec: Sequence[str], seen: list[str]):
    """One ``git log`` over ``commits``: yields patches, returns (exit status, stderr)."""
    errfile = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(["git", *_log_cmd(pathspec)], cwd=root, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=errfile)
    except FileNotFoundError:
        errfile.close()
        raise UsageError("git is not installed (needed for --history, --staged and --diff)") from None
    assert proc.stdin is not None and proc.stdout is not None
    _grow_pipe(proc.stdout.fileno())
    import threading

    stdin = proc.stdin

    def feed() -> None:
        try:
            stdin.write(("\n".join(commits) + "\n").encode())
            stdin.close()
        except (BrokenPipeError, OSError):
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    buf = b""
    mark = len(COMMIT_MARK)
    try:
        while True:
            block = proc.stdout.read(1 << 20)
            if not block:
                break
            buf += block
            last = buf.rfind(COMMIT_MARK)
            if last > 0:
                for chunk in _split(buf[:last]):
                    seen.append(chunk[mark:mark + 40].decode("ascii", "replace"))
                    yield chunk
                buf = buf[last:]
        if buf:
            for chunk in _split(buf):
                seen.append(chunk[mark:mark + 40].decode("ascii", "replace"))
                yield chunk
    finally:
        proc.stdout.close()
        if proc.poll() is None:
            proc.terminate()  # the consumer stopped early (an error, Ctrl-C)
        code = proc.wait()
        feeder.join(timeout=5)
        errfile.seek(0)
        stderr = errfile.read()
        errfile.close()
    return code, stderr


def _grow_pipe(fd: int) -> None:
    """Let git run up to 1 MB ahead of the reader (Linux; the default pipe holds 64 KB)."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError, ValueError):
        pass


def _split(data: bytes) -> Iterator[bytes]:
    start = data.find(COMMIT_MARK)
    while start != -1:
        nxt = data.find(COMMIT_MARK, start + 1)
        yield data[start:nxt if nxt != -1 else len(data)]
        start = nxt


def _unquote(raw: bytes) -> str:
    s = raw.decode("utf-8", "surrogateescape")
    if s.startswith('"') and s.endswith('"'):
        body = s[1:-1]
        out = bytearray()
        i = 0
        simple = {"n": b"\n", "t": b"\t", '"': b'"', "\\": b"\\", "a": b"\a", "b": b"\b",
                  "f": b"\f", "r": b"\r", "v": b"\v"}
        while i < len(body):
            c = body[i]
            if c == "\\" and i + 1 < len(body):
                if body[i + 1:i + 4].isdigit() and len(body[i + 1:i + 4]) == 3:
                    out.append(int(body[i + 1:i + 4], 8))
                    i += 4
                    continue
                out += simple.get(body[i + 1], body[i + 1].encode())
                i += 2
                continue
            out += c.encode("utf-8", "surrogateescape")
            i += 1
        return out.decode("utf-8", "replace")
    return s


def parse_patch(chunk: bytes, *, header: bool = True) -> CommitPatch:
    """Parse one commit's (or one diff's) patch text into added lines per file."""
    lines = chunk.split(b"\n")
    commit = date = ""
    i = 0
    if header and lines and lines[0].startswith(COMMIT_MARK):
        parts = lines[0][len(COMMIT_MARK):].decode("utf-8", "replace").split()
        commit = parts[0] if parts else ""
        date = parts[1] if len(parts) > 1 else ""
        i = 1
    files: list[FilePatch] = []
    cur: Optional[FilePatch] = None
    lineno = 0
    in_hunk = False
    parents = 1  # columns of the line prefix: more than one in a merge's combined diff
    n = len(lines)
    while i < n:
        line = lines[i]
        i += 1
        if in_hunk and parents > 1 and line[:1] in (b"+", b"-", b" "):
            prefix = line[:parents]
            if b"-" in prefix:
                continue  # not in the merge result
            if prefix == b"+" * parents and cur is not None:
                # new against every parent: written by the merge itself (a
                # conflict resolution or an "evil merge"); lines from one side
                # were scanned in that side's commits
                cur.lines.append(line[parents:])
                cur.numbers.append(lineno)
            lineno += 1
            continue
        if in_hunk and line[:1] == b"+":
            if cur is not None:
                cur.lines.append(line[1:])
                cur.numbers.append(lineno)
            lineno += 1
            continue
        if in_hunk and line[:1] in (b"-", b"\\"):
            continue
        if line.startswith((b"diff --git ", b"diff --cc ", b"diff --combined ")):
            cur = FilePatch(path="")
            files.append(cur)
            in_hunk = False
            continue
        if cur is None:
            continue
        if line.startswith(b"@@"):
            m = _HUNK.match(line)
            if m:
                parents = len(m.group(1)) - 1
                lineno = int(m.group(2))
                in_hunk = True
            continue
        in_hunk = False
        if line.startswith(b"+++ "):
            target = line[4:]
            if target == b"/dev/null":
                cur.path = ""
            else:
                path = _unquote(target)
                cur.path = path[2:] if path.startswith("b/") else path
        elif line.startswith(b"index "):
            m = _INDEX.match(line)
            if m:
                cur.blob = m.group(1).decode()
        elif line.startswith(b"Binary files "):
            cur.binary = True
    return CommitPatch(commit, date, [f for f in files if f.path and (f.lines or f.binary)])


_DIFF_OPTS = ["-U0", "--text", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--full-index"]


def staged_patch(root: str) -> bytes:
    return _git(["-c", "core.quotepath=false", "diff", "--cached", *_DIFF_OPTS], root, usage=False)


def diff_patch(root: str, ref: str) -> bytes:
    """Lines added on HEAD (and in the work tree) since ``ref``'s merge base."""
    base = _git(["merge-base", ref, "HEAD"], root).decode().strip()
    return _git(["-c", "core.quotepath=false", "diff", base, *_DIFF_OPTS], root, usage=False)


def split_contiguous(items: Sequence[str], parts: int) -> list[list[str]]:
    """``parts`` contiguous runs of about equal length, in order."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


def added_text(fp: FilePatch) -> bytes:
    return b"\n".join(fp.lines)


def iter_files(patches: Iterable[CommitPatch]) -> Iterator[tuple[CommitPatch, FilePatch]]:
    for cp in patches:
        for fp in cp.files:
            yield cp, fp
