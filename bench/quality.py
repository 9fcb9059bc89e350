#!/usr/bin/env python3
"""Quality benchmark: recall, precision and F1 of keyscan and reference scanners on
labelled corpora, in one run.

    .venv/bin/python bench/quality.py                  # all tools, all labelled fixtures
    .venv/bin/python bench/quality.py --no-optional    # skip detect-secrets / CredSweeper
    .venv/bin/python bench/quality.py --details keyscan   # list misses and false positives

Scoring (per tool, findings reduced to unique (file, line)):
* a finding line inside a positive label's [line, end_line] is a true positive (any rule);
* any other finding line is a false positive: on a negative label (a look-alike) or on an
  unlabelled line;
* recall = positive labels hit / positive labels; precision = TP lines / finding lines.

Main corpus: ``fixtures/quality`` (``labels.yml`` with ``root: corpus``); every file under
the root counts. Other ``fixtures/*/labels.yml`` (written by other helpers): their ``file``
is relative to the fixture directory or to the repository (detected); only findings in
files that carry at least one label count there (the directory may also hold generators
and notes).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (ROOT, Tool, ensure_refs_venv, keyscan_tool, machine_info, md_table,  # noqa: E402
                    reference_tools)

QUALITY = ROOT / "fixtures" / "quality"


@dataclass
class Label:
    file: str
    line: int
    end_line: int
    negative: bool
    family: str
    carrier: str
    kind: str = ""


@dataclass
class LabelSet:
    name: str
    scan_root: Path
    labels: List[Label]
    restrict_to_labelled_files: bool
    positives: List[Label] = field(default_factory=list)
    negatives: List[Label] = field(default_factory=list)

    def __post_init__(self):
        self.positives = [x for x in self.labels if not x.negative]
        self.negatives = [x for x in self.labels if x.negative]


def _items(data) -> List[dict]:
    if isinstance(data, list):
        return [x for x in data if isinstance(x, dict)]
    if not isinstance(data, dict):
        return []
    out: List[dict] = []
    for key in ("labels", "findings", "items"):
        if isinstance(data.get(key), list):
            out += [x for x in data[key] if isinstance(x, dict)]
    for key in ("positives", "positive", "secrets"):
        if isinstance(data.get(key), list):
            out += [x for x in data[key] if isinstance(x, dict)]
    for key in ("negatives", "negative", "decoys"):
        if isinstance(data.get(key), list):
            out += [dict(x, negative=True) for x in data[key] if isinstance(x, dict)]
    return out


def load_label_set(labels_file: Path, name: Optional[str] = None) -> LabelSet:
    """Read a labels.yml: `{file, line, ...}` positives, `{file, line, negative: true}` decoys."""
    import yaml

    data = yaml.safe_load(labels_file.read_text(encoding="utf-8")) or {}
    fixture_dir = labels_file.parent
    root = fixture_dir / data["root"] if isinstance(data, dict) and data.get("root") else fixture_dir
    items = _items(data)
    # `file` relative to the fixture directory (or its root) or to the repository: detect.
    rel_to_repo = bool(items) and not any((root / str(x.get("file", ""))).exists() for x in items) and \
        any((ROOT / str(x.get("file", ""))).exists() for x in items)
    labels: List[Label] = []
    for x in items:
        if "file" not in x or "line" not in x:
            continue
        f = str(x["file"]).replace("\\", "/")
        if rel_to_repo:
            try:
                f = str((ROOT / f).resolve().relative_to(root.resolve()))
            except ValueError:
                continue  # outside the scanned directory
        line = int(x["line"])
        negative = bool(x.get("negative", False))
        family = str(x.get("family") or x.get("provider") or (x.get("rule") if not negative else None) or "none")
        carrier = str(x.get("carrier") or x.get("file_type") or x.get("type") or fixture_dir.name)
        labels.append(Label(f, line, int(x.get("end_line", line)), negative, family, carrier, str(x.get("kind", ""))))
    return LabelSet(name or fixture_dir.name, root, labels, restrict_to_labelled_files=root == fixture_dir)


def discover_label_sets() -> List[LabelSet]:
    sets = []
    main = QUALITY / "labels.yml"
    if main.exists():
        sets.append(load_label_set(main, "quality"))
    for path in sorted((ROOT / "fixtures").glob("*/labels.yml")):
        if path.parent == QUALITY:
            continue
        try:
            sets.append(load_label_set(path))
        except Exception as exc:  # another helper's file in a format we do not know
            print(f"warning: cannot read {path.relative_to(ROOT)}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return sets


# --------------------------------------------------------------------------- scoring


@dataclass
class Score:
    hit: Set[int] = field(default_factory=set)  # indexes of positive labels found
    tp_lines: List[Tuple[str, int, int]] = field(default_factory=list)  # (file, line, label index)
    fp_lines: List[Tuple[str, int, Optional[Label]]] = field(default_factory=list)


def score(ls: LabelSet, findings) -> Score:
    by_file_pos: Dict[str, List[Tuple[int, Label]]] = defaultdict(list)
    for i, lab in enumerate(ls.positives):
        by_file_pos[lab.file].append((i, lab))
    neg_at = {(lab.file, lab.line): lab for lab in ls.negatives}
    labelled_files = {lab.file for lab in ls.labels}
    s = Score()
    for f, line in sorted({(f, line) for f, line, _ in findings}):
        if ls.restrict_to_labelled_files and f not in labelled_files:
            continue
        match = [i for i, lab in by_file_pos.get(f, ()) if lab.line <= line <= lab.end_line]
        if match:
            s.hit.update(match)
            s.tp_lines.append((f, line, match[0]))
        else:
            s.fp_lines.append((f, line, neg_at.get((f, line))))
    return s


def _prf(tp_labels: int, positives: int, tp_lines: int, fp_lines: int) -> Tuple[float, float, float]:
    r = tp_labels / positives if positives else float("nan")
    p = tp_lines / (tp_lines + fp_lines) if tp_lines + fp_lines else float("nan")
    f1 = 2 * p * r / (p + r) if p == p and r == r and p + r else float("nan")
    return r, p, f1


def _f(x: float) -> str:
    return "–" if x != x else f"{x:.2f}"


def carrier_of(ls: LabelSet) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for lab in ls.labels:
        out.setdefault(lab.file, lab.carrier)
    return out


def report(ls: LabelSet, tools: List[Tool], results: Dict[str, Tuple[Optional[Score], str]],
           detailed: bool, details_for: List[str]) -> None:
    print(f"\n### {ls.name}: {len(ls.positives)} positives, {len(ls.negatives)} look-alikes "
          f"({ls.scan_root.relative_to(ROOT)})\n")
    rows = []
    for t in tools:
        sc, status = results[t.name]
        if sc is None:
            rows.append([t.name, status, "", "", "", "", "", ""])
            continue
        r, p, f1 = _prf(len(sc.hit), len(ls.positives), len(sc.tp_lines), len(sc.fp_lines))
        neg_fp = sum(1 for *_, lab in sc.fp_lines if lab is not None)
        rows.append([t.name, _f(r), _f(p), _f(f1), len(sc.hit), len(ls.positives) - len(sc.hit),
                     len(sc.fp_lines), neg_fp])
    print(md_table(["tool", "recall", "precision", "F1", "TP", "FN", "FP", "FP on look-alikes"], rows))

    avail = [t for t in tools if results[t.name][0] is not None]
    if not avail:
        return
    if detailed:
        # per provider family: recall and precision (FPs charged to the family a look-alike imitates)
        fams = sorted({lab.family for lab in ls.labels} | {"(unlabelled line)"})
        rows = []
        for fam in fams:
            npos = sum(1 for lab in ls.positives if lab.family == fam)
            nneg = sum(1 for lab in ls.negatives if lab.family == fam)
            row = [fam, npos, nneg]
            any_cell = False
            for t in avail:
                sc = results[t.name][0]
                hit = sum(1 for i in sc.hit if ls.positives[i].family == fam)
                tpl = sum(1 for *_, i in sc.tp_lines if ls.positives[i].family == fam)
                if fam == "(unlabelled line)":
                    fpl = sum(1 for *_, lab in sc.fp_lines if lab is None)
                else:
                    fpl = sum(1 for *_, lab in sc.fp_lines if lab is not None and lab.family == fam)
                r, p, _ = _prf(hit, npos, tpl, fpl)
                if fam == "(unlabelled line)":
                    row.append(f"{fpl} FP" if fpl else "0")
                    any_cell = any_cell or bool(fpl)
                else:
                    row.append(f"{_f(r)} / {_f(p)}")
                    any_cell = True
            if any_cell or fam != "(unlabelled line)":
                rows.append(row)
        print("\nPer provider family (recall / precision; a look-alike's false positive counts against the family "
              "it imitates):\n")
        print(md_table(["family", "pos", "neg"] + [t.name for t in avail], rows, "lrr" + "r" * len(avail)))

    # per carrier / file type
    carriers = carrier_of(ls)
    names = sorted(set(carriers.values()))
    rows = []
    for car in names:
        npos = sum(1 for lab in ls.positives if lab.carrier == car)
        nneg = sum(1 for lab in ls.negatives if lab.carrier == car)
        row = [car, npos, nneg]
        for t in avail:
            sc = results[t.name][0]
            hit = sum(1 for i in sc.hit if ls.positives[i].carrier == car)
            tpl = sum(1 for f, _, _ in sc.tp_lines if carriers.get(f) == car)
            fpl = sum(1 for f, _, _ in sc.fp_lines if carriers.get(f) == car)
            r, p, _ = _prf(hit, npos, tpl, fpl)
            row.append(f"{_f(r)} / {_f(p)}")
        rows.append(row)
    other = {t.name: sum(1 for f, _, _ in results[t.name][0].fp_lines if f not in carriers) for t in avail}
    if any(other.values()):
        rows.append(["(file without labels)", 0, 0] + [f"{other[t.name]} FP" for t in avail])
    print("\nPer carrier / file type (recall / precision):\n")
    print(md_table(["carrier", "pos", "neg"] + [t.name for t in avail], rows, "lrr" + "r" * len(avail)))

    for name in details_for:
        if name not in results or results[name][0] is None:
            continue
        sc = results[name][0]
        missed = [lab for i, lab in enumerate(ls.positives) if i not in sc.hit]
        if not missed and not sc.fp_lines:
            continue
        print(f"\n{name} on {ls.name}: {len(missed)} missed, {len(sc.fp_lines)} false positive lines")
        for lab in missed:
            print(f"  missed  {lab.file}:{lab.line}  {lab.family} ({lab.kind}; {lab.carrier})")
        for f, line, lab in sc.fp_lines:
            what = f"look-alike: {lab.kind}" if lab else "unlabelled line"
            print(f"  false+  {f}:{line}  ({what})")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-refs", action="store_true", help="score keyscan only")
    ap.add_argument("--no-optional", action="store_true", help="skip detect-secrets and CredSweeper")
    ap.add_argument("--details", action="append", default=None, metavar="TOOL",
                    help="list misses and false positives of TOOL (repeatable; default: keyscan)")
    ap.add_argument("--only", metavar="NAME", help="score only this label set (e.g. quality, notebooks)")
    ap.add_argument("--timeout", type=float, default=600, help="per tool run, seconds")
    args = ap.parse_args(argv)

    print(f"machine: {machine_info()}")
    tools: List[Tool] = [keyscan_tool()]
    if not args.no_refs:
        status = ensure_refs_venv(optional=not args.no_optional)
        for pkg, st in status.items():
            if st != "ok":
                print(f"note: {pkg}: {st}")
        tools += reference_tools(include_slow=not args.no_optional)
    sets = discover_label_sets()
    if args.only:
        sets = [s for s in sets if s.name == args.only]
    if not sets:
        print("no labelled fixtures found (run fixtures/quality/generate.py)")
        return 2
    details_for = args.details if args.details is not None else ["keyscan"]

    for ls in sets:
        results: Dict[str, Tuple[Optional[Score], str]] = {}
        for t in tools:
            res, findings, status = t.scan_dir(ls.scan_root, timeout=args.timeout)
            results[t.name] = (score(ls, findings), status) if findings is not None else (None, status)
        report(ls, tools, results, detailed=(ls.name == "quality"), details_for=details_for)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
