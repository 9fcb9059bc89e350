"""Run detect-secrets over a directory with a per-file time limit and an overall budget.

detect-secrets' own ``scan --all-files`` could not finish the CredData half or the real-code set
on the shared 2-core machine (killed after 25-37 minutes). This runner scans the same files with
the same settings as ``detect-secrets scan --all-files .`` (its default plugins and filters, set by
its own argument parser), one file at a time in worker processes; a file that takes longer than
``--file-timeout`` seconds is skipped (its worker is killed and replaced), and after ``--budget``
seconds no new file is started. Files skipped either way are listed, so a table can say which
subset it covers. Runs with the reference virtualenv's python (never a keyscan dependency).

When ``BENCH_DS_COVERAGE`` names a file, the list of files scanned is written there.
Output on stdout: ``{"results": {path: [{"type", "line_number"}...]}, "files": N, "scanned": N,
"scanned_bytes": N, "timed_out": [...], "not_started": N}`` in detect-secrets' ``results`` shape.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Dict, List


def worker() -> int:
    from detect_secrets.core.scan import scan_file
    from detect_secrets.main import parse_args

    parse_args(["scan", "--all-files", "."])  # configures the CLI's default plugins and filters
    for line in sys.stdin:
        path = line.rstrip("\n")
        found = [{"type": s.type, "line_number": s.line_number} for s in scan_file(path)]
        sys.stdout.write(json.dumps(found) + "\n")
        sys.stdout.flush()
    return 0


class Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.replies: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.replies.put(line)
        self.replies.put("")

    def ask(self, path: str, timeout: float):
        assert self.proc.stdin is not None
        self.proc.stdin.write(path + "\n")
        self.proc.stdin.flush()
        try:
            line = self.replies.get(timeout=timeout)
        except queue.Empty:
            return None
        return json.loads(line) if line else []

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def main() -> int:
    if "--worker" in sys.argv:
        return worker()
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--file-timeout", type=float, default=60.0)
    ap.add_argument("--budget", type=float, default=1500.0, help="seconds; no file is started after it")
    args = ap.parse_args()
    os.chdir(args.root)
    files: List[str] = []
    for d, dirs, names in os.walk("."):
        dirs[:] = sorted(x for x in dirs if x != ".git")
        files += [os.path.join(d, n)[2:] for n in sorted(names)]
    todo: "queue.Queue[str]" = queue.Queue()
    for f in files:
        todo.put(f)
    results: Dict[str, list] = {}
    timed_out: List[str] = []
    scanned: List[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + args.budget

    def run() -> None:
        w = Worker()
        while time.monotonic() < deadline:
            try:
                path = todo.get_nowait()
            except queue.Empty:
                break
            found = w.ask(path, args.file_timeout)
            with lock:
                if found is None:
                    timed_out.append(path)
                else:
                    scanned.append(path)
                    if found:
                        results[path] = found
            if found is None:
                w.kill()
                w = Worker()
        w.close()

    threads = [threading.Thread(target=run) for _ in range(max(1, args.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    size = sum(os.path.getsize(p) for p in scanned)
    coverage = os.environ.get("BENCH_DS_COVERAGE")
    if coverage:  # which files the figures cover, for a caller that scores on that subset
        with open(coverage, "w", encoding="utf-8") as fh:
            json.dump({"files": len(files), "scanned": sorted(scanned), "timed_out": sorted(timed_out)}, fh)
    json.dump({"results": results, "files": len(files), "scanned": len(scanned), "scanned_bytes": size,
               "timed_out": sorted(timed_out), "not_started": todo.qsize()}, sys.stdout)
    print(f"NOTE: detect-secrets scanned {len(scanned)} of {len(files)} files ({size / 1e6:.1f} MB); "
          f"{len(timed_out)} over the {args.file_timeout:.0f} s per-file limit, {todo.qsize()} not started "
          f"within the {args.budget:.0f} s budget", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
