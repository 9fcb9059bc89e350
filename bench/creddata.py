#!/usr/bin/env python3
"""Real leaks labelled by others: keyscan and reference scanners on half of Samsung's CredData.

CredData (github.com/Samsung/CredData) labels lines of ~330 public repositories as
credential (``T``), not a credential (``F``) or unknown / test value / placeholder (``X``;
its README counts X with F as "False"). Each repository has an id, the 8-hex-digit name of
its ``meta/<id>.csv`` (crc32 of its snapshot key). **Only ids starting with 8-f are used
here; ids starting with 0-7 are the project's held-out check and are never listed, fetched,
extracted or scored** (asserted at every step).

The repositories are brought onto the machine by the ``fetch`` tool of the session running
the benchmark (a bare git directory per repository under /work/.mirror/OWNER+NAME/), so the
run has three steps:

    python bench/creddata.py repos [--limit N]     # OWNER/NAME COMMIT ID of the repos to fetch
    (fetch github:OWNER/NAME for each; or clone them bare into a --mirrors directory)
    python bench/creddata.py extract [--limit N]   # files at CredData's commit -> bench/.work/creddata
    python bench/creddata.py run [--limit N]       # scan with every tool, one at a time; tables

``extract`` takes each labelled file with ``git cat-file`` at the commit CredData labelled
(never a checkout), writes it where CredData's ``download_data.py`` would
(``data/<id>/<scope>/<file id><ext>``), then runs CredData's own ``obfuscate_creds.py``
(pure Python, offline; needs ``pybase62``, installed in the reference virtualenv) over the
extracted files, so the credential values scanned are CredData's obfuscated ones, as in
the published dataset. Repositories whose mirror is missing or lacks the commit are listed
as not fetched and left out.

Scoring, per tool, on findings reduced to unique (file, line):
* recall: a ``T`` row is found when a finding falls on one of its lines (LineStart..LineEnd);
* precision on labelled lines: a finding line covered by a ``T`` row is a true positive;
  one covered only by ``F``/``X`` rows is a false positive; finding lines with no label are
  ignored (CredData labelled only what some scanner once reported);
* per CredData category (a row with ``A:B`` counts for A and for B).

No credential value is ever printed: the tables hold counts only.
"""

from __future__ import annotations

import argparse
import binascii
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (REFS_VENV, WORK, ensure_refs_venv, keyscan_tool, machine_info,  # noqa: E402
                    md_table, reference_tools)

MIRRORS = Path(os.environ.get("KEYSCAN_BENCH_MIRRORS", "/work/.mirror"))
CREDDATA_REPO = "Samsung/CredData"
OUT = WORK / "creddata"
ALLOWED_FIRST = set("89abcdef")
DEFAULT_LIMIT = 0


def assert_allowed(repo_id: str) -> None:
    """The 0-7 half of CredData is reserved for the project's held-out check."""
    assert len(repo_id) == 8 and repo_id[0] in ALLOWED_FIRST, f"CredData id {repo_id} is not in the 8-f half"


# --------------------------------------------------------------------------- CredData itself


def mirror_dir(mirrors: Path, owner_name: str) -> Optional[Path]:
    """Bare git directory of a fetched repository (fetch layout OWNER+NAME/repo, or OWNER+NAME)."""
    base = mirrors / owner_name.replace("/", "+")
    for cand in (base / "repo", base, mirrors / (owner_name.replace("/", "+") + ".git")):
        if (cand / ".git" / "HEAD").exists():
            return cand / ".git"
        if (cand / "HEAD").exists():
            return cand
    return None


def git(gitdir: Path, *args: str, check: bool = True) -> bytes:
    r = subprocess.run(["git", "--git-dir", str(gitdir), *args], capture_output=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args[:2])} failed in {gitdir}: "
                           f"{r.stderr.decode(errors='replace').strip()[:200]}")
    return r.stdout


def creddata_git(mirrors: Path) -> Path:
    d = mirror_dir(mirrors, CREDDATA_REPO)
    if d is None:
        sys.exit(f"error: no mirror of {CREDDATA_REPO} under {mirrors} (fetch github:{CREDDATA_REPO} first)")
    return d


def repo_id_of(snapshot_key: str) -> str:
    """CredData's id: crc32 of the snapshot key's bytes (download_data.get_new_repo_id)."""
    return f"{binascii.crc32(binascii.unhexlify(snapshot_key)):08x}"


