#!/usr/bin/env python3
"""Where does keyscan's time go? Single process, per stage, on a directory (default: the perf haystack).

    .venv/bin/python bench/stages.py [DIR]

Prints CPU seconds for reading, the raw prefilter, the raw engine scan, and each decoder
(fragment building + engine scan of its fragments), plus keyword-hit counts.  A diagnostic
for performance work, not a benchmark of record (bench/perf.py is).
"""
from __future__ import annotations

import collections
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keyscan.api import build_engine  # noqa: E402
from keyscan.decoders import decoders_for  # noqa: E402
from keyscan.documents.document import read_document  # noqa: E402
from keyscan.models import ScanOptions  # noqa: E402


def main() -> int:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "bench" / ".work" / "haystack")
    engine = build_engine(ScanOptions(paths=(str(target),)))
    t = collections.Counter()
    hits = collections.Counter()
    size = 0
    paths = sorted(p for p in target.rglob("*") if p.is_file())
    for p in paths:
        t0 = time.perf_counter()
        raw = p.read_bytes()
        doc = read_document(str(p), raw)
        t1 = time.perf_counter()
        t["read"] += t1 - t0
        size += len(raw)
        hits["raw"] += len(engine.prefilter.hits(doc.data))
        t2 = time.perf_counter()
        t["prefilter (raw)"] += t2 - t1
        found: dict = {}
        engine.scan(doc.data, lambda: doc.text, doc.errors, triggers=found)
        doc.record_triggers(engine.triggers, found, engine.located)
        t3 = time.perf_counter()
        t["engine (raw, incl. prefilter)"] += t3 - t2
        decs = decoders_for(doc)
        t4 = time.perf_counter()
        t["decoders_for"] += t4 - t3
        for d in decs:
            a = time.perf_counter()
            frags = list(d.fragments(doc))
            b = time.perf_counter()
            for f in frags:
                if f.text:
                    data = f.text.encode("utf-8", "surrogatepass")
                    hits[d.name] += len(engine.prefilter.hits(data))
                    engine.scan(data, f.text, "surrogatepass")
            c = time.perf_counter()
            t[f"{d.name}: fragments"] += b - a
            t[f"{d.name}: engine"] += c - b
    total = sum(t.values())
    print(f"{size / 1e6:.1f} MB in {len(paths)} files; total {total:.2f} s (prefilter counted twice)")
    for k, v in sorted(t.items(), key=lambda kv: -kv[1]):
        print(f"  {k:34s} {v:6.2f} s")
    print("keyword hits:", dict(hits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
