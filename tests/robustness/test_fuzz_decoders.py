"""Fuzzing and property tests for the decoders (hypothesis).

* The JSON, notebook, CI-log, encoded (base64 / URL) and MCP decoders never
  raise on arbitrary bytes or near-miss text; every fragment's segment map
  stays inside the document and is monotonic inside each segment.
* A known fake key embedded in generated JSON, notebooks, CI logs and
  base64 / URL-encoded values is reported at the exact on-disk line and column
  where the key (or the encoded blob holding it) starts.
* For any input, every finding's line lies inside the file.

Each test counts its cases; the last test prints the total.
"""

import base64
import collections
import json
import os
import random
import string
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings, strategies as st

from keyscan.api import scan_bytes
from keyscan.decoders.cilog import DECODER as CILOG
from keyscan.decoders.encoded import DECODER as ENCODED
from keyscan.decoders.json_decoder import JSON_DECODER
from keyscan.decoders.mcp_decoder import DECODER as MCP
from keyscan.decoders.notebook import DECODER as NOTEBOOK
from keyscan.decoders.streams import DECODER as STREAM
from keyscan.documents import read_document

KEY = "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"  # fake, CRC-valid GitHub PAT shape
RULE = "github-pat-classic"
CASES = collections.Counter()

# KEYSCAN_FUZZ_SCALE=20 runs a longer campaign (the default keeps the fast tier fast)
SCALE = float(os.environ.get("KEYSCAN_FUZZ_SCALE", "1"))
FUZZ = settings(max_examples=int(200 * SCALE), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
PROPERTY = settings(max_examples=int(150 * SCALE), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

DECODERS = {
    "json": (JSON_DECODER, ["data.json", "events.jsonl", "api.har", "settings.jsonc", "noext"]),
    "notebook": (NOTEBOOK, ["analysis.ipynb"]),
    "cilog": (CILOG, ["job.log", "logs/build/1_test.txt", "raw.txt"]),
    "encoded": (ENCODED, ["values.yaml", "notes.txt", "data.json"]),
    "stream": (STREAM, ["capture.txt", "events.jsonl", "stream.sse"]),
    "mcp": (MCP, [".mcp.json", ".cursor/mcp.json", "claude_desktop_config.json", ".vscode/mcp.json",
                  ".codex/config.toml", ".continue/config.yaml", ".claude/settings.json", "goose/config.yaml"]),
}

# Text that looks like the formats the decoders parse (so the fuzzer gets past
# the first character), mixed with arbitrary characters.
_SYNTAX = list('{}[]",:\\/\n\r\t ') + ["\\u", "\\u00e9", "\\ud83d", "\\ude00", "\\\"", "\\\\", "\x1b[31m",
                                        "\x1b]8;;http://x\x07", "##[group]", "##[endgroup]", "section_start:1:x\r\x1b[0K",
                                        "2024-05-30T14:30:00.1234567Z ", "2024-05-30T14:30:00.123456Z 00O ",
                                        "2024-05-30T14:30:00.123456Z 00O+", '"cells"', '"source"', '"outputs"',
                                        '"mcpServers"', '"env"', '"args"', '"headers"', '"url"', "%41", "%",
                                        "Z2hwX3U4anpQZGUwSWd4TGQ2R25jZkJBZXBmSkJkMEtoODAyNHhYSA==", "Basic ",
                                        KEY, KEY[:20], "ghp_", "%env X ", "[mcp_servers.x]", "env:\n  ", "- ",
                                        "\ufeff", "\u00e9", "\U0001f600", "\x00"]
_SYNTAX += ['"delta"', '"content"', "data: "]  # streamed events (keyscan.decoders.streams)
syntax_text = st.lists(st.one_of(st.sampled_from(_SYNTAX), st.text(max_size=8)), max_size=60).map("".join)


def _check_fragments(doc, decoder):
    n = len(doc.text)
    for frag in decoder.fragments(doc):
        assert isinstance(frag.text, str)
        flen = len(frag.text)
        prev_start = -1
        segments = frag._built() if hasattr(frag, "_built") else frag.segments  # lazily built maps
        for seg in segments:
            assert seg.frag_start >= prev_start, "segments out of order"
            prev_start = seg.frag_start
            assert 0 <= seg.frag_start and seg.length >= 0 and seg.frag_start + seg.length <= flen
            assert 0 <= seg.doc_start <= n
            if seg.collapsed:
                assert seg.doc_start <= seg.doc_end <= n
                continue
            prev = -1
            for i in range(seg.frag_start, seg.frag_start + seg.length):
                d = seg.to_doc(i)
                assert 0 <= d < n, ("segment maps outside the document", i, d, n)
                assert d > prev, ("segment map not monotonic", i, d, prev)
                prev = d
        for i in range(0, flen, max(1, flen // 50)):
            assert 0 <= frag.to_doc(i) <= n
            assert 0 <= frag.to_doc_end(i + 1) <= n
    for off in (0, n // 3, n // 2, max(n - 1, 0), n):
        loc = decoder.locate(doc, off)
        assert loc is None or isinstance(loc, str)


def _run_decoder(name, path, raw):
    decoder, _ = DECODERS[name]
    doc = read_document(path, raw)
    decoder.wants(doc)
    _check_fragments(doc, decoder)  # whether or not the decoder wants it: it must not raise
    CASES[f"decoder {name}"] += 1


def _fuzz(name):
    @FUZZ
    @given(path=st.sampled_from(DECODERS[name][1]),
           raw=st.one_of(st.binary(max_size=400),
                         syntax_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
                         syntax_text.map(lambda t: t.encode("utf-16"))))
    def test(path, raw):
        _run_decoder(name, path, raw)

    test.__name__ = f"test_{name}_decoder_never_raises_and_maps_inside_the_document"
    return test


test_json_decoder_never_raises = _fuzz("json")
test_notebook_decoder_never_raises = _fuzz("notebook")
test_cilog_decoder_never_raises = _fuzz("cilog")
test_encoded_decoder_never_raises = _fuzz("encoded")
test_mcp_decoder_never_raises = _fuzz("mcp")
test_stream_decoder_never_raises = _fuzz("stream")


@FUZZ
@given(name=st.sampled_from(sorted(DECODERS)), data=st.data())
def test_decoders_on_mutated_valid_documents(name, data):
    """Valid documents with a few bytes flipped, cut or duplicated."""
    seed = data.draw(st.integers(0, 2**32 - 1))
    rnd = random.Random(seed)
    path = rnd.choice(DECODERS[name][1])
    text = _valid_sample(name, path, rnd)
    raw = bytearray(text.encode("utf-8"))
    for _ in range(data.draw(st.integers(0, 6))):
        if not raw:
            break
        i = rnd.randrange(len(raw))
        op = rnd.randrange(4)
        if op == 0:
            raw[i] = rnd.randrange(256)
        elif op == 1:
            del raw[i:i + rnd.randrange(1, 20)]
        elif op == 2:
            raw[i:i] = raw[rnd.randrange(len(raw)):][:rnd.randrange(1, 30)]
        else:
            del raw[i:]
    _run_decoder(name, path, bytes(raw))


def _valid_sample(name, path, rnd):
    if name == "stream":
        return _stream(rnd)[0]
    if name == "notebook":
        return _notebook(rnd)[0]
    if name == "cilog":
        return _cilog(rnd)[0]
    if name == "encoded":
        return _encoded(rnd)[0]
    if path.endswith(".toml"):
        return f'[mcp_servers.gh]\ncommand = "npx"\nenv = {{ GITHUB_TOKEN = "{KEY}" }}\n'
    if path.endswith(".yaml"):
        return f"mcpServers:\n  - name: gh\n    env:\n      GITHUB_TOKEN: {KEY}\n"
    if name == "mcp":
        return json.dumps({"mcpServers": {"gh": {"command": "npx", "args": ["--token", KEY],
                                                 "env": {"GITHUB_TOKEN": KEY}}}}, indent=2)
    return _json_doc(rnd)[0]


# ---------------------------------------------------------------------------
# A JSON writer that records where a marked character lands in the output.


class Marked:
    """A string whose character ``mark`` is tracked through serialisation."""

    def __init__(self, text, mark):
        self.text = text
        self.mark = mark


def _escape_char(c, rnd, *, ascii_only=False):
    if c == '"':
        return '\\"'
    if c == "\\":
        return "\\\\"
    if c in "\n\r\t\b\f":
        return rnd.choice([{"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}[c], f"\\u{ord(c):04x}"])
    if ord(c) < 0x20:
        return f"\\u{ord(c):04x}"
    if c == "/" and rnd.random() < 0.5:
        return "\\/"
    if ord(c) > 0x7F and (ascii_only or rnd.random() < 0.5):
        if ord(c) > 0xFFFF:
            v = ord(c) - 0x10000
            return f"\\u{0xD800 + (v >> 10):04x}\\u{0xDC00 + (v & 0x3FF):04X}"
        return f"\\u{ord(c):04x}"
    if rnd.random() < 0.04:  # any character may be written as \uXXXX
        return f"\\u{ord(c):04X}"
    return c


class Writer:
    def __init__(self, rnd, indent=None, escape_key=0.0):
        self.rnd = rnd
        self.indent = indent
        self.escape_key = escape_key  # probability of \u-escaping each key character
        self.out = []
        self.size = 0
        self.mark_at = None

    def put(self, s):
        self.out.append(s)
        self.size += len(s)

    def string(self, s):
        self.put('"')
        if isinstance(s, Marked):
            for i, c in enumerate(s.text):
                if i == s.mark:
                    self.mark_at = self.size
                if c.isalnum() and self.rnd.random() < self.escape_key:
                    self.put(f"\\u{ord(c):04x}")
                else:
                    self.put(_escape_char(c, self.rnd))
        else:
            for c in s:
                self.put(_escape_char(c, self.rnd))
        self.put('"')

    def value(self, v, depth=0):
        nl = "" if self.indent is None else "\n" + " " * (self.indent * (depth + 1))
        end = "" if self.indent is None else "\n" + " " * (self.indent * depth)
        sep = self.rnd.choice([": ", ":"]) if self.indent is None else ": "
        comma = self.rnd.choice([",", ", "]) if self.indent is None else ","
        if isinstance(v, dict):
            self.put("{")
            for i, (k, x) in enumerate(v.items()):
                self.put((comma if i else "") + nl)
                self.string(k)
                self.put(sep)
                self.value(x, depth + 1)
            self.put((end if v else "") + "}")
        elif isinstance(v, list):
            self.put("[")
            for i, x in enumerate(v):
                self.put((comma if i else "") + nl)
                self.value(x, depth + 1)
            self.put((end if v else "") + "]")
        elif isinstance(v, (str, Marked)):
            self.string(v)
        else:
            self.put(json.dumps(v))

    def text(self):
        return "".join(self.out)


_WORDS = ["id", "name", "value", "data", "items", "config", "meta", "é", "ключ", "😀", "a/b", 'q"t', "back\\slash",
          "tab\tx", "line\nx", "url", "path", "text"]


def _filler_text(rnd, n=12):
    alphabet = string.ascii_letters + string.digits + " .,;:-/\\\"'\n\té€😀中"
    return "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(n)))


def _random_tree(rnd, depth=0):
    r = rnd.random()
    if depth > 3 or r < 0.3:
        return rnd.choice([_filler_text(rnd), rnd.randrange(1000), None, True, 1.5])
    if r < 0.65:
        return {rnd.choice(_WORDS) + str(i): _random_tree(rnd, depth + 1) for i in range(rnd.randrange(4))}
    return [_random_tree(rnd, depth + 1) for _ in range(rnd.randrange(4))]


def _key_value(rnd):
    pre = rnd.choice(["", "token ", "Bearer ", "GITHUB_TOKEN=", "é ", "x\n", '"', "/"])
    post = rnd.choice(["", " ", "\n", '"', "/", ". é", "\\"])
    return Marked(pre + KEY + post, len(pre))


def _insert(tree, leaf, rnd):
    """Put ``leaf`` somewhere inside ``tree`` (returns the new tree)."""
    if isinstance(tree, dict) and (not tree or rnd.random() < 0.5):
        tree = dict(tree)
        tree[rnd.choice(_WORDS) + "_k"] = leaf
        return tree
    if isinstance(tree, list) and (not tree or rnd.random() < 0.5):
        tree = list(tree)
        tree.insert(rnd.randrange(len(tree) + 1), leaf)
        return tree
    if isinstance(tree, dict):
        k = rnd.choice(list(tree))
        tree = dict(tree)
        tree[k] = _insert(tree[k], leaf, rnd)
        return tree
    if isinstance(tree, list):
        i = rnd.randrange(len(tree))
        tree = list(tree)
        tree[i] = _insert(tree[i], leaf, rnd)
        return tree
    return {"wrapped": tree, "secret": leaf}


def _json_doc(rnd, nest=None):
    """(raw text, raw offset where the key's representation starts)."""
    nest = rnd.randrange(3) if nest is None else nest
    leaf = _key_value(rnd)
    escape = rnd.choice([0.0, 0.0, 0.3, 1.0])
    for _ in range(nest):  # JSON inside a JSON string
        w = Writer(rnd, rnd.choice([None, 2]), escape)
        w.value(_insert(_random_tree(rnd), leaf, rnd))
        leaf = Marked(w.text(), w.mark_at)
        escape = 0.0
    w = Writer(rnd, rnd.choice([None, None, 1, 2, 4]), escape)
    w.value(_insert(_random_tree(rnd), leaf, rnd))
    assert w.mark_at is not None
    return w.text(), w.mark_at


def _notebook(rnd):
    cells = []
    target = rnd.randrange(4)
    target_kind = rnd.choice(["source", "stream", "data", "error"])
    marked = None
    for ci in range(4):
        kind = rnd.choice(["code", "markdown", "raw"])
        lines = [_filler_text(rnd) + "\n" for _ in range(rnd.randrange(4))]
        cell = {"cell_type": kind, "metadata": {}, "source": None}
        outputs = []
        if ci == target:
            kind = cell["cell_type"] = "code"
            text = f"{_filler_text(rnd)}token = '{KEY}'\n{_filler_text(rnd)}"
            start = text.index(KEY)
            # split at random points (possibly inside the key)
            cuts = sorted(rnd.sample(range(1, len(text)), rnd.randrange(0, 4)))
            pieces = [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]
            marked_pieces = []
            pos = 0
            for p in pieces:
                if pos <= start < pos + len(p):
                    marked = Marked(p, start - pos)
                    marked_pieces.append(marked)
                else:
                    marked_pieces.append(p)
                pos += len(p)
            if target_kind == "source":
                lines = marked_pieces
            elif target_kind == "stream":
                outputs.append({"name": "stdout", "output_type": "stream", "text": marked_pieces})
            elif target_kind == "data":
                outputs.append({"data": {"text/plain": marked_pieces}, "execution_count": 1,
                                "metadata": {}, "output_type": "execute_result"})
            else:  # traceback entries are separate frames: the key stays in one
                marked = Marked(text, start)
                outputs.append({"ename": "ValueError", "evalue": "bad", "output_type": "error",
                                "traceback": ["\x1b[0;31mValueError\x1b[0m", marked]})
        cell["source"] = lines if rnd.random() < 0.8 or len(lines) != 1 else lines[0]
        if kind == "code":
            cell["execution_count"] = None
            for _ in range(rnd.randrange(2)):
                outputs.insert(0, {"name": "stdout", "output_type": "stream", "text": [_filler_text(rnd)]})
            cell["outputs"] = outputs
        cells.append(cell)
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    w = Writer(rnd, rnd.choice([1, 1, 2, None]), 0.0)
    w.value(nb)
    assert w.mark_at is not None
    return w.text(), w.mark_at


_ANSI = ["\x1b[0m", "\x1b[31m", "\x1b[1;32m", "\x1b[0K", "\x1b]8;;https://x\x07", "\x1b(B"]


def _cilog(rnd):
    style = rnd.choice(["github", "gitlab", "plain"])
    out = []
    size = 0
    mark = None
    target = rnd.randrange(6)

    def prefix():
        if style == "github":
            return f"2024-05-{rnd.randrange(10, 29)}T14:30:{rnd.randrange(10, 59)}.{rnd.randrange(10**6, 10**7)}Z "
        if style == "gitlab":
            return f"2024-05-30T14:30:{rnd.randrange(10, 59)}.{rnd.randrange(10**5, 10**6)}Z 00{rnd.choice('OE')} "
        return ""

    for i in range(6):
        line = prefix()
        if style == "github" and rnd.random() < 0.3:
            line += rnd.choice(["##[group]Run ./deploy.sh", "##[endgroup]", "##[command]echo hi", "##[debug]x"])
        elif style == "gitlab" and rnd.random() < 0.3:
            line += f"section_start:{rnd.randrange(10**9, 10**10)}:step_script\r\x1b[0K" + rnd.choice(["", "\x1b[32;1m"])
        if rnd.random() < 0.5:
            line += rnd.choice(_ANSI)
        line += _filler_text(rnd).replace("\n", " ").replace("\r", " ")
        if i == target:
            line += " export GITHUB_TOKEN="
            if rnd.random() < 0.3:
                line += rnd.choice(_ANSI)
            mark = size + len(line)
            parts = list(KEY)  # key characters, colour codes may go between them
            if rnd.random() < 0.6:  # colour codes inside the key
                for _ in range(rnd.randrange(1, 4)):
                    j = rnd.randrange(1, len(parts))
                    parts.insert(j, rnd.choice(_ANSI))
            if style == "gitlab" and rnd.random() < 0.4:  # the runner splits a long record
                parts.insert(rnd.randrange(1, len(parts)), "\n2024-05-30T14:30:00.123456Z 00O+")
            key = "".join(parts)
            line += key + rnd.choice(["", " ", "\x1b[0m", "\r"])
        out.append(line + "\n")
        size += len(line) + 1
    return "".join(out), mark


def _encoded(rnd):
    """A base64- or URL-encoded key in a config-like text."""
    head = "".join(f"{_filler_text(rnd).replace(chr(10), ' ')}\n" for _ in range(rnd.randrange(3)))
    kind = rnd.choice(["b64", "b64", "url"])
    if kind == "b64":
        inner = rnd.choice(["", "token=", "user:", "x-access-token:", "é "]) + KEY + rnd.choice(["", "\n", " ok"])
        blob = base64.b64encode(inner.encode()).decode()
        if rnd.random() < 0.3:
            blob = blob.replace("+", "-").replace("/", "_").rstrip("=")
        before = rnd.choice(["auth: ", '"auth": "', "_auth=", "Authorization: Basic ", "value = ", "data: é "])
        after = rnd.choice(["", '"', " # b64", "\n"])
    else:
        chosen = {i for i in range(len(KEY)) if rnd.random() < 0.3} or {0}
        blob = "".join(quote(c, safe="") if i not in chosen else f"%{ord(c):02X}" for i, c in enumerate(KEY))
        before = rnd.choice(["url: https://example.com/cb?token=", "see https://x.test/a?t=", "q="])
        after = rnd.choice(["", "&x=1", " ok", "\n"])
    mark = len(head) + len(before)
    text = head + before + blob + after + "\n" + _filler_text(rnd).replace("\n", " ")
    return text, mark


def _stream(rnd):
    """SSE chat-completion chunks with KEY cut at random points across events;
    (text, raw offset of the key's first character)."""
    cuts = sorted(rnd.sample(range(1, len(KEY)), rnd.randrange(1, 5)))
    pieces = [f"{_filler_text(rnd)} token "] + [KEY[a:b] for a, b in zip([0] + cuts, cuts + [len(KEY)])] \
        + [f" {_filler_text(rnd)}"]
    sep = rnd.choice([",", ", "])
    text, mark = "", -1
    for i, p in enumerate(pieces):
        line = "data: " + json.dumps({"id": "chatcmpl-x", "choices": [{"index": 0, "delta": {"content": p}}]},
                                     separators=(sep, ":"))
        if i == 1:  # the key's first piece
            mark = len(text) + line.index('"content":"') + len('"content":"')
        text += line + "\n\n"
        if rnd.random() < 0.3:  # an unrelated event in between
            text += 'data: {"id":"chatcmpl-x","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'
    return text + "data: [DONE]\n\n", mark


def _line_col(text, offset):
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _assert_found_at(engine, path, text, mark, kind):
    raw = text.encode("utf-8")
    findings = scan_bytes(engine, path, raw)
    doc = read_document(path, raw)
    for f in findings:
        assert 1 <= f.start_line <= f.end_line <= doc.line_count, (kind, f)
    hits = [f for f in findings if f.rule_id == RULE and f.secret == KEY]
    assert hits, (kind, "key not found", text)
    expected = _line_col(text, mark)
    got = sorted((f.start_line, f.start_column) for f in hits)
    assert expected in got, (kind, "wrong position", expected, got, text)
    assert len(hits) == 1, (kind, "reported more than once", got)
    CASES[f"position {kind}"] += 1


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), nest=st.integers(0, 2),
       path=st.sampled_from(["trace.json", "events.jsonl", "capture.har", "x.json", "settings.jsonc"]))
def test_key_in_generated_json_is_reported_at_its_raw_position(engine, seed, nest, path):
    rnd = random.Random(seed)
    text, mark = _json_doc(rnd, nest)
    if path.endswith((".jsonl",)):
        text = text.replace("\n", " ")  # one event per line
    _assert_found_at(engine, path, text, mark, "json")


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1))
def test_key_in_generated_notebook_is_reported_at_its_raw_position(engine, seed):
    text, mark = _notebook(random.Random(seed))
    _assert_found_at(engine, "analysis.ipynb", text, mark, "notebook")


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1))
def test_notebook_native_parser_text_equals_the_tokenizer_text(seed):
    from keyscan.decoders.notebook import _build, _parse, _parse_fast

    text, _ = _notebook(random.Random(seed))
    fast = _parse_fast(text)
    assert fast is not None
    assert _build(fast, text_only=True).text() == _build(_parse(text)).fragment().text
    CASES["notebook parsers agree"] += 1


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1))
def test_key_split_across_stream_deltas_is_reported_where_it_starts(engine, seed):
    text, mark = _stream(random.Random(seed))
    _assert_found_at(engine, "capture.txt", text, mark, "stream")


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), path=st.sampled_from(["job.log", "logs/build/2_deploy.txt", "ci-output.txt"]))
def test_key_in_generated_ci_log_is_reported_at_its_raw_position(engine, seed, path):
    text, mark = _cilog(random.Random(seed))
    if path == "ci-output.txt" and not text.startswith("2024") and "\x1b[" not in text[:4096] \
            and "section_start:" not in text[:4096]:
        path = "job.log"  # a plain text file is not sniffed as a log
    _assert_found_at(engine, path, text, mark, "cilog")


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), path=st.sampled_from(["values.yaml", "notes.txt", ".npmrc", "app.env"]))
def test_key_in_encoded_value_is_reported_at_the_blob(engine, seed, path):
    text, mark = _encoded(random.Random(seed))
    _assert_found_at(engine, path, text, mark, "encoded")


