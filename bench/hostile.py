"""Hostile input shapes (issue 19): time and peak memory per MB against plain text.

Generates, under ``bench/.work/hostile/``, files shaped the way an attacker (or an
unlucky log) would shape them, each holding one fake key, plus a plain text file of the
same size, and runs ``keyscan FILE -j 1 --max-file-size 0`` (this checkout's code) on
each, one at a time:

* ``nested-json``: objects and arrays nested a million levels deep;
* ``escaped-jsonl``: JSONL whose strings hold JSON escaped ten levels deep;
* ``escape-strings``: JSON strings made of escapes (``\\n``, ``\\"``, ``\\u0041``...);
* ``backslash-runs``: JSON strings holding long runs of backslashes;
* ``stdin``: plain text piped to ``keyscan -``;
* ``yaml-alias-bomb``: a rule file (``--rules``) with a billion-laughs alias bomb
  (fixed size: it must fail fast with exit 2, not be measured per MB).

Usage::

    python bench/hostile.py            # default sizes (the issue's: 6-10 MB, stdin 64 MB)
    python bench/hostile.py --scale 0.25 --timeout 60

Prints a markdown table: wall seconds, seconds per MB, peak RSS (MB), and both
relative to the plain text file of the same size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, WORK, run_measured  # noqa: E402
ROOT = Path(os.environ.get("HOSTILE_ROOT", ROOT))  # the keyscan code to measure (default: this checkout)

OUT = WORK / "hostile"
# a structurally valid fake GitHub classic token (checksum included), as in the tests
KEY = "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"
MB = 1024 * 1024


def _plain(size: int) -> bytes:
    line = b"2024-05-01T10:00:00Z INFO worker[12] request served in 12 ms path=/api/v1/items status=200\n"
    body = line * (size // len(line) + 1)
    return b"GITHUB_TOKEN=" + KEY.encode() + b"\n" + body[: max(0, size - 55)]


def nested_json(size: int) -> bytes:
    depth = size // 12
    return (b'{"a":[' * depth + json.dumps({"token": KEY}).encode() + b"]}" * depth)[:size + 64]


def escaped_jsonl(size: int) -> bytes:
    s = json.dumps({"env": {"GITHUB_TOKEN": KEY}})
    for _ in range(10):
        s = json.dumps({"arguments": s})
    line = s.encode() + b"\n"
    pad = json.dumps({"arguments": json.loads(s)["arguments"].replace(KEY, "x" * len(KEY))}).encode() + b"\n"
    return line + pad * (size // len(pad))


def escape_strings(size: int) -> bytes:
    chunk = '\\n\\t\\"\\u0041\\/\\\\' * 500
    line = json.dumps({"k": "v"}).replace('"v"', '"' + chunk + '"').encode() + b"\n"
    return json.dumps({"token": KEY}).encode() + b"\n" + line * (size // len(line))


def backslash_runs(size: int) -> bytes:
    line = b'{"k": "' + b"\\" * 4096 + b'"}\n'
    return json.dumps({"token": KEY}).encode() + b"\n" + line * (size // len(line))


SHAPES = {
    "nested-json": (nested_json, 6, ".json"),
    "escaped-jsonl": (escaped_jsonl, 9.6, ".jsonl"),
    "escape-strings": (escape_strings, 8.4, ".json"),
    "backslash-runs": (backslash_runs, 8, ".json"),
}

# "billion laughs": nine levels of ten aliases each, 10^9 strings once expanded
ALIAS_BOMB = "".join(f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10) if i else ', '.join(['lol'] * 10)}]\n"
                     for i in range(9)) + "rules: []\n"


def keyscan_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "keyscan", *args, "--no-progress", "-q", "-f", "json", "-j", "1",
            "--max-file-size", "0"]


def _env() -> dict:
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {"PYTHONPATH": os.pathsep.join(paths)}


def _findings(stdout: str) -> str:
    try:
        doc = json.loads(stdout)
    except ValueError:
        return "-"
    partial = [s for s in doc.get("skipped", []) if "partially" in s.get("reason", "")]
    return f"{doc['summary']['findings']}" + (f" ({len(partial)} partial)" if partial else "")


def measure(cmd: list[str], timeout: float):
    r = run_measured(cmd, timeout=timeout, env=_env())
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every size by this")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    ap.add_argument("--stdin-mb", type=float, default=64.0)
    ap.add_argument("--only", nargs="*", help="shape names to run")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []

    def run(name: str, size: int, cmd: list[str], plain_cmd: list[str]) -> None:
        base = measure(plain_cmd, args.timeout)
        r = measure(cmd, args.timeout)
        mb = size / MB
        wall = f">{args.timeout:.0f}" if r.timed_out else f"{r.wall:.2f}"
        rel_t = "-" if r.timed_out else f"{r.wall / base.wall:.1f}x"
        rows.append((name, f"{mb:.1f}", wall, "-" if r.timed_out else f"{r.wall / mb:.3f}",
                     f"{r.peak_rss_mb:.0f}", f"{base.wall / mb:.3f}", f"{base.peak_rss_mb:.0f}", rel_t,
                     f"{r.peak_rss_mb / base.peak_rss_mb:.1f}x", str(r.returncode), _findings(r.stdout)))
        print(f"  {name}: {wall} s, {r.peak_rss_mb:.0f} MB (plain {base.wall:.2f} s, {base.peak_rss_mb:.0f} MB), "
              f"exit {r.returncode}", file=sys.stderr)

    for name, (gen, mbs, suffix) in SHAPES.items():
        if args.only and name not in args.only:
            continue
        size = int(mbs * MB * args.scale)
        path = OUT / f"{name}{suffix}"
        path.write_bytes(gen(size))
        plain = OUT / f"plain-{name}.txt"
        plain.write_bytes(_plain(path.stat().st_size))
        run(name, path.stat().st_size, keyscan_cmd(str(path)), keyscan_cmd(str(plain)))

    if not args.only or "stdin" in args.only:
        size = int(args.stdin_mb * MB * args.scale)
        plain = OUT / "plain-stdin.txt"
        plain.write_bytes(_plain(size))
        cmd = ["sh", "-c", "cat \"$0\" | exec \"$@\"", str(plain), *keyscan_cmd("-")]
        run("stdin", size, cmd, keyscan_cmd(str(plain)))

    if not args.only or "yaml-alias-bomb" in args.only:
        rules = OUT / "bomb-rules"
        rules.mkdir(exist_ok=True)
        (rules / "bomb.yml").write_text(ALIAS_BOMB)
        empty = OUT / "empty"
        empty.mkdir(exist_ok=True)
        r = measure(keyscan_cmd(str(empty), "--rules", str(rules)), args.timeout)
        wall = f">{args.timeout:.0f}" if r.timed_out else f"{r.wall:.2f}"
        rows.append(("yaml-alias-bomb (--rules)", "0.0", wall, "-", f"{r.peak_rss_mb:.0f}", "-", "-", "-", "-",
                     str(r.returncode), r.stderr.strip().splitlines()[-1][:60] if r.stderr.strip() else ""))

    head = ("shape", "MB", "wall s", "s/MB", "peak MB", "plain s/MB", "plain peak MB", "time vs plain",
            "memory vs plain", "exit", "findings")
    print("| " + " | ".join(head) + " |")
    print("| " + " | ".join("---" if i == 0 else "--:" for i in range(len(head))) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
