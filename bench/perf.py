#!/usr/bin/env python3
"""Speed benchmark: keyscan against gitleaks, betterleaks and Kingfisher on the same data.

    .venv/bin/python bench/perf.py                 # ~100 MB haystack + 3000-commit repo + startup
    .venv/bin/python bench/perf.py --size 30       # smaller haystack
    .venv/bin/python bench/perf.py --big           # ~1 GB haystack
    .venv/bin/python bench/perf.py --only dir      # dir | git | startup | bigfile (repeatable)
    .venv/bin/python bench/perf.py --only bigfile  # one 2 GB log file (--bigfile-mb), bounded memory

Everything generated lives under bench/.work/ (git-ignored) and is deterministic for a
given --seed; it is reused when it already matches the requested size and seed.
Measured: wall time of a fresh process, MB/s (haystack bytes / wall), peak memory of the
process tree (see bench/common.py), number of findings, and each tool's throughput as a
ratio of the fastest. Tables are printed as markdown, ready for README.md.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (ROOT, WORK, Tool, dir_size, ensure_refs_venv, keyscan_has_history,  # noqa: E402
                    keyscan_tool, machine_info, md_table, reference_tools, run_measured)

HAYSTACK_VERSION = 3
GIT_VERSION = 2


def _load_keys(seed: int):
    spec = importlib.util.spec_from_file_location("quality_generate", ROOT / "fixtures" / "quality" / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Keys(seed)


# --------------------------------------------------------------------------- content pools

WORDS = ("the agent model request response token context memory tool call result retry timeout batch "
         "stream chunk embedding vector index query document user assistant system prompt message "
         "config value default option cache store load save parse render update delete create list "
         "service client server handler route session state event queue worker task job pipeline "
         "step stage build test deploy release version module package import export error warning "
         "info debug trace span metric label status code data file path line column offset size "
         "limit count total rate latency budget cost price usage input output format schema field "
         "record row table column key id name type kind mode level flag enabled disabled ready "
         "pending running failed success started finished elapsed seconds minutes bytes items "
         "evaluate score dataset sample split train validate infer generate summarize translate "
         "search fetch crawl scrape extract transform filter sort merge join group reduce map").split()
IDENT = ("agent planner executor retriever reranker router memory toolbox scheduler tracer session "
         "embedder indexer chunker loader writer reader parser formatter validator runner client "
         "handler cache store queue worker registry manager provider adapter gateway monitor").split()
PKGS = ["requests", "httpx", "pydantic", "fastapi", "openai", "anthropic", "langchain", "numpy", "pandas",
        "torch", "transformers", "tiktoken", "redis", "sqlalchemy", "boto3", "rich", "typer", "yaml"]


class Pools:
    """Pre-generated realistic blocks per file type; files are random arrangements of them."""

    def __init__(self, rng: random.Random, keys):
        self.rng, self.k = rng, keys
        self.py = [self._py_block() for _ in range(400)]
        self.js = [self._js_block() for _ in range(300)]
        self.go = [self._go_block() for _ in range(300)]
        self.yaml = [self._yaml_block() for _ in range(200)]
        self.md = [self._md_block() for _ in range(300)]
        self.json = [self._json_record() for _ in range(300)]
        self.trace = [self._trace_line() for _ in range(400)]
        self.log = [self._log_block() for _ in range(300)]
        self.cells = [self._cell() for _ in range(300)]
        self.images = [base64.b64encode(rng.randbytes(rng.randint(20_000, 70_000))).decode() for _ in range(12)]

    # helpers
    def w(self, n: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(n))

    def ident(self) -> str:
        r = self.rng
        return f"{r.choice(IDENT)}_{r.choice(WORDS)}"

    def camel(self) -> str:
        r = self.rng
        return r.choice(IDENT).capitalize() + r.choice(WORDS).capitalize()

    def hexs(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    # source
    def _py_block(self) -> str:
        r, name = self.rng, self.ident()
        kind = r.randrange(5)
        if kind == 0:
            return (f"import {r.choice(PKGS)}\nfrom {r.choice(PKGS)} import {self.camel()}\n"
                    f"import os\n\nlog = logging.getLogger(__name__)\n"
                    f'{name.upper()}_URL = os.environ.get("{name.upper()}_URL", "https://api.example.com/v{r.randint(1, 3)}")\n'
                    f'{name.upper()}_TOKEN = os.getenv("{name.upper()}_TOKEN")\n')
        if kind == 1:
            args = ", ".join(self.ident() for _ in range(r.randint(1, 4)))
            body = "\n".join(f"    {self.ident()} = {self.ident()}.get({r.choice(WORDS)!r}, {r.randint(0, 999)})"
                             for _ in range(r.randint(3, 10)))
            return (f"def {name}({args}):\n    \"\"\"{self.w(r.randint(6, 16)).capitalize()}.\"\"\"\n{body}\n"
                    f"    if not {name}:\n        raise ValueError(f\"{self.w(4)}: {{{name}!r}}\")\n"
                    f"    log.debug(\"{self.w(5)} %s\", {name})\n    return {name}\n")
        if kind == 2:
            fields = "\n".join(f"    {self.ident()}: {r.choice(['int', 'str', 'float', 'bool', 'list[str]'])} = "
                               f"{r.choice(['0', repr(r.choice(WORDS)), '1.5', 'False', 'field(default_factory=list)'])}"
                               for _ in range(r.randint(3, 9)))
            return f"@dataclass\nclass {self.camel()}:\n    \"\"\"{self.w(10).capitalize()}.\"\"\"\n\n{fields}\n"
        if kind == 3:
            items = ",\n".join(f'    "{self.ident()}": {{"model": "{r.choice(["gpt-4o", "claude-sonnet-4-5", "llama-3.1-70b", "gemini-2.0-flash"])}", '
                               f'"max_tokens": {r.choice([256, 1024, 4096])}, "temperature": {r.random():.2f}}}'
                               for _ in range(r.randint(3, 8)))
            return f"{name.upper()} = {{\n{items},\n}}\n"
        return (f"async def {name}(client, {self.ident()}):\n"
                f"    resp = await client.post(\"/v1/{r.choice(WORDS)}/{r.choice(WORDS)}\", json={{\"{r.choice(WORDS)}\": {self.ident()}}},\n"
                f"                             headers={{\"Authorization\": f\"Bearer {{settings.api_key}}\"}})\n"
                f"    resp.raise_for_status()\n    # {self.w(r.randint(5, 15))}\n    return resp.json()[\"{r.choice(WORDS)}\"]\n")

    def _js_block(self) -> str:
        r, name = self.rng, self.camel()
        kind = r.randrange(3)
        if kind == 0:
            return (f"import {{ {name} }} from \"./{r.choice(IDENT)}\";\nimport {r.choice(IDENT)} from \"{r.choice(['react', 'zod', 'next/router', 'openai'])}\";\n"
                    f"const {r.choice(IDENT)}Url = process.env.NEXT_PUBLIC_{r.choice(IDENT).upper()}_URL ?? \"/api/{r.choice(WORDS)}\";\n")
        if kind == 1:
            lines = "\n".join(f"  const {r.choice(IDENT)}{i} = await fetch(`${{base}}/{r.choice(WORDS)}/${{id}}`, {{ method: \"{r.choice(['GET', 'POST'])}\" }});"
                              for i in range(r.randint(2, 6)))
            return f"export async function {name[0].lower() + name[1:]}(base, id) {{\n{lines}\n  // {self.w(8)}\n  return {{ ok: true }};\n}}\n"
        props = "\n".join(f"  {r.choice(WORDS)}{i}: {r.choice(['true', 'false', str(r.randint(0, 9999)), repr(self.w(3))])},"
                          for i in range(r.randint(3, 10)))
        return f"export const {name}Config = {{\n{props}\n}};\n"

    def _go_block(self) -> str:
        r, name = self.rng, self.camel()
        if r.random() < 0.5:
            fields = "\n".join(f"\t{self.camel()} {r.choice(['string', 'int', 'bool', 'time.Duration', '[]string'])} `json:\"{r.choice(WORDS)}\"`"
                               for _ in range(r.randint(3, 8)))
            return f"// {name} {self.w(8)}.\ntype {name} struct {{\n{fields}\n}}\n"
        return (f"func (s *Server) {name}(ctx context.Context, req *{self.camel()}Request) (*{self.camel()}Response, error) {{\n"
                f"\tif req == nil {{\n\t\treturn nil, fmt.Errorf(\"{self.w(4)}: %w\", ErrInvalid)\n\t}}\n"
                f"\ttoken := os.Getenv(\"{r.choice(IDENT).upper()}_API_KEY\")\n"
                f"\tresp, err := s.client.Do(ctx, \"{r.choice(WORDS)}\", token)\n\tif err != nil {{\n\t\treturn nil, err\n\t}}\n"
                f"\t// {self.w(10)}\n\treturn resp, nil\n}}\n")

    def _yaml_block(self) -> str:
        r, name = self.rng, self.ident().replace("_", "-")
        env = "\n".join(f"            - name: {r.choice(IDENT).upper()}_{r.choice(WORDS).upper()}\n              value: \"{r.choice(WORDS)}\""
                        for _ in range(r.randint(2, 6)))
        return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    app: {name}\nspec:\n"
                f"  replicas: {r.randint(1, 5)}\n  template:\n    spec:\n      containers:\n        - name: {name}\n"
                f"          image: ghcr.io/acme/{name}@sha256:{self.hexs(64)}\n          env:\n{env}\n"
                f"            - name: API_KEY\n              valueFrom:\n                secretKeyRef: {{name: {name}, key: api-key}}\n---\n")

    def _md_block(self) -> str:
        r = self.rng
        if r.random() < 0.3:
            return (f"```bash\nexport {r.choice(IDENT).upper()}_API_KEY=<your-key>\n{r.choice(['pip install', 'npm i', 'uv add'])} "
                    f"{r.choice(PKGS)}\n```\n\n")
        return f"## {self.w(4).capitalize()}\n\n" + "\n".join(self.w(r.randint(10, 20)).capitalize() + "." for _ in range(r.randint(3, 8))) + "\n\n"

    def _json_record(self) -> dict:
        r = self.rng
        return {"id": str(self.k.uuid()), "object": r.choice(["run", "thread.message", "file", "vector_store"]),
                "created_at": 1730000000 + r.randint(0, 10**7), "status": r.choice(["completed", "failed", "queued"]),
                "sha256": self.hexs(64), "metadata": {self.ident(): self.w(3) for _ in range(r.randint(1, 4))},
                "usage": {"prompt_tokens": r.randint(10, 9000), "completion_tokens": r.randint(1, 2000)},
                "text": self.w(r.randint(10, 80))}

    def _trace_line(self) -> str:
        r = self.rng
        msgs = [{"role": role, "content": self.w(r.randint(20, 300))} for role in ("system", "user", "assistant")]
        rec = {"trace_id": self.hexs(32), "span_id": self.hexs(16), "name": f"llm.{r.choice(WORDS)}",
               "start_time": f"2025-10-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999999):06d}Z",
               "attributes": {"gen_ai.system": r.choice(["openai", "anthropic", "vertex_ai"]),
                              "gen_ai.request.model": r.choice(["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.0-flash"]),
                              "gen_ai.usage.input_tokens": r.randint(10, 20000), "gen_ai.usage.output_tokens": r.randint(1, 4000),
                              "http.request.header.x-request-id": "req_" + self.hexs(24)},
               "input": {"messages": msgs},
               "output": {"tool_calls": [{"id": "call_" + self.hexs(24), "function": {"name": self.ident(), "arguments": json.dumps({r.choice(WORDS): self.w(5)})}}]}}
        return json.dumps(rec)

    def _log_block(self) -> str:
        r = self.rng
        out = []
        for _ in range(r.randint(5, 30)):
            t = f"2025-10-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 9999999):07d}Z"
            kind = r.randrange(5)
            if kind == 0:
                out.append(f"{t} Collecting {r.choice(PKGS)}=={r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 9)}")
            elif kind == 1:
                out.append(f"{t} \x1b[32mPASSED\x1b[0m tests/test_{r.choice(WORDS)}.py::test_{self.ident()}")
            elif kind == 2:
                out.append(f"{t} ##[group]Run {r.choice(['actions/checkout@v4', 'actions/setup-python@v5', 'make test'])}")
            elif kind == 3:
                out.append(f"{t} {r.choice(['DEBUG', 'INFO', 'WARNING'])} {self.w(r.randint(5, 15))} (sha {self.hexs(40)})")
            else:
                out.append(f"{t}   env:\n{t}     {r.choice(IDENT).upper()}_TOKEN: ***")
        return "\n".join(out) + "\n"

    def _cell(self) -> dict:
        r = self.rng
        src = self._py_block().splitlines(keepends=True)
        outputs = []
        if r.random() < 0.5:
            outputs.append({"name": "stdout", "output_type": "stream", "text": [self.w(12) + "\n" for _ in range(r.randint(1, 10))]})
        return {"cell_type": "code", "execution_count": r.randint(1, 99), "metadata": {}, "outputs": outputs, "source": src}


# --------------------------------------------------------------------------- haystack


def _file_plan(rng: random.Random) -> Tuple[str, Callable]:
    """(relative path, content maker) for one file, drawn with realistic proportions."""
    svc = rng.choice(IDENT) + "-" + rng.choice(["svc", "api", "worker", "agent", "ui"])
    r = rng.random()
    mod = rng.choice(IDENT) + "_" + rng.choice(WORDS)
    if r < 0.32:
        return f"services/{svc}/src/{rng.choice(IDENT)}/{mod}.py", lambda p, n: _src(p.py, p, n, "")
    if r < 0.50:
        return f"web/src/{rng.choice(['components', 'lib', 'pages', 'hooks'])}/{mod}.{rng.choice(['js', 'ts', 'tsx'])}", \
            lambda p, n: _src(p.js, p, n, "")
    if r < 0.62:
        return f"go/{svc}/internal/{rng.choice(IDENT)}/{mod}.go", lambda p, n: _src(p.go, p, n, "package main\n\n")
    if r < 0.70:
        return f"deploy/{svc}/{mod}.yaml", lambda p, n: _src(p.yaml, p, n, "")
    if r < 0.76:
        ext = rng.choice(["toml", "ini", "env"])
        name = ".env" if ext == "env" else f"{mod}.{ext}"
        return f"services/{svc}/config/{name}", lambda p, n, ext=ext: _config(p, ext)
    if r < 0.80:
        return f"data/{svc}/{mod}.json", lambda p, n: _json_file(p, n)
    if r < 0.82:
        return f"traces/{svc}/run-{rng.randrange(10**6):06d}.jsonl", lambda p, n: _src(p.trace, p, n, "", sep="\n")
    if r < 0.85:
        return f"notebooks/{svc}/{mod}.ipynb", lambda p, n: _notebook(p, n)
    if r < 0.87:
        return f"logs/ci/{svc}-{rng.randrange(10**5)}.log", lambda p, n: _src(p.log, p, n, "")
    return f"docs/{svc}/{mod}.md", lambda p, n: f"# {p.w(4).capitalize()}\n\n" + _src(p.md, p, n, "")


def _size_for(path: str, rng: random.Random) -> int:
    if path.endswith(".jsonl"):
        return rng.randint(100_000, 800_000)
    if path.endswith(".log"):
        return rng.randint(30_000, 800_000)
    if path.endswith(".ipynb"):
        return rng.randint(20_000, 400_000)
    if path.endswith(".json"):
        return rng.randint(5_000, 200_000)
    return int(rng.lognormvariate(9.0, 0.9))  # source and docs: median ~8 KB


def _src(pool: List[str], p: Pools, n: int, head: str, sep: str = "\n") -> str:
    parts, size = [head], len(head)
    rng = p.rng
    while size < n:
        b = rng.choice(pool)
        parts.append(b)
        size += len(b) + len(sep)
    return sep.join(parts) + "\n"


def _config(p: Pools, ext: str) -> str:
    r = p.rng
    keys = [f"{r.choice(IDENT)}_{r.choice(WORDS)}" for _ in range(r.randint(8, 40))]
    if ext == "env":
        return "".join(f"{k.upper()}={r.choice([p.w(1), str(r.randint(0, 9999)), 'true', '${' + k.upper() + '}'])}\n" for k in keys)
    if ext == "ini":
        return "[default]\n" + "".join(f"{k} = {r.choice([p.w(1), str(r.randint(0, 9999))])}\n" for k in keys)
    return "[tool]\n" + "".join(f'{k} = "{p.w(1)}"\n' for k in keys)


def _json_file(p: Pools, n: int) -> str:
    recs, size = [], 0
    while size < n:
        rec = p.rng.choice(p.json)
        recs.append(rec)
        size += 400
    return json.dumps({"object": "list", "data": recs, "has_more": False}, indent=2) + "\n"


def _notebook(p: Pools, n: int) -> str:
    cells, size = [], 0
    r = p.rng
    while size < n:
        c = dict(r.choice(p.cells))
        if r.random() < 0.12:
            img = r.choice(p.images)
            c = dict(c, outputs=[{"data": {"image/png": img, "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
                                  "metadata": {}, "output_type": "display_data"}])
            size += len(img)
        cells.append(c)
        size += 900
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}}, "nbformat": 4,
          "nbformat_minor": 5}
    return json.dumps(nb, indent=1) + "\n"


def _planted(keys) -> List[Tuple[str, str]]:
    return [("OPENAI_API_KEY", keys.openai("proj")), ("ANTHROPIC_API_KEY", keys.anthropic()),
            ("GITHUB_TOKEN", keys.github("ghp")), ("AWS_ACCESS_KEY_ID", keys.aws_id()),
            ("SLACK_BOT_TOKEN", keys.slack_bot()), ("STRIPE_SECRET_KEY", keys.stripe()),
            ("NPM_TOKEN", keys.npm()), ("HF_TOKEN", keys.huggingface()), ("GROQ_API_KEY", keys.groq()),
            ("SENDGRID_API_KEY", keys.sendgrid()), ("GITLAB_TOKEN", keys.gitlab()), ("GEMINI_API_KEY", keys.gemini())]


def _fresh(dest: Path, seed: int):
    """An empty ``dest`` and the seeded generators a data set is built from."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    rng = random.Random(seed)
    keys = _load_keys(seed)
    return rng, keys, Pools(rng, keys)