@dataclass(frozen=True)
class Repo:
    repo_id: str
    owner_name: str
    commit: str


def all_allowed_repos(cd: Path) -> List[Repo]:
    snapshot = json.loads(git(cd, "show", "HEAD:snapshot.json"))
    repos = []
    for key, url in snapshot.items():
        rid = repo_id_of(key)
        if rid[0] not in ALLOWED_FIRST:
            continue  # the held-out half: never listed
        assert_allowed(rid)
        owner_name = url.rstrip("/").removeprefix("https://github.com/").removesuffix(".git")
        repos.append(Repo(rid, owner_name, key[:40]))
    return sorted(repos, key=lambda r: r.repo_id)


def selected_repos(cd: Path, limit: int) -> List[Repo]:
    repos = all_allowed_repos(cd)
    return repos[:limit] if limit else repos


def read_meta_rows(cd: Path, repo_id: str) -> List[dict]:
    assert_allowed(repo_id)
    text = git(cd, "show", f"HEAD:meta/{repo_id}.csv").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


# --------------------------------------------------------------------------- extract


def extract_repo(cd: Path, mirrors: Path, repo: Repo, data: Path) -> Tuple[str, int]:
    """Write the labelled files of one repository at CredData's commit. (status, files)."""
    assert_allowed(repo.repo_id)
    gd = mirror_dir(mirrors, repo.owner_name)
    if gd is None:
        return "not fetched", 0
    if subprocess.run(["git", "--git-dir", str(gd), "cat-file", "-e", f"{repo.commit}^{{commit}}"],
                      capture_output=True).returncode != 0:
        return "commit missing from mirror", 0
    wanted: Dict[str, str] = {}  # file id -> meta FilePath
    for row in read_meta_rows(cd, repo.repo_id):
        wanted[row["FileID"]] = row["FilePath"]
    if not wanted:
        return "no labels", 0
    tree = git(gd, "ls-tree", "-r", "-z", repo.commit)
    found: Dict[str, Tuple[str, str]] = {}  # file id -> (blob, path in repo)
    for entry in tree.split(b"\0"):
        if not entry:
            continue
        meta, path_b = entry.split(b"\t", 1)
        mode, kind, blob = meta.decode().split()
        if kind != "blob" or mode == "120000":
            continue
        path = path_b.decode("utf-8", "surrogateescape")
        fid = hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        if fid in wanted:
            found[fid] = (blob, path)
    missing = set(wanted) - set(found)
    absent = 0
    for fid, (blob, _path) in found.items():
        r = subprocess.run(["git", "--git-dir", str(gd), "cat-file", "blob", blob], capture_output=True)
        if r.returncode != 0:  # a large blob the mirror lists but does not hold
            absent += 1
            continue
        dest = data.parent / wanted[fid]  # FilePath starts with "data/"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(r.stdout)
    notes = []
    if missing:
        notes.append(f"{len(missing)} labelled files not at the commit")
    if absent:
        notes.append(f"{absent} blobs absent from the mirror")
    status = "ok" + (", " + ", ".join(notes) if notes else "")
    return status, len(found) - absent


def creddata_scripts(cd: Path, dest: Path) -> Path:
    """CredData's obfuscation script and its local imports, as published."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("obfuscate_creds.py", "meta_row.py", "constants.py"):
        (dest / name).write_bytes(git(cd, "show", f"HEAD:{name}"))
    return dest


def obfuscation_python() -> Optional[str]:
    """A python with pybase62 (CredData's only third-party import), from the reference venv."""
    py = REFS_VENV / "bin" / "python"
    if not py.exists():
        ensure_refs_venv(optional=False, quiet=True)
    if subprocess.run([str(py), "-c", "import base62"], capture_output=True).returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "pybase62==1.0.0"],
                       capture_output=True)
    if subprocess.run([str(py), "-c", "import base62"], capture_output=True).returncode != 0:
        return None
    return str(py)