@FUZZ
@given(path=st.sampled_from(["a.json", "n.ipynb", "job.log", "x.txt", ".mcp.json", "v.yaml", "e.jsonl"]),
       raw=st.one_of(st.binary(max_size=600),
                     st.lists(st.one_of(st.sampled_from(_SYNTAX + [KEY, "token=" + KEY, "\n" + KEY + "\n"]),
                                        st.text(max_size=6)), max_size=50).map(
                         lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
                     syntax_text.map(lambda t: (t + KEY).encode("utf-16"))))
def test_no_finding_outside_the_file(engine, path, raw):
    doc = read_document(path, raw)
    for f in scan_bytes(engine, path, raw):
        assert 1 <= f.start_line <= f.end_line <= doc.line_count, (f.start_line, f.end_line, doc.line_count)
        assert f.start_column >= 1 and f.end_column >= 1
        if f.start_line == f.end_line:
            assert f.start_column < f.end_column
    CASES["findings inside the file"] += 1


def test_zz_fuzz_case_count(request):
    """Runs last: report how many generated cases ran."""
    total = sum(CASES.values())
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    line = f"fuzz cases run: {total} (" + ", ".join(f"{k}: {v}" for k, v in sorted(CASES.items())) + ")"
    if reporter is not None:
        reporter.write_line("\n" + line)
    print(line)
    if len(CASES) >= 8:  # the whole file ran (not a -k selection)
        assert total >= 500
