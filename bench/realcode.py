#!/usr/bin/env python3
"""Real code, no secrets expected: false positives per 100 MB on popular Python packages.

    python bench/realcode.py              # download (once), unpack, scan with every tool, table
    python bench/realcode.py --review     # also list each finding line (values masked) with its verdict

A pinned list of popular packages (web frameworks, cloud and AI SDKs, test tools, ...) is
fetched with ``pip download --no-deps`` as a wheel and as an sdist into
``bench/.work/realcode/dist`` (a package whose wheel or sdist cannot be fetched is listed, not
fatal), unpacked into ``bench/.work/realcode/tree/<file name>/`` and scanned by each tool, one
at a time.

Every finding line (file, line) is triaged into:

* ``example`` - a documented example or test key: a credential-shaped value that the package
  ships on purpose (documentation of a provider's format, a test fixture, a fake key in a test);
  flagging it is expected from a scanner and not counted against it;
* ``fp`` - a false positive: not a credential at all (code, a hash, a placeholder, an id).

Verdicts come from ``bench/realcode_triage.yml`` (``path`` + ``line`` -> ``verdict`` with a
reason; no secret values), written by a person reviewing the lines with ``--review``. A line
without a verdict there gets the heuristic verdict (``example`` when it lies under a test /
docs / example path or names itself fake/example/dummy/test, otherwise ``fp``), marked as
heuristic in the counts.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (ROOT, WORK, dir_size, ensure_refs_venv, keyscan_tool, machine_info, md_table,  # noqa: E402
                    reference_tools)

OUT = WORK / "realcode"
DIST = OUT / "dist"
TREE = OUT / "tree"
TRIAGE = ROOT / "bench" / "realcode_triage.yml"

# name==version; pinned so that the tree, and so the triage file, are reproducible.
PACKAGES = [
    # web frameworks and servers
    "django==5.1.4", "flask==3.1.0", "fastapi==0.115.6", "starlette==0.41.3", "tornado==6.4.2",
    "aiohttp==3.11.11", "sanic==24.12.0", "bottle==0.13.2", "pyramid==2.0.2", "falcon==4.0.2",
    "werkzeug==3.1.3", "uvicorn==0.34.0", "gunicorn==23.0.0", "jinja2==3.1.5",
    # cloud SDKs
    "boto3==1.35.90", "botocore==1.35.90", "s3transfer==0.10.4", "google-auth==2.37.0",
    "google-cloud-storage==2.19.0", "azure-core==1.32.0", "azure-identity==1.19.0",
    "azure-storage-blob==12.24.0", "kubernetes==31.0.0", "docker==7.1.0",
    # AI SDKs and frameworks
    "openai==1.58.1", "anthropic==0.42.0", "langchain-core==0.3.28", "langchain==0.3.13",
    "transformers==4.47.1", "huggingface-hub==0.27.0", "cohere==5.13.4", "mistralai==1.2.5",
    "groq==0.13.1", "llama-index-core==0.12.8", "tiktoken==0.8.0",
    # HTTP, auth, data
    "requests==2.32.3", "httpx==0.28.1", "urllib3==2.3.0", "pydantic==2.10.4", "sqlalchemy==2.0.36",
    "pyjwt==2.10.1", "oauthlib==3.2.2", "requests-oauthlib==2.0.0", "authlib==1.4.0",
    "paramiko==3.5.0", "cryptography==44.0.0", "redis==5.2.1", "celery==5.4.0", "pymongo==4.10.1",
    "stripe==11.4.1", "twilio==9.4.1", "slack-sdk==3.34.0", "sentry-sdk==2.19.2",
    # test tools
    "pytest==8.3.4", "hypothesis==6.123.2", "tox==4.23.2", "coverage==7.6.9", "mock==5.1.0",
    "responses==0.25.3", "moto==5.0.24", "faker==33.1.0", "vcrpy==7.0.0",
    # CLIs
    "click==8.1.8", "rich==13.9.4",
]

PLATFORM = ["--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "cp",
            "--abi", "cp311"]


def _pip() -> List[str]:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


def _marker(spec: str, kind: str) -> Path:
    return DIST / ".fetched" / f"{spec}.{kind}"


def _download(spec: str, kind: str, retry: bool = False) -> Tuple[str, str, str]:
    if _marker(spec, kind).exists():
        return spec, kind, "ok"
    failed = _marker(spec, kind).with_suffix(f".{kind}.failed")
    if failed.exists() and not retry:
        return spec, kind, failed.read_text()
    args = ["download", "--no-deps", "-d", str(DIST), spec]
    args += (["--only-binary", ":all:"] + PLATFORM) if kind == "wheel" else ["--no-binary", spec.split("==")[0]]
    r = subprocess.run(_pip() + args, capture_output=True, text=True)
    if r.returncode == 0:
        _marker(spec, kind).touch()
        return spec, kind, "ok"
    lines = [x.strip() for x in r.stderr.splitlines() if x.strip()]
    errors = [x for x in lines if "error" in x.lower() and "see above" not in x.lower()]
    msg = "failed: " + ((errors or lines or ["?"])[-1])[:120]
    failed.write_text(msg)
    return spec, kind, msg


def download(jobs: int, retry: bool = False) -> Dict[Tuple[str, str], str]:
    (DIST / ".fetched").mkdir(parents=True, exist_ok=True)
    todo = [(s, k) for s in PACKAGES for k in ("wheel", "sdist")]
    status: Dict[Tuple[str, str], str] = {}
    with ThreadPoolExecutor(jobs) as ex:
        for i, (spec, kind, st) in enumerate(ex.map(lambda a: _download(*a, retry=retry), todo), 1):
            status[(spec, kind)] = st
            if st != "ok":
                print(f"[{i}/{len(todo)}] {spec} {kind}: {st}", file=sys.stderr)
    return status


def unpack() -> None:
    TREE.mkdir(parents=True, exist_ok=True)
    for archive in sorted(DIST.iterdir()):
        if archive.name.startswith("."):
            continue
        dest = TREE / archive.name
        if dest.exists():
            continue
        tmp = TREE / (archive.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        if archive.name.endswith(".whl") or archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    target = (tmp / info.filename).resolve()
                    if not str(target).startswith(str(tmp.resolve())):
                        continue
                    zf.extract(info, tmp)
        elif archive.name.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar")):
            with tarfile.open(archive) as tf:
                tf.extractall(tmp, filter="data")
        else:
            tmp.rmdir()
            continue
        tmp.rename(dest)


# --------------------------------------------------------------------------- triage

_TESTY = re.compile(r"(^|/)(tests?|testing|test_[^/]*|[^/]*_tests?\.py|conftest\.py|fixtures?|examples?|docs?|"
                    r"samples?|demo|cassettes)(/|$)", re.I)
_EXAMPLE_WORDS = re.compile(r"example|fake|dummy|test|sample|mock|placeholder|xxxx|your[_-]", re.I)
_TOKEN = re.compile(r"[A-Za-z0-9+/_=.\-]{12,}")


def mask(line: str) -> str:
    """A line with every long token replaced by its first 3 characters and its length."""
    return _TOKEN.sub(lambda m: f"{m.group(0)[:3]}…[{len(m.group(0))}]", line.strip())[:200]


def load_triage() -> Dict[Tuple[str, int], Tuple[str, str]]:
    if not TRIAGE.exists():
        return {}
    import yaml

    data = yaml.safe_load(TRIAGE.read_text(encoding="utf-8")) or {}
    out: Dict[Tuple[str, int], Tuple[str, str]] = {}
    for item in data.get("verdicts") or []:
        verdict = str(item["verdict"])
        assert verdict in ("example", "fp"), item
        out[(str(item["path"]), int(item["line"]))] = (verdict, str(item.get("why", "")))
    return out


_LITERAL = re.compile(r"""(["'])(?![^"']*(?:\$\{|\{\{|%\(|<[A-Za-z_]))[^"'\s]{4,}\1""")
_URI_PASSWORD = re.compile(r"://[^/\s:@]*:[^/\s@]+@")
_DOC_DATA = re.compile(r"(^|/)(examples?-[^/]*\.json|[^/]*\.(md|rst|txt))$", re.I)


def _value_on_line(text: str) -> bool:
    """A literal value is on the line: a quoted string of 4+ non-space characters that is not a
    template (${...}, {{...}}, %(...), <...>), a URI with a password, or a PEM header."""
    return "-----BEGIN" in text or bool(_URI_PASSWORD.search(text)) or bool(_LITERAL.search(text)) or \
        bool(re.search(r"[A-Za-z0-9+/_=\-]{16,}", text))


def heuristic(path: str, text: str) -> str:
    """First-pass verdict for a line nobody reviewed. A literal value in a test, docs or example file
    (or on a line that calls itself an example, or in a documentation file) is a test/example
    credential; anything else (code, a reference, a template) is a false positive. Approximate:
    it cannot tell a test password from a test id that merely sits under a key-like name."""
    if (_TESTY.search(path) or _DOC_DATA.search(path) or _EXAMPLE_WORDS.search(text)) and _value_on_line(text):
        return "example"
    if "-----BEGIN" in text and "PRIVATE KEY" in text:
        return "example"  # a private key shipped in a package is a fixture or a documented example
    return "fp"


def line_text(path: str, line: int, cache: Dict[str, List[str]]) -> str:
    if path not in cache:
        try:
            cache[path] = (TREE / path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1] if 0 < line <= len(lines) else ""


# --------------------------------------------------------------------------- main


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=4, help="parallel downloads (default %(default)s)")
    ap.add_argument("--only", nargs="*", help="only these tools")
    ap.add_argument("--no-refs", action="store_true", help="keyscan only")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--retry", action="store_true", help="retry the downloads that failed before")
    ap.add_argument("--reuse", action="store_true",
                    help="show the tools not scanned (not in --only) from their last run")
    ap.add_argument("--with-slow", action="store_true",
                    help="also detect-secrets and CredSweeper (hours on this tree at about 0.2 MB/s)")
    ap.add_argument("--review", nargs="*", metavar="TOOL",
                    help="list finding lines (values masked) with their verdict, for these tools (default all)")
    ap.add_argument("--json", type=Path, help="also write per-tool finding lines and verdicts here")
    args = ap.parse_args(argv)

    status = download(args.jobs, args.retry)
    unpack()
    failed = {k: v for k, v in status.items() if v != "ok"}
    size, files = dir_size(TREE)

    if not args.no_refs:
        for pkg, s in ensure_refs_venv(optional=True, quiet=False).items():
            if s != "ok":
                print(f"warning: {pkg}: {s}", file=sys.stderr)
    all_tools = [keyscan_tool()] + ([] if args.no_refs else reference_tools(include_slow=True))
    if not args.with_slow:
        all_tools = [t for t in all_tools if not t.slow]
    tools = [t for t in all_tools if not args.only or t.name in args.only]
    triage = load_triage()
    cache: Dict[str, List[str]] = {}
    results_dir = OUT / "results"
    results_dir.mkdir(exist_ok=True)
    rows = []
    notes: List[str] = []
    per_tool: Dict[str, List[dict]] = {}
    for t in all_tools:
        cached = results_dir / f"{t.name}.json"
        name = t.name + (" (CredData labels drawn from it)" if t.name == "credsweeper" else "")
        if t.name in {x.name for x in tools}:
            print(f"scanning {size / 1e6:.0f} MB with {t.name} ...", file=sys.stderr)
            res, findings, st = t.scan_dir(TREE, timeout=args.timeout)
            wall = res.wall if res is not None else 0.0
            cached.write_text(json.dumps({"status": st, "wall": wall, "findings": findings}))
        elif args.reuse and cached.exists():
            c = json.loads(cached.read_text())
            findings, st, wall = c["findings"], c["status"], c["wall"]
            name += " (cached)"
        else:
            continue
        if st.startswith("ok; "):
            notes.append(f"{t.name}: {st[4:]}")
        if findings is None:
            rows.append([name, st, "", "", "", "", ""])
            print(f"  {st}", file=sys.stderr)
            continue
        by_line: Dict[Tuple[str, int], List[str]] = defaultdict(list)
        for f, ln, rule in findings:
            by_line[(f, ln)].append(rule)
        counts: Counter = Counter()
        items = []
        for (f, ln), rules in sorted(by_line.items()):
            text = line_text(f, ln, cache)
            if (f, ln) in triage:
                verdict, why = triage[(f, ln)]
                src = "reviewed"
            else:
                verdict, why, src = heuristic(f, text), "", "heuristic"
            counts[verdict] += 1
            counts[f"{verdict}:{src}"] += 1
            items.append({"path": f, "line": ln, "rules": sorted(set(rules)), "verdict": verdict, "source": src,
                          "why": why, "masked": mask(text)})
        per_tool[t.name] = items
        fp = counts["fp"]
        denom = size
        part = re.search(r"scanned (\d+) of (\d+) files \(([\d.]+) MB\)", st)
        if part and part.group(1) != part.group(2):
            # a runner that covered only part of the tree (bench/ds_runner.py): per 100 MB it scanned
            denom = int(float(part.group(3)) * 1e6)
            name += f" (subset: {part.group(1)} of {part.group(2)} files, {part.group(3)} MB)"
        rows.append([name, len(by_line), counts["example"], fp, f"{fp / (denom / 1e8):.1f}",
                     f"{counts['fp:heuristic'] + counts['example:heuristic']}", f"{wall:.0f}"])
        print(f"  {len(findings)} findings, {len(by_line)} lines in {wall:.1f} s", file=sys.stderr)

    print(f"\n## Real code: {len(PACKAGES)} packages (wheel + sdist), {files} files, {size / 1e6:.0f} MB\n")
    print(f"{time.strftime('%Y-%m-%d', time.gmtime())}, {machine_info()}.")
    if failed:
        print(f"Not fetched ({len(failed)}): " + ", ".join(f"{s} {k}" for (s, k), _ in sorted(failed.items())))
    print()
    print(md_table(["tool", "finding lines", "example/test keys", "false positives", "FP per 100 MB",
                    "lines triaged by heuristic", "time s"], rows))
    for note in notes:
        print(f"\n{note}")
    if args.review is not None:
        names = args.review or list(per_tool)
        for name in names:
            print(f"\n### {name}\n")
            for it in per_tool.get(name, []):
                print(f"{it['verdict']:7} {it['source'][:4]} {it['path']}:{it['line']} {','.join(it['rules'])}  "
                      f"{it['masked']}")
    if args.json:
        args.json.write_text(json.dumps(per_tool, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