def cmd_extract(args) -> int:
    cd = creddata_git(args.mirrors)
    repos = selected_repos(cd, args.limit)
    if OUT.exists():
        shutil.rmtree(OUT)
    data, meta = OUT / "data", OUT / "meta"
    data.mkdir(parents=True)
    meta.mkdir()
    status: Dict[str, str] = {}
    kept: List[Repo] = []
    for i, repo in enumerate(repos, 1):
        st, n = extract_repo(cd, args.mirrors, repo, data)
        status[repo.repo_id] = st
        print(f"[{i}/{len(repos)}] {repo.repo_id} {repo.owner_name}: {st} ({n} files)", file=sys.stderr)
        if st.startswith("ok"):
            kept.append(repo)
            (meta / f"{repo.repo_id}.csv").write_bytes(git(cd, "show", f"HEAD:meta/{repo.repo_id}.csv"))
    # Rows whose file could not be taken are dropped from the scored meta copy (so a missing
    # file is not a miss for every tool); they are counted in status.json.
    dropped = 0
    for repo in kept:
        path = meta / f"{repo.repo_id}.csv"
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
        fields = list(rows[0].keys()) if rows else []
        keep = [r for r in rows if (OUT / r["FilePath"]).exists()]
        dropped += len(rows) - len(keep)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(keep)
        path.write_text(buf.getvalue(), encoding="utf-8")
    obf = "not run"
    py = obfuscation_python()
    if py is None:
        obf = "not applied: pybase62 could not be installed"
    else:
        scripts = creddata_scripts(cd, WORK / "creddata-scripts")
        r = subprocess.run([py, str(scripts / "obfuscate_creds.py"), "--meta_dir", str(meta), "--data_dir",
                            str(data)], capture_output=True, text=True, cwd=str(scripts))
        obf = "applied (CredData obfuscate_creds.py)" if r.returncode == 0 else \
            "failed: " + (r.stderr.strip().splitlines() or ["?"])[-1][:200]
    (OUT / "status.json").write_text(json.dumps(
        {"creddata_commit": git(cd, "rev-parse", "HEAD").decode().strip(), "repos": status,
         "rows_dropped_missing_file": dropped, "obfuscation": obf}, indent=1))
    print(f"extracted {len(kept)}/{len(repos)} repositories; {dropped} rows dropped (file not found); "
          f"obfuscation: {obf}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Row:
    file: str  # relative to OUT/data
    start: int
    end: int
    label: str  # T, F or X
    categories: Tuple[str, ...]


def load_rows() -> List[Row]:
    rows: List[Row] = []
    for path in sorted((OUT / "meta").glob("*.csv")):
        assert_allowed(path.stem)
        for r in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
            f = r["FilePath"].removeprefix("data/")
            start = int(r["LineStart"])
            end = int(r["LineEnd"] or start)
            cats = tuple(c for c in (r.get("Category") or "Other").split(":") if c) or ("Other",)
            rows.append(Row(f, start, max(start, end), r["GroundTruth"], cats))
    return rows


@dataclass
class Score:
    found: Set[int]  # indexes of T rows hit
    tp_lines: Dict[Tuple[str, int], Set[str]]  # line -> categories
    fp_lines: Dict[Tuple[str, int], Set[str]]
    unlabelled: int


def score(rows: List[Row], findings: Iterable[Tuple[str, int, str]]) -> Score:
    true_at: Dict[Tuple[str, int], List[int]] = defaultdict(list)
    neg_at: Dict[Tuple[str, int], Set[str]] = defaultdict(set)
    for i, row in enumerate(rows):
        for ln in range(row.start, row.end + 1):
            if row.label == "T":
                true_at[(row.file, ln)].append(i)
            else:
                neg_at[(row.file, ln)].update(row.categories)
    s = Score(set(), {}, {}, 0)
    for key in sorted({(f, ln) for f, ln, _ in findings}):
        if key in true_at:
            s.found.update(true_at[key])
            s.tp_lines[key] = {c for i in true_at[key] for c in rows[i].categories}
        elif key in neg_at:
            s.fp_lines[key] = neg_at[key]
        else:
            s.unlabelled += 1
    return s


def _f(x: Optional[float]) -> str:
    return "–" if x is None else f"{x:.2f}"


def ratio(a: int, b: int) -> Optional[float]:
    return a / b if b else None


def cmd_run(args) -> int:
    if not (OUT / "meta").is_dir():
        sys.exit("error: nothing extracted; run `python bench/creddata.py extract` first")
    status = json.loads((OUT / "status.json").read_text())
    rows = load_rows()
    positives = [i for i, r in enumerate(rows) if r.label == "T"]
    neg_lines = {(r.file, ln) for r in rows if r.label != "T" for ln in range(r.start, r.end + 1)}
    if not args.no_refs:
        st = ensure_refs_venv(optional=True, quiet=False)
        for pkg, s in st.items():
            if s != "ok":
                print(f"warning: {pkg}: {s}", file=sys.stderr)
    all_tools = [keyscan_tool()] + ([] if args.no_refs else reference_tools(include_slow=True))
    tools = [t for t in all_tools if not args.only or t.name in args.only]
    data = OUT / "data"
    cache_dir = OUT / "results"
    cache_dir.mkdir(exist_ok=True)
    stamp = (OUT / "status.json").stat().st_mtime
    results: Dict[str, Tuple[Optional[Score], str, float]] = {}
    for t in all_tools:
        cached = cache_dir / f"{t.name}.json"
        if t.name not in {x.name for x in tools}:
            # --reuse: a tool not rescanned shows its last run on this same extraction
            if args.reuse and cached.exists() and cached.stat().st_mtime > stamp:
                c = json.loads(cached.read_text())
                results[t.name] = (score(rows, [tuple(x) for x in c["findings"]]) if c["findings"] is not None
                                   else None, c["status"] + " (cached)", c["wall"])
            continue
        print(f"scanning with {t.name} ...", file=sys.stderr)
        coverage_file = cache_dir / f"{t.name}.coverage.json"
        coverage_file.unlink(missing_ok=True)
        os.environ["BENCH_DS_COVERAGE"] = str(coverage_file.resolve())  # read by bench/ds_runner.py only
        res, findings, st = t.scan_dir(data, timeout=args.timeout)
        wall = res.wall if res is not None else 0.0
        if findings is not None:
            findings = [(f.removeprefix("data/"), ln, rule) for f, ln, rule in findings]
        cached.write_text(json.dumps({"status": st, "wall": wall, "findings": findings}))
        if findings is None:
            results[t.name] = (None, st, wall)
            print(f"  {st}", file=sys.stderr)
            continue
        results[t.name] = (score(rows, findings), st, wall)
        print(f"  {len(findings)} findings in {wall:.1f} s", file=sys.stderr)
    tools = [t for t in all_tools if t.name in results]

    kept = [rid for rid, s in status["repos"].items() if s.startswith("ok")]
    failed = {rid: s for rid, s in status["repos"].items() if not s.startswith("ok")}
    size = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    nfiles = sum(1 for p in data.rglob("*") if p.is_file())
    print(f"\n## CredData, 8-f half: {len(kept)} repositories, {nfiles} files, {size / 1e6:.1f} MB; "
          f"{len(positives)} credential rows (T), {len(neg_lines)} lines labelled not a credential (F/X)\n")
    print(f"{time.strftime('%Y-%m-%d', time.gmtime())}, {machine_info()}; CredData "
          f"{status['creddata_commit'][:10]}; obfuscation {status['obfuscation']}.")
    if failed:
        print(f"Not used ({len(failed)}): " + ", ".join(f"{k} ({v})" for k, v in sorted(failed.items())))
    print()
    # a tool that covered only part of the files (bench/ds_runner.py's budget) is scored on its subset,
    # with every other tool scored on the same files beside it
    partial: Dict[str, Set[str]] = {}
    for t in tools:
        cov = cache_dir / f"{t.name}.coverage.json"
        if results[t.name][0] is not None and cov.exists():
            c = json.loads(cov.read_text())
            if len(c["scanned"]) < c["files"]:
                partial[t.name] = {f.removeprefix("data/") for f in c["scanned"]}
    table = []
    for t in tools:
        sc, st, wall = results[t.name]
        name = t.name + (" (labels drawn from its findings; not the bar)" if t.name == "credsweeper" else "")
        name += " (cached)" if st.endswith("(cached)") else ""
        if sc is None:
            table.append([name, st, "", "", "", "", "", "", ""])
            continue
        if t.name in partial:
            table.append([name, f"partial run ({len(partial[t.name])} of {nfiles} files): see the subset table",
                          "", "", "", "", "", "", f"{wall:.0f}"])
            continue
        r = ratio(len(sc.found), len(positives))
        p = ratio(len(sc.tp_lines), len(sc.tp_lines) + len(sc.fp_lines))
        f1 = 2 * p * r / (p + r) if p is not None and r is not None and p + r else None
        table.append([name, _f(r), _f(p), _f(f1), len(sc.found), len(sc.tp_lines), len(sc.fp_lines),
                      sc.unlabelled, f"{wall:.0f}"])
    print(md_table(["tool", "recall", "precision", "F1", "T rows found", "TP lines", "FP lines (F/X)",
                    "unlabelled lines", "time s"], table))
    for t in tools:
        st = results[t.name][1]
        if st.startswith("ok; "):
            print(f"\n{t.name}: {st[4:]}")
    for pname, files in partial.items():
        sub_rows = [r for r in rows if r.file in files]
        npos = sum(1 for r in sub_rows if r.label == "T")
        mb = sum((data / f).stat().st_size for f in files if (data / f).is_file()) / 1e6
        print(f"\n### Subset scanned by {pname}: {len(files)} of {nfiles} files ({mb:.1f} MB), {npos} credential "
              f"rows, {sum(1 for r in sub_rows if r.label != 'T')} rows labelled not a credential\n")
        sub_table = []
        for t in tools:
            c = json.loads((cache_dir / f"{t.name}.json").read_text())
            if c["findings"] is None:
                continue
            sc = score(sub_rows, [tuple(x) for x in c["findings"] if x[0] in files])
            r = ratio(len(sc.found), npos)
            p = ratio(len(sc.tp_lines), len(sc.tp_lines) + len(sc.fp_lines))
            f1 = 2 * p * r / (p + r) if p is not None and r is not None and p + r else None
            sub_table.append([t.name, _f(r), _f(p), _f(f1), len(sc.found), len(sc.tp_lines), len(sc.fp_lines)])
        print(md_table(["tool", "recall", "precision", "F1", "T rows found", "TP lines", "FP lines (F/X)"], sub_table))

    # per category
    cats = sorted({c for r in rows for c in r.categories})
    avail = [t for t in tools if results[t.name][0] is not None and t.name not in partial]
    print("\n### Per CredData category: recall (precision on labelled lines)\n")
    crow = []
    for c in cats:
        pos_c = [i for i in positives if c in rows[i].categories]
        nneg = sum(1 for r in rows if r.label != "T" and c in r.categories)
        line = [c, len(pos_c), nneg]
        for t in avail:
            sc = results[t.name][0]
            hit = sum(1 for i in pos_c if i in sc.found)
            tp = sum(1 for cs in sc.tp_lines.values() if c in cs)
            fp = sum(1 for cs in sc.fp_lines.values() if c in cs)
            line.append(f"{_f(ratio(hit, len(pos_c)))} ({_f(ratio(tp, tp + fp))})")
        crow.append(line)
    crow.sort(key=lambda x: -x[1])
    print(md_table(["category", "T", "F/X"] + [t.name for t in avail], crow))
    if args.details:
        sc = results.get(args.details, (None,))[0]
        if sc is not None:
            print(f"\n### {args.details}: missed T rows (file:line category), false-positive lines\n")
            for i in positives:
                if i not in sc.found:
                    r = rows[i]
                    print(f"MISS {r.file}:{r.start} {':'.join(r.categories)}")
            for (f, ln), cs in sorted(sc.fp_lines.items()):
                print(f"FP   {f}:{ln} {':'.join(sorted(cs))}")
    return 0


# --------------------------------------------------------------------------- main


def cmd_repos(args) -> int:
    cd = creddata_git(args.mirrors)
    for repo in selected_repos(cd, args.limit):
        assert_allowed(repo.repo_id)
        have = "fetched" if mirror_dir(args.mirrors, repo.owner_name) else "missing"
        if args.missing and have == "fetched":
            continue
        print(f"{repo.owner_name} {repo.commit} {repo.repo_id} {have}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", type=Path, default=MIRRORS,
                    help="directory of bare mirrors OWNER+NAME[/repo] (default: %(default)s)")
    ap.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                    help="only the first N repositories of the 8-f half, by id (default: all 165)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("repos", help="list OWNER/NAME COMMIT ID of the repositories to fetch")
    p.add_argument("--missing", action="store_true", help="only those not yet fetched")
    sub.add_parser("extract", help="take the labelled files at CredData's commit and obfuscate them")
    p = sub.add_parser("run", help="scan with keyscan and the reference scanners; print the tables")
    p.add_argument("--only", nargs="*", help="only these tools")
    p.add_argument("--no-refs", action="store_true", help="keyscan only")
    p.add_argument("--reuse", action="store_true",
                   help="show the tools not scanned (not in --only) from their last run on this extraction")
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--details", metavar="TOOL", help="list a tool's missed rows and false-positive lines")
    args = ap.parse_args(argv)
    return {"repos": cmd_repos, "extract": cmd_extract, "run": cmd_run}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
