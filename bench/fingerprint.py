#!/usr/bin/env python3
"""What a fingerprint costs a guesser (and keyscan): time to test 10^4 candidate
passwords against one fingerprint, old scheme (one SHA-256) against the current
one (scrypt N=2^10, r=8, p=1), single core.

    .venv/bin/python bench/fingerprint.py [GUESSES]

A diagnostic with a printed table, not a test (tests/test_fingerprint.py checks
the work count).  The candidates are generated, never a real word list.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keyscan import fingerprint as fp  # noqa: E402


def main() -> int:
    guesses = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rule = "generic-password-assignment"
    target = "Summer2024!x"  # 12 characters, planted last in the candidate list
    candidates = [f"Cand{i:07d}!x" for i in range(guesses - 1)] + [target]
    rows = []
    for name, fn, want in (
        ("v1 sha256", lambda c: fp.legacy_fingerprint(rule, c), fp.legacy_fingerprint(rule, target)),
        ("v2 scrypt", lambda c: fp.fingerprint.__wrapped__(rule, c), fp.fingerprint(rule, target)),
    ):
        t0 = time.perf_counter()
        found = next(c for c in candidates if fn(c) == want)
        dt = time.perf_counter() - t0
        rows.append((name, guesses, dt, dt / guesses * 1e6, found == target))
    print("| scheme | guesses | seconds | us per guess | recovered |\n| --- | ---: | ---: | ---: | --- |")
    for name, n, dt, per, ok in rows:
        print(f"| {name} | {n} | {dt:.3f} | {per:.1f} | {ok} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