def generate_haystack(dest: Path, size_mb: int, seed: int) -> Tuple[int, int]:
    marker = dest / ".bench-haystack.json"
    want = {"version": HAYSTACK_VERSION, "size_mb": size_mb, "seed": seed}
    if marker.exists() and json.loads(marker.read_text()) == want:
        return dir_size(dest)
    t0 = time.perf_counter()
    rng, keys, pools = _fresh(dest, seed)
    target, total, written = size_mb * 1_000_000, 0, []
    while total < target:
        path, make = _file_plan(rng)
        text = make(pools, _size_for(path, rng))
        full = dest / path
        if full.exists():
            continue
        full.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        full.write_bytes(data)
        total += len(data)
        written.append(path)
    # a few planted fake keys, appended as a config line in files of line-oriented formats
    plantable = sorted(p for p in written if p.endswith((".py", ".md", ".log", ".yaml", ".env", ".ts", ".js", ".go")))
    for name, value in _planted(keys):
        path = rng.choice(plantable)
        with open(dest / path, "a", encoding="utf-8") as fh:
            fh.write(f"# {name}={value}\n" if not path.endswith((".js", ".ts", ".go")) else f"// {name}={value}\n")
    marker.write_text(json.dumps(want))
    size, files = dir_size(dest)
    print(f"generated {dest.relative_to(ROOT)}: {size / 1e6:.1f} MB in {files} files "
          f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return size, files


# --------------------------------------------------------------------------- git repository


def generate_git_repo(dest: Path, commits: int, seed: int) -> Path:
    marker = dest.parent / (dest.name + ".json")
    want = {"version": GIT_VERSION, "commits": commits, "seed": seed}
    if marker.exists() and json.loads(marker.read_text()) == want and (dest / ".git").exists():
        return dest
    t0 = time.perf_counter()
    rng, keys, pools = _fresh(dest, seed + 1)
    files: Dict[str, List[str]] = {}
    for _ in range(400):
        path, make = _file_plan(rng)
        if path.endswith((".jsonl", ".ipynb", ".log", ".json")):  # keep the repository source-like
            continue
        files[path] = make(pools, rng.randint(1500, 8000)).splitlines()
    snippets = [line for b in pools.py[:200] + pools.js[:100] for line in b.splitlines() if line.strip()]
    planted = _planted(keys)
    secret_events: Dict[int, Tuple[str, str, str]] = {}  # commit -> (action, path, line)
    for j, (name, value) in enumerate(planted[:8]):
        at = rng.randrange(commits // 10, commits - 50)
        path = rng.choice(sorted(files))
        line = f'{name} = "{value}"  # TODO move to vault'
        secret_events[at] = ("add", path, line)
        secret_events[at + rng.randint(1, 40)] = ("del", path, line)

    out = bytearray()

    def data(b: bytes) -> None:
        out.extend(b"data %d\n" % len(b))
        out.extend(b)
        out.extend(b"\n")

    authors = [("Ada Lovelace", "ada@example.com"), ("Alan Turing", "alan@example.com"),
               ("Grace Hopper", "grace@example.com"), ("ci-bot", "ci@example.com")]
    when = 1_700_000_000
    msgs = ["fix {}", "add {}", "refactor {}", "update {}", "bump {}", "tune {}", "handle {} errors", "test {}"]
    for c in range(1, commits + 1):
        when += rng.randint(60, 20000)
        name, email = rng.choice(authors)
        out.extend(b"commit refs/heads/main\nmark :%d\n" % c)
        out.extend(f"author {name} <{email}> {when} +0000\ncommitter {name} <{email}> {when} +0000\n".encode())
        data(rng.choice(msgs).format(rng.choice(IDENT) + " " + rng.choice(WORDS)).encode())
        if c > 1:
            out.extend(b"from :%d\n" % (c - 1))
        if c == 1:
            changed = sorted(files)
        else:
            changed = sorted(rng.sample(sorted(files), rng.randint(1, 3)))
            for path in changed:
                lines = files[path]
                for _ in range(rng.randint(1, 4)):
                    op = rng.random()
                    i = rng.randrange(len(lines) + 1)
                    if op < 0.5 or len(lines) < 20:
                        lines.insert(i, rng.choice(snippets))
                    elif op < 0.8 and i < len(lines):
                        lines[i] = rng.choice(snippets)
                    elif i < len(lines):
                        del lines[i]
        ev = secret_events.get(c)
        if ev:
            action, path, line = ev
            if action == "add":
                files[path].insert(min(5, len(files[path])), line)
            elif line in files[path]:
                files[path].remove(line)
            if path not in changed:
                changed.append(path)
        for path in changed:
            out.extend(f"M 100644 inline {path}\n".encode())
            data(("\n".join(files[path]) + "\n").encode())
        out.extend(b"\n")
    subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "fast-import", "--quiet"], input=bytes(out), check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", "-f", "main"], check=True)
    marker.write_text(json.dumps(want))
    print(f"generated {dest.relative_to(ROOT)}: {commits} commits, {len(files)} files, "
          f"{len(secret_events) // 2} secrets added then deleted ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return dest


def generate_bigfile(dest: Path, size_mb: int, seed: int) -> Tuple[Path, int]:
    """One large CI-style log (``size_mb``), a planted fake key every ~10% of it."""
    path = dest / "build.log"
    marker = dest / ".bench-bigfile.json"
    want = {"version": 1, "size_mb": size_mb, "seed": seed}
    if marker.exists() and path.exists():
        have = json.loads(marker.read_text())
        if {k: have.get(k) for k in want} == want:
            return path, int(have.get("planted", 0))
    t0 = time.perf_counter()
    rng, keys, pools = _fresh(dest, seed + 2)
    segment = ("\n".join(pools.log[i % len(pools.log)] for i in range(2000)) + "\n").encode()
    planted = _planted(keys)
    target = size_mb * 1_000_000
    step = max(1, target // 10)
    written, n_planted, next_plant = 0, 0, step // 2
    with open(path, "wb") as fh:
        while written < target:
            fh.write(segment)
            written += len(segment)
            if written >= next_plant and n_planted < 10:
                name, value = planted[n_planted % len(planted)]
                line = f"2025-10-01T00:00:00.0000000Z export {name}={value}\n".encode()
                fh.write(line)
                written += len(line)
                n_planted += 1
                next_plant += step
    marker.write_text(json.dumps(dict(want, planted=n_planted)))
    print(f"generated {path.relative_to(ROOT)}: {written / 1e6:.0f} MB, {n_planted} planted keys "
          f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return path, n_planted


# --------------------------------------------------------------------------- runs


def baseline_tool(rev: str, extra: List[str]) -> Tool:
    """keyscan as of git revision ``rev``: its ``keyscan/`` and ``rules/`` exported once under
    bench/.work/ and run by this interpreter (dependencies as installed now)."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], capture_output=True, text=True,
                         check=True).stdout.strip()
    dest = WORK / f"baseline-{sha}"
    if not (dest / "keyscan").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha, "keyscan", "rules"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(dest / "keyscan")], check=False)
    tool = keyscan_tool(extra)
    return dataclasses.replace(tool, name=f"keyscan@{sha}",
                               exe=lambda: ["env", f"PYTHONPATH={dest}", sys.executable, "-m", "keyscan"])


def _warm(tools: List[Tool]) -> None:
    """One throw-away run per tool on a tiny directory (rule caches, page cache of binaries)."""
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp:
        Path(tmp, "a.py").write_text('x = "hello"\n')
        for t in tools:
            if t.available():
                t.scan_dir(Path(tmp), timeout=300)


def _best_round_robin(tools: List[Tool], fn: str, target: Path, repeat: int, timeout: float, what: str):
    """Each tool's fastest of ``repeat`` runs, the tools taking turns so that a
    drift in machine speed (shared virtual CPUs) is spread over all of them."""
    best: Dict[str, tuple] = {}
    for r in range(repeat):
        for t in tools:
            if t.name in best and best[t.name][1] is None:
                continue  # unavailable: do not retry
            print(f"  {what} with {t.name} (run {r + 1}/{repeat}) ...", file=sys.stderr, flush=True)
            res, findings, status = getattr(t, fn)(target, timeout=timeout)
            cur = best.get(t.name)
            if findings is None or cur is None or (cur[1] is not None and res.wall < cur[0].wall):
                best[t.name] = (res, findings, status)
    return [(t, *best[t.name]) for t in tools if t.name in best]


def bench_dir(tools: List[Tool], target: Path, size: int, files: int, repeat: int, timeout: float) -> str:
    rows, speeds = [], {}
    results = _best_round_robin(tools, "scan_dir", target, repeat, timeout, "scanning haystack")
    for t, res, findings, status in results:
        if findings is not None:
            speeds[t.name] = size / 1e6 / res.wall
    fastest = max(speeds.values()) if speeds else 0
    for t, res, findings, status in results:
        if findings is None:
            rows.append([t.name, status, "", "", "", ""])
            continue
        mbps = speeds[t.name]
        rows.append([t.name, f"{res.wall:.2f}", f"{mbps:.1f}", f"{res.peak_rss_mb:.0f}", len(findings),
                     f"{mbps / fastest:.2f}x"])
    text = md_table(["tool", "wall s", "MB/s", "peak RSS MB", "findings", "vs fastest"], rows)
    refs = {n: v for n, v in speeds.items() if n in ("betterleaks", "kingfisher")}
    if "keyscan" in speeds and refs:
        best = max(refs, key=refs.get)
        text += (f"\n\nkeyscan throughput: {speeds['keyscan'] / refs[best]:.2f}x the faster of betterleaks and "
                 f"Kingfisher ({best}, {refs[best]:.1f} MB/s); target >= 1.0x.")
    return f"Directory scan: {size / 1e6:.1f} MB in {files} files\n\n" + text


def bench_git(tools: List[Tool], repo: Path, commits: int, repeat: int, timeout: float) -> str:
    rows, walls = [], {}
    base = run_measured(["git", "-C", str(repo), "log", "-p", "--all", "--no-color", "--no-ext-diff"], timeout=timeout)
    hist_mb = len(base.stdout.encode()) / 1e6
    rows.append(["git log -p (baseline)", f"{base.wall:.2f}", f"{hist_mb / base.wall:.1f}", f"{base.peak_rss_mb:.0f}", "", ""])
    has_history = keyscan_has_history()
    results = []
    if not has_history:
        results.append((tools[0], None, None, "unavailable (`keyscan scan --history` not implemented yet)"))
    git_tools = [t for t in tools if t.git_args is not None and (t.name != "keyscan" or has_history)]
    results += _best_round_robin(git_tools, "scan_git", repo, repeat, timeout, "scanning git history")
    for t, res, findings, status in results:
        if findings is not None:
            walls[t.name] = res.wall
    fastest = min(walls.values()) if walls else 0
    for t, res, findings, status in results:
        if findings is None:
            rows.append([t.name, status, "", "", "", ""])
            continue
        rows.append([t.name, f"{res.wall:.2f}", f"{hist_mb / res.wall:.1f}", f"{res.peak_rss_mb:.0f}",
                     len(findings), f"{fastest / res.wall:.2f}x"])
    text = md_table(["tool", "wall s", "MB/s of `git log -p`", "peak RSS MB", "findings", "vs fastest"], rows)
    if "keyscan" in walls and "betterleaks" in walls:
        text += (f"\n\nkeyscan history scan: {walls['betterleaks'] / walls['keyscan']:.2f}x the speed of betterleaks "
                 f"(target > 1.0x).")
    return (f"Git history: {commits} commits, `git log -p` output {hist_mb:.1f} MB; 8 fake keys added then deleted\n\n"
            + text)


def bench_bigfile(tools: List[Tool], path: Path, planted: int, timeout: float) -> str:
    size = path.stat().st_size
    rows = []
    for t in tools:
        print(f"  scanning one {size / 1e9:.1f} GB file with {t.name} ...", file=sys.stderr, flush=True)
        res, findings, status = t.scan_dir(path.parent, timeout=timeout)
        if findings is None:
            rows.append([t.name, status, "", "", ""])
            continue
        rows.append([t.name, f"{res.wall:.1f}", f"{size / 1e6 / res.wall:.0f}", f"{res.peak_rss_mb:.0f}", len(findings)])
    text = md_table(["tool", "wall s", "MB/s", "peak RSS MB", "findings"], rows)
    return (f"One large file: {size / 1e9:.2f} GB CI log, {planted} planted fake keys (keyscan with "
            f"`--max-file-size 0`: read in 8 MB chunks with overlap)\n\n" + text)


def bench_startup(tools: List[Tool], runs: int = 5) -> str:
    empty = WORK / "empty"
    if empty.exists():
        shutil.rmtree(empty)
    empty.mkdir(parents=True)
    rows = []
    for t in tools:
        prefix = t.exe()
        if prefix is None:
            rows.append([t.name, "unavailable", "", ""])
            continue
        ver = min(run_measured(prefix + t.version_args, sample=False).wall for _ in range(runs))
        scans = []
        for _ in range(runs):
            res, findings, status = t.scan_dir(empty, timeout=120)
            if findings is None:
                scans = None
                break
            scans.append(res.wall)
        sarif = ""
        if t.kind == "keyscan":  # SARIF needs rule metadata: issue 16 bug 4 (it reloaded the rule files)
            sarif = f"{min(run_measured(prefix + ['scan', str(empty), '-q', '-f', 'sarif'], sample=False).wall for _ in range(runs)):.3f}"
        rows.append([t.name, f"{ver:.3f}", f"{min(scans):.3f}" if scans else status, sarif])
    text = md_table(["tool", "--version s", "scan of an empty directory s", "same, -f sarif s"], rows)
    return f"Startup (min of {runs} runs; keyscan target <= 0.3 s)\n\n" + text


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100, help="haystack size in MB (default 100)")
    ap.add_argument("--big", action="store_true", help="about 1 GB haystack (same as --size 1000)")
    ap.add_argument("--commits", type=int, default=10000, help="commits in the generated git repository (default 10000)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool; the fastest is kept (default 3)")
    ap.add_argument("--only", action="append", choices=["dir", "git", "startup", "bigfile"],
                    help="run only these parts (bigfile is not run by default)")
    ap.add_argument("--bigfile-mb", type=int, default=2048, help="size of the single large file (default 2048 MB)")
    ap.add_argument("--with-slow", action="store_true", help="also run detect-secrets and CredSweeper (very slow)")
    ap.add_argument("--no-refs", action="store_true", help="keyscan only")
    ap.add_argument("--timeout", type=float, default=1800, help="per tool run, seconds")
    ap.add_argument("--keyscan-arg", action="append", default=[], help="extra argument for keyscan (repeatable)")
    ap.add_argument("--baseline", metavar="REV", action="append", default=[],
                    help="also run keyscan as of this git revision (its keyscan/ and rules/ exported under "
                         "bench/.work/), taking turns with the current code: a before/after table (repeatable)")
    args = ap.parse_args(argv)
    size_mb = 1000 if args.big else args.size
    parts = args.only or ["dir", "git", "startup"]

    # An installed keyscan runs from bytecode compiled at install time (pip compiles wheels);
    # an editable checkout under PYTHONDONTWRITEBYTECODE would recompile every module on each
    # start and charge that to keyscan's startup.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "keyscan")], check=False)
    print(f"machine: {machine_info()}")
    tools: List[Tool] = [keyscan_tool(args.keyscan_arg)]
    tools += [baseline_tool(rev, args.keyscan_arg) for rev in args.baseline]
    for t in tools:
        print(f"{t.name}: {subprocess.run(t.exe() + ['--version'], capture_output=True, text=True).stdout.strip()}")
    if not args.no_refs:
        for pkg, st in ensure_refs_venv(optional=args.with_slow).items():
            if st != "ok":
                print(f"note: {pkg}: {st}")
        refs = reference_tools(include_slow=args.with_slow)
        for t in refs:
            if t.available():
                v = run_measured(t.exe() + t.version_args, sample=False)
                print(f"{t.name}: {(v.stdout.strip() or v.stderr.strip()).splitlines()[-1] if (v.stdout + v.stderr).strip() else '?'}")
        tools += refs
    _warm(tools)
    sections = []
    if "dir" in parts:
        hay = WORK / "haystack"
        size, files = generate_haystack(hay, size_mb, args.seed)
        sections.append(bench_dir(tools, hay, size, files, args.repeat, args.timeout))
        print("\n" + sections[-1], flush=True)
    if "git" in parts:
        repo = generate_git_repo(WORK / f"gitrepo-{args.commits}", args.commits, args.seed)
        sections.append(bench_git(tools, repo, args.commits, args.repeat, args.timeout))
        print("\n" + sections[-1], flush=True)
    if "startup" in parts:
        sections.append(bench_startup(tools))
        print("\n" + sections[-1], flush=True)
    if "bigfile" in parts:
        path, planted = generate_bigfile(WORK / "bigfile", args.bigfile_mb, args.seed)
        big_tools = [keyscan_tool([*args.keyscan_arg, "--max-file-size", "0"])]
        big_tools += [baseline_tool(rev, [*args.keyscan_arg, "--max-file-size", "0"]) for rev in args.baseline]
        big_tools += [t for t in tools if t.kind != "keyscan"]
        sections.append(bench_bigfile(big_tools, path, planted, args.timeout))
        print("\n" + sections[-1], flush=True)
    print("\n---- markdown for README.md ----\n")
    print(f"Machine: {machine_info()}\n")
    print("\n\n".join(sections))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
