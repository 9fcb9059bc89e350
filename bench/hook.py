"""Agent hook latency: ``keyscan hook AGENT`` on recorded events (not a test).

Runs each recorded payload of ``tests/hook_events`` (with fake keys filled in,
and without) through a fresh process N times and prints the smallest and the
median wall time (the smallest, as for the start-up table of bench/perf.py), and the child's CPU time (user + system), smallest and median:
on a loaded machine wall time is mostly queueing and even CPU time grows with
cache contention, so the smallest CPU time is the closest to the hook's own
cost.  Two entry points:

* ``cli``: ``python -m keyscan hook AGENT`` (what the agents run);
* ``lib``: ``python -c "from keyscan.hooks import main; ..."`` (the hook
  without the command-line layer).

The budget is 0.3 s per event (an agent waits for the hook before every
prompt and tool call).  A first run fills the rules cache (not counted).

    python bench/hook.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "tests" / "hook_events"
BUDGET = 0.3


def _fake_keys() -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "fixtures" / "encoded"))
    from fakekeys import FakeKeys  # type: ignore[import-not-found]

    k = FakeKeys(2026)
    return {"GITHUB_TOKEN": k.github(), "ANTHROPIC_KEY": k.anthropic(), "OPENAI_KEY": k.openai_project()}


def _payload(path: Path, keys: dict[str, str], secrets: bool) -> bytes:
    text = path.read_text()
    for name, value in keys.items():
        text = text.replace("{{" + name + "}}", value if secrets else "example-value")
    return text.encode()


def _run(cmd: list[str], data: bytes, env: dict) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, input=data, capture_output=True, env=env, timeout=60)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--entry", choices=("cli", "lib", "both"), default="both")
    args = ap.parse_args()
    keys = _fake_keys()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("KEYSCAN_CACHE_DIR", tempfile.mkdtemp(prefix="keyscan-bench-hook-"))
    entries = {
        "cli": lambda agent: [sys.executable, "-m", "keyscan", "hook", agent],
        "lib": lambda agent: [sys.executable, "-c",
                              f"import sys; from keyscan.hooks import main; sys.exit(main({agent!r}))"],
    }
    baseline = [_run([sys.executable, "-c", "pass"], b"", env) for _ in range(args.runs)]
    print(f"python startup alone: wall min {min(w for w, _, _ in baseline):.3f} s, "
          f"cpu min {min(c for _, c, _ in baseline):.3f} s; load average {os.getloadavg()[0]:.1f}")
    print()
    print(f"| entry | event | secret | exit | wall min | wall median | cpu min | cpu median | wall min <= {BUDGET} s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for entry, cmd_of in entries.items():
        if args.entry not in ("both", entry):
            continue
        for path in sorted(EVENTS.glob("*.json")):
            agent = path.name.split(".")[0]
            for secrets in (True, False):
                data = _payload(path, keys, secrets)
                _run(cmd_of(agent), data, env)  # warm the rules cache
                runs = [_run(cmd_of(agent), data, env) for _ in range(args.runs)]
                walls = [w for w, _, _ in runs]
                cpus = [c for _, c, _ in runs]
                codes = {rc for _, _, rc in runs}
                print(f"| {entry} | {path.stem} | {'yes' if secrets else 'no'} | {','.join(map(str, codes))} | "
                      f"{min(walls):.3f} | {statistics.median(walls):.3f} | {min(cpus):.3f} | "
                      f"{statistics.median(cpus):.3f} | {'yes' if min(walls) <= BUDGET else 'NO'} |")


if __name__ == "__main__":
    main()
