"""The JSON tokenizer (keyscan.decoders.jsonscan) and the JSON/JSONL decoder.

Pipeline tests assert exact (line, column, rule, location) through the real
engine; fake keys are built by a seeded generator (right prefix, length,
alphabet and GitHub CRC32), never real.
"""

from __future__ import annotations

import json
import random
import string
import zlib
from pathlib import Path

import pytest

from keyscan.api import scan_bytes
from keyscan.decoders.json_decoder import JSON_DECODER, JsonDecoder
from keyscan.decoders.jsonscan import (
    OffsetMap,
    iter_strings,
    looks_like_json,
    path_str,
    scan_literals,
)
from keyscan.documents import read_document

# --------------------------------------------------------------------------
# fake keys

_R = random.Random(4242)
_ALNUM = string.ascii_letters + string.digits
_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _b62(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n, 62)
        out = _B62[rem] + out
    return out.rjust(6, "0")


def _ghp() -> str:
    body = "".join(_R.choice(_ALNUM) for _ in range(30))
    return "ghp_" + body + _b62(zlib.crc32(body.encode()))


def _proj() -> str:
    a = "".join(_R.choice(_ALNUM + "_-") for _ in range(74))
    b = "".join(_R.choice(_ALNUM + "_-") for _ in range(74))
    return "sk-proj-" + a + "T3BlbkFJ" + b


GHP = _ghp()
GHP2 = _ghp()
PROJ = _proj()


@pytest.fixture
def eng(engine):
    return engine


def need(eng, *rules):
    ids = {r.id for r in eng.rules}
    missing = [r for r in rules if r not in ids]
    if missing:
        pytest.fail(f"rule(s) missing: {missing}")


def scan(eng, name: str, text: str):
    return scan_bytes(eng, name, text.encode("utf-8"))


def pos(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the nth occurrence of needle (in characters)."""
    p = -1
    for _ in range(nth + 1):
        p = text.index(needle, p + 1)
    line = text.count("\n", 0, p) + 1
    return line, p - (text.rfind("\n", 0, p) + 1) + 1


def found(findings):
    return sorted((f.start_line, f.start_column, f.rule_id, f.location) for f in findings)


# --------------------------------------------------------------------------
# tokenizer


def test_paths_keys_and_values():
    text = ('{"mcpServers": {"github": {"env": {"GITHUB_TOKEN": "x"}}},'
            ' "messages": [{"content": "a"}, {"content": "b"}, {"role": "tool", "content": "c"}],'
            ' "cells": [0, 1, {"source": ["l0", "l1", "l2", "l3", "l4"]}]}')
    vals = {path_str(s.path): s.value for s in iter_strings(text) if not s.is_key}
    assert vals["mcpServers.github.env.GITHUB_TOKEN"] == "x"
    assert vals["messages[2].content"] == "c"
    assert vals["cells[2].source[4]"] == "l4"
    keys = [s for s in iter_strings(text) if s.is_key]
    assert keys[0].value == "mcpServers" and keys[0].path == ("mcpServers",)
    tok = next(s for s in iter_strings(text) if s.value == "x")
    assert tok.key is not None and tok.key.value == "GITHUB_TOKEN"
    assert text[tok.raw_start:tok.raw_end] == "x"


def test_path_str_quotes_odd_keys():
    assert path_str(("data", "text/plain", 0)) == 'data["text/plain"][0]'
    assert path_str((1, "content")) == "[1].content"
    assert path_str(("a.b", "c-d")) == '["a.b"].c-d'
    assert path_str(()) == ""


def test_escapes_map_exactly():
    raw = r'{"k": "a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude80Z"}'
    s = [x for x in iter_strings(raw) if not x.is_key][0]
    assert s.value == 'a"b\\c/d\b\f\n\r\t\u00e9\U0001F680Z'
    assert s.has_escapes
    # decoded index -> raw offset
    content = raw[s.raw_start:s.raw_end]
    expected = []
    i = 0
    while i < len(content):
        expected.append(s.raw_start + i)
        if content[i] == "\\":
            if content[i + 1] == "u":
                i += 12 if content[i + 2:i + 4].lower() == "d8" else 6
            else:
                i += 2
        else:
            i += 1
    assert [s.to_raw(k) for k in range(len(s.value))] == expected
    assert s.to_raw(len(s.value)) == s.raw_end
    seg = s.segments(100, "loc")[0]
    assert seg.length == len(s.value) and seg.location == "loc"
    assert [seg.to_doc(100 + k) for k in range(len(s.value))] == expected


def test_strings_without_backslash_need_no_steps():
    s = [x for x in iter_strings('{"a": "plain value"}') if not x.is_key][0]
    assert not s.has_escapes
    assert s.offset_map().steps == [(0, s.raw_start)]
    assert s.segments(0)[0].steps == ()


def test_jsonc_comments_and_trailing_commas():
    text = ('// top comment "not a string"\n{\n  /* block "x": "y" */\n  "a": [1, 2, "three",],\n'
            '  "b": {"c": "d",}, // tail\n  "e": "f"\n}\n')
    vals = {path_str(s.path): s.value for s in iter_strings(text) if not s.is_key}
    assert vals == {"a[2]": "three", "b.c": "d", "e": "f"}


def test_jsonl_documents_restart_paths():
    text = '{"a": "1"}\n{"b": ["2"]}\n["3"]\n"4"\n'
    got = [(s.doc_index, path_str(s.path), s.value) for s in iter_strings(text) if not s.is_key]
    assert got == [(0, "a", "1"), (1, "b[0]", "2"), (2, "[0]", "3"), (3, "", "4")]


def test_broken_input_resyncs_at_next_line():
    text = ('{"messages": [{"content": "trunc\n'
            '{"messages": [{"role": "user"}]]]}\n'
            '{"messages": [{"content": "ok"}]}\n'
            '{"x": [{"y": 1}\n'
            '{"z": "after"}\n')
    vals = [(path_str(s.path), s.value) for s in iter_strings(text) if not s.is_key]
    assert ("messages[0].content", "ok") in vals
    assert ("z", "after") in vals


def test_never_raises_on_prefixes_and_garbage():
    doc = json.dumps({"a": ["x\\\"y", {"b": "\u00e9\ud83d\ude80"}], "c": "{\"d\": [1, \"e\\n\"]}"},
                     ensure_ascii=True)
    for i in range(len(doc) + 1):
        list(iter_strings(doc[:i]))
        d = read_document("x.json", doc[:i].encode("utf-8", "surrogatepass"))
        list(JsonDecoder().fragments(d))
        JsonDecoder().locate(d, i // 2)
    rnd = random.Random(7)
    alphabet = '{}[],:"\\/*\n ab1u'
    for _ in range(300):
        junk = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 80)))
        list(iter_strings(junk))
        d = read_document("x.json", junk.encode())
        list(JsonDecoder().fragments(d))


def test_looks_like_json():
    assert looks_like_json('  {"a": 1}') and looks_like_json("\n[1]")
    assert not looks_like_json("Bearer {x}") and not looks_like_json("")


def test_offset_map_compose():
    # inner text offsets -> outer decoded offsets -> raw
    inner = OffsetMap([(0, 10), (3, 15), (5, 23)])
    outer = OffsetMap([(0, 100), (12, 120), (16, 130)])
    comp = inner.compose(outer)
    for i in range(12):
        assert comp(i) == outer(inner(i)), i


def _random_doc(rnd, depth):
    alphabet = list("abcXYZ019 _-/\\\"'\n\t&<>é☃😀\u0001")

    def rs():
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 10)))

    def rv(d):
        x = rnd.random()
        if d and x < 0.25:
            return json.dumps(_random_doc(rnd, d - 1), ensure_ascii=rnd.random() < 0.5)
        if d and x < 0.45:
            return _random_doc(rnd, d - 1)
        return rnd.randint(0, 9) if x < 0.5 else rs()

    if rnd.random() < 0.5:
        return {rs(): rv(depth) for _ in range(rnd.randint(0, 4))}
    return [rv(depth) for _ in range(rnd.randint(0, 4))]


def test_fragment_maps_are_exact_fuzz():
    rnd = random.Random(11)
    checked = 0
    for _ in range(150):
        raw = json.dumps(_random_doc(rnd, 3), ensure_ascii=rnd.random() < 0.5,
                         indent=rnd.choice([None, 1]))
        if rnd.random() < 0.5:
            raw = raw.replace("/", "\\/")
        d = read_document("x.json", raw.encode("utf-8", "surrogatepass"))
        for s in iter_strings(d.text):
            assert s.value == json.loads('"' + s.raw + '"')
        for frag in JSON_DECODER.fragments(d):
            for seg in frag._built():
                last = -1
                for i in range(seg.frag_start, seg.frag_start + seg.length):
                    p = seg.to_doc(i)
                    assert d.text[p] in (frag.text[i], "\\")
                    assert p > last
                    last = p
                    checked += 1
    assert checked > 1000


# --------------------------------------------------------------------------
# decoder: wants / fragments / locate


@pytest.mark.parametrize("name,data,want", [
    ("a.json", b"not json at all", True),
    ("a.jsonl", b"", True),
    ("a.ndjson", b"{}", True),
    ("settings.jsonc", b"// c\n{}", True),
    ("capture.har", b"{}", True),
    ("nb.ipynb", b'{"cells": []}', False),
    ("dump.txt", b'\xef\xbb\xbf  \n {"a": 1}', True),
    ("noext", b"[1, 2]", True),
    ("stream.log", b'data: {"id": "x"}\n\ndata: [DONE]\n', True),
    ("notes.txt", b"hello {world}", False),
    ("app.py", b"import json\n", False),
])
def test_wants(name, data, want):
    assert JSON_DECODER.wants(read_document(name, data)) is want


def test_key_value_context_lines_map_to_both_literals():
    text = '{"env": {"OPENAI_API_KEY": "line1\\n' + PROJ + '"}}'
    d = read_document("c.json", text.encode())
    (frag,) = JSON_DECODER.fragments(d)
    assert frag.text.startswith("OPENAI_API_KEY: line1\n" + PROJ)
    assert text[frag.to_doc(0):frag.to_doc(0) + 14] == "OPENAI_API_KEY"
    k = frag.text.index(PROJ)
    assert text[frag.to_doc(k):frag.to_doc_end(k + len(PROJ))] == PROJ
    assert frag.location_at(k) == "env.OPENAI_API_KEY"


def test_pairs_and_split_flags_get_context():
    text = json.dumps({"headers": [{"name": "x-api-key", "value": "v1"}],
                       "attributes": [{"key": "http.request.header.authorization",
                                       "value": {"stringValue": "Bearer v2"}}],
                       "args": ["-y", "server", "--api-key", "v3"]})
    d = read_document("c.json", text.encode())
    (frag,) = JSON_DECODER.fragments(d)
    lines = frag.text.splitlines()
    assert "x-api-key: v1" in lines
    assert "http.request.header.authorization: Bearer v2" in lines
    assert "--api-key v3" in lines
    k = frag.text.index("v3")
    assert text[frag.to_doc(k):frag.to_doc(k) + 2] == "v3"


def test_no_fragment_for_plain_json():
    d = read_document("c.json", json.dumps({"a": "b", "c": [1, 2]}).encode())
    assert list(JSON_DECODER.fragments(d)) == []


def test_locate_paths():
    text = json.dumps({"mcpServers": {"github": {"command": "npx",
                                                 "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": GHP}}}}, indent=2)
    d = read_document("claude_desktop_config.json", text.encode())
    dec = JsonDecoder()
    assert dec.locate(d, text.index(GHP) + 3) == "mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN"
    assert dec.locate(d, text.index('"npx"')) is None  # the quote itself is outside the content
    assert dec.locate(d, 0) is None


# --------------------------------------------------------------------------
# pipeline: exact positions


def test_escapes_before_key_on_same_line_column(eng):
    """\\u0026, \\/, \\u00e9 and a surrogate pair before a key that only the decoded
    text reveals (it follows a \\n escape): the column is the on-disk one."""
    need(eng, "github-pat-classic")
    doc = {"log": [{"msg": "see <https://x.example/a?b=1&c=2> caf\u00e9 \U0001F680 token:\n" + GHP}]}
    text = json.dumps(doc, ensure_ascii=True).replace("&", "\\u0026").replace("/", "\\/")
    assert "\\u0026" in text and "\\/" in text and "\\ud83d" in text
    got = found(scan(eng, "log.json", text))
    assert got == [(1, pos(text, GHP)[1], "github-pat-classic", "log[0].msg")]


def test_non_ascii_before_key_counts_characters(eng):
    need(eng, "github-pat-classic")
    text = json.dumps({"note": "clé à café — naïve: " + GHP}, ensure_ascii=False) + "\n"
    assert found(scan(eng, "n.json", text)) == [(1, pos(text, GHP)[1], "github-pat-classic", "note")]


def test_double_escaped_tool_call_arguments(eng):
    need(eng, "github-pat-classic", "openai-project-key")
    args = json.dumps({"command": "curl -H 'Authorization: Bearer " + PROJ + "' https://api.openai.com/v1/models",
                       "note": "token:\n" + GHP})
    lines = [json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"},
                                      {"role": "assistant", "tool_calls": [
                                          {"id": "call_abc", "type": "function",
                                           "function": {"name": "sh", "arguments": args}}]}]})]
    text = "\n".join(["{}"] * 3 + lines) + "\n"
    assert "\\\\n" + GHP in text  # escaped twice on disk
    loc = "messages[2].tool_calls[0].function.arguments"
    assert found(scan(eng, "t.jsonl", text)) == sorted([
        (4, pos(text, PROJ)[1], "openai-project-key", loc),
        (4, pos(text, GHP)[1], "github-pat-classic", loc),
    ])


def test_json_in_env_value_escaped_three_levels(eng):
    """An env var holding a JSON header blob, inside an MCP config stored as a string."""
    need(eng, "github-pat-classic")
    headers = json.dumps({"Authorization": "Bearer\n" + GHP})
    mcp = json.dumps({"mcpServers": {"notion": {"env": {"OPENAPI_MCP_HEADERS": headers}}}}, indent=2)
    text = json.dumps({"data": {"mcp.json": mcp}}, indent=2) + "\n"
    assert "\\\\\\\\n" + GHP in text
    line, col = pos(text, GHP)
    assert found(scan(eng, "cm.json", text)) == [(line, col, "github-pat-classic", 'data["mcp.json"]')]


def test_minified_single_line(eng):
    need(eng, "github-pat-classic", "openai-project-key")
    msgs = [{"role": "user", "content": f"Étape {i} 🚀 <ok> & \"q\"/x"} for i in range(300)]
    msgs.append({"role": "user", "content": "keys:\n" + GHP + "\t" + PROJ})
    text = json.dumps({"model": "gpt-4o", "messages": msgs}, separators=(",", ":"))
    assert "\n" not in text
    got = found(scan(eng, "req.json", text))
    assert got == sorted([(1, pos(text, GHP)[1], "github-pat-classic", "messages[300].content"),
                          (1, pos(text, PROJ)[1], "openai-project-key", "messages[300].content")])


def test_jsonl_many_lines(eng):
    need(eng, "github-pat-classic")
    lines = [json.dumps({"i": i, "messages": [{"role": "user", "content": f"question {i}\nthanks"}]})
             for i in range(6000)]
    lines[1233] = json.dumps({"messages": [{"role": "user", "content": "token\n" + GHP}]})
    lines[5998] = json.dumps({"messages": [{"role": "user", "content": "other\n" + GHP2}]})
    text = "\n".join(lines) + "\n"
    got = found(scan(eng, "big.jsonl", text))
    assert got == [(1234, pos(text, GHP)[1], "github-pat-classic", "messages[0].content"),
                   (5999, pos(text, GHP2)[1], "github-pat-classic", "messages[0].content")]


def test_broken_json_raw_scan_still_finds(eng):
    need(eng, "github-pat-classic")
    text = ('{"messages": [{"role": "user", "content": "my token ' + GHP + ' and then the wri\n'
            '{"messages": [{"role": "user", "content": "unbalanced"}]]]}\n'
            '{"messages": [{"role": "user", "content": "next\\n' + GHP2 + '"}]}\n'
            '{"tail": ["x", {"y": "\\u00')
    got = found(scan(eng, "broken.jsonl", text))
    assert got == [(1, pos(text, GHP)[1], "github-pat-classic", None),
                   (3, pos(text, GHP2)[1], "github-pat-classic", "messages[0].content")]


def test_decoys_give_nothing(eng):
    doc = {
        "id": "chatcmpl-9x8Yq3LmN2pRsTuVwXyZaBcDeFgHi",
        "request_id": "req_5f0c1e2d3a4b5c6d7e8f9a0b1c2d3e4f",
        "tool_call_id": "call_Qw3rTy6UiOp9AsDfGhJkL0zX",
        "message_id": "msg_01XyZaBcDeFgHiJkLmNoPqRs",
        "tool_use_id": "toolu_01AbCdEfGhIjKlMnOpQrStUv",
        "trace": "3f2c1e4a-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
        "headers": {"Authorization": "Bearer sk-proj-****abcd"},
        "serialized": {"lc": 1, "type": "secret", "id": ["OPENAI_API_KEY"]},
        "kwargs": {"openai_api_key": {"lc": 1, "type": "secret", "id": ["OPENAI_API_KEY"]},
                   "api_key": "${OPENAI_API_KEY}"},
        "image": "data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" * 20,
        "escaped": json.dumps({"lc": 1, "type": "secret", "id": ["ANTHROPIC_API_KEY"]}),
    }
    for name, text in [("decoys.json", json.dumps(doc, indent=2)),
                       ("decoys.jsonl", json.dumps(doc) + "\n" + json.dumps(doc, ensure_ascii=True) + "\n")]:
        assert scan(eng, name, text) == [], name


def test_scan_literals_tuple_shape():
    lits = scan_literals('{"a": "b\\n"}')
    assert lits[0][:4] == (2, 3, ("a",), True)
    s, e, path, is_key, key_pos, doc_index, esc = lits[1]
    assert (path, is_key, key_pos, doc_index, esc) == (("a",), False, 0, 0, True)


# --------------------------------------------------------------------------
# context for generic (name + entropy) rules


def test_go_escaped_password_is_reported_whole(eng):
    """Go writes & as \\u0026: raw text cuts the password at the backslash; the
    decoded `password: value` line reports all of it, at the raw start."""
    need(eng, "generic-password-assignment")
    secret = "Xk9#mP2&vL7qRw4z"
    text = '{"level":"info","db":{"user":"app","password":"' + secret.replace("&", "\\u0026") + '"}}\n'
    got = scan(eng, "svc.log.json", text)
    assert [(f.start_line, f.start_column, f.rule_id, f.location, f.secret) for f in got] == [
        (1, text.index("Xk9") + 1, "generic-password-assignment", "db.password", secret)]


def test_php_escaped_client_secret(eng):
    need(eng, "generic-secret-assignment")
    secret = "q7Rv/Lm2+Zp9/Xw4Tk8N"
    text = '{"oauth":{"client_id":"web","client_secret":"' + secret.replace("/", "\\/") + '"}}'
    got = scan(eng, "export.json", text)
    assert [(f.start_column, f.rule_id, f.location, f.secret) for f in got] == [
        (text.index("q7Rv") + 1, "generic-secret-assignment", "oauth.client_secret", secret)]


def test_split_cli_flag_in_args_array(eng):
    need(eng, "generic-cli-secret-flag")
    text = json.dumps({"mcpServers": {"search": {"command": "npx",
                                                 "args": ["-y", "search-mcp", "--api-key", "Zq8vN3kL9pW2xR7tY4bM"]}}},
                      indent=2)
    got = scan(eng, "tools.json", text)
    line, col = pos(text, "Zq8v")
    assert [(f.start_line, f.start_column, f.rule_id, f.location) for f in got] == [
        (line, col, "generic-cli-secret-flag", "mcpServers.search.args[3]")]


def test_har_header_pair_gets_its_name(eng):
    need(eng, "generic-secret-assignment")
    text = json.dumps({"log": {"entries": [{"request": {"headers": [
        {"name": "accept", "value": "application/json"},
        {"name": "X-Api-Key", "value": "Hq4Tz8LmW2vNp7Rk9YsB3xCd"}]}}]}}, indent=2)
    got = scan(eng, "capture.har", text)
    line, col = pos(text, "Hq4Tz8")
    assert [(f.start_line, f.start_column, f.rule_id, f.location) for f in got] == [
        (line, col, "generic-secret-assignment", "log.entries[0].request.headers[1].value")]


def test_escaped_key_value_context_for_nested_env(eng):
    """An env var holding a JSON header blob: `Authorization: Bearer <token>` is
    seen by the generic bearer rule at the token's on-disk position."""
    need(eng, "generic-bearer-token")
    tok = "Nq7vXk2LmW9pRz4TbY8sHc3D"
    headers = json.dumps({"Authorization": "Bearer " + tok, "Notion-Version": "2022-06-28"})
    text = json.dumps({"mcpServers": {"notion": {"command": "npx",
                                                 "env": {"OPENAPI_MCP_HEADERS": headers}}}}, indent=2)
    got = scan(eng, "claude_desktop_config.json", text)
    line, col = pos(text, tok)
    assert [(f.start_line, f.start_column, f.rule_id, f.location) for f in got] == [
        (line, col, "generic-bearer-token", "mcpServers.notion.env.OPENAPI_MCP_HEADERS")]


def _python_steps(fn) -> int:
    """Python lines of keyscan run by ``fn()`` (a step count: independent of
    the machine's speed and load, unlike a wall-clock limit)."""
    import sys

    root = str(Path(__file__).resolve().parent.parent / "keyscan")
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if not frame.f_code.co_filename.startswith(root):
            return None
        count += 1  # the call
        return local

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(None)
    return count


def _escaped_jsonl(n: int) -> str:
    """JSONL whose strings hold JSON escaped ten levels deep (bench/hostile.py's shape)."""
    s = json.dumps({"env": {"GITHUB_TOKEN": "x" * 40}})
    for _ in range(10):
        s = json.dumps({"arguments": s})
    return "".join(s + "\n" for _ in range(n))


def _many_inner_strings(n: int) -> str:
    """One escaped string holding n escaped strings: composing each inner string's
    map with the whole outer map ahead of time is quadratic in n."""
    inner = json.dumps({f"k{i}": f"v\n{i}" for i in range(n)})
    return json.dumps({"arguments": inner}) + "\n"


_ADVERSARIAL = {
    "escaped-quotes-unterminated": lambda n: '"\\' * (10 * n),
    "backslash-newline": lambda n: '"abc\\\n' * (5 * n),
    "truncated-escaped-json": lambda n: '{"arguments": "{\\"a\\": \\"' + 'x\\", \\"b\\": \\"' * (4 * n),
    "deep-nesting": lambda n: "[" * (10 * n) + "]" * (10 * n),
    "many-quotes": lambda n: '"' * (20 * n),
    "escaped-keys": lambda n: '{"a\\n": "b\\n",' * (2 * n),
    "escaped-jsonl": lambda n: _escaped_jsonl(n // 100),
    "many-inner-strings": lambda n: _many_inner_strings(n),
    "escape-strings": lambda n: ('{"k": "' + '\\n\\t\\"\\u0041\\/\\\\' * 50 + '"}\n') * (n // 20),
    "backslash-runs": lambda n: ('{"k": "' + "\\" * 4096 + '"}\n') * (n // 200),
}


@pytest.mark.parametrize("name", sorted(_ADVERSARIAL))
def test_adversarial_input_stays_linear(name):
    """The decoder's Python work (lines run, mapping every fragment string's
    start and end included) grows linearly: 4x the input costs under 6x the
    steps (a quadratic implementation costs about 16x)."""
    def work(text):
        def run():
            d = read_document("x.json", text.encode())
            for frag in JsonDecoder().fragments(d):
                for i in range(0, len(frag.text), max(1, len(frag.text) // 2000)):
                    frag.to_doc(i)
                    frag.to_doc_end(i + 1)
            JsonDecoder().locate(d, len(text) // 2)
            list(iter_strings(text))
        return _python_steps(run)

    small, big = work(_ADVERSARIAL[name](500)), work(_ADVERSARIAL[name](2000))
    assert big < 6 * small, (name, small, big)


def test_escape_depth_cap_is_reported_as_partial(eng):
    """JSON escaped past MAX_DEPTH levels: the raw key is still found, and the
    file is reported as partially scanned (once, however many lines)."""
    from keyscan.decoders.json_decoder import MAX_DEPTH

    s = json.dumps({"env": {"GITHUB_TOKEN": GHP}})
    for _ in range(MAX_DEPTH + 1):
        s = json.dumps({"arguments": s})
    text = s + "\n" + s.replace(GHP, "x" * len(GHP)) + "\n"
    notes: list[str] = []
    got = scan_bytes(eng, "trace.jsonl", text.encode(), failures=notes)
    line, col = pos(text, GHP)
    assert [(f.start_line, f.start_column, f.rule_id) for f in got] == [(line, col, "github-pat-classic")]
    assert notes == [f"JSON escaped more than {MAX_DEPTH} levels deep: partially scanned "
                     "(deeper strings were scanned as raw text only, not decoded)"]
    # one level less: decoded all the way, nothing to report
    s2 = json.loads(json.loads(s)["arguments"])["arguments"]
    notes.clear()
    scan_bytes(eng, "trace.jsonl", (s2 + "\n").encode(), failures=notes)
    assert notes == []


def test_work_cap_is_reported_as_partial(eng, monkeypatch):
    """Past the per-document work budget decoding stops, the raw scan still
    runs, and the file is reported as partially scanned."""
    import keyscan.decoders.json_decoder as jd

    secret = "q7Rv/Lm2+Zp9/Xw4Tk8N"
    lines = ['{"oauth":{"client_id":"web","client_secret":"' + secret.replace("/", "\\/") + '"}}'] * 50
    text = "\n".join(lines) + "\n"
    notes: list[str] = []
    full = [f for f in scan_bytes(eng, "export.jsonl", text.encode(), failures=notes) if f.secret == secret]
    assert len(full) == 50 and notes == []
    monkeypatch.setattr(jd, "MAX_WORK_PER_CHAR", 0)
    monkeypatch.setattr(jd, "MAX_WORK_BASE", 20 * 40)
    d = read_document("export.jsonl", text.encode())
    frags = list(jd.JsonDecoder().fragments(d))
    assert d.failures == [jd._WORK_NOTE]
    assert 5 <= frags[0].text.count(secret) < 50
    notes.clear()
    cut = [f for f in scan_bytes(eng, "export.jsonl", text.encode(), failures=notes) if f.secret == secret]
    assert notes == [jd._WORK_NOTE] and "partially scanned" in jd._WORK_NOTE
    assert 5 <= len(cut) < 50
    assert {(f.start_line, f.start_column) for f in cut} <= {(f.start_line, f.start_column) for f in full}


# The escaped-string finder walks from backslashes; this regex (the single
# pass it replaced) is the reference: it skips text outside strings, plain
# strings and strings left open at the end of their line, and captures each
# closed string that holds an escape.
_REFERENCE = __import__("re").compile(
    r'(?:[^"]++|"[^"\\\n]*+"|"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+\\?(?=\n|\Z))*+'
    r'("[^"\\\n]*+(?:\\.[^"\\\n]*+)++")?'
)


def _reference_spans(text):
    return [m.span(1) for m in _REFERENCE.finditer(text) if m.start(1) >= 0]


def test_escaped_strings_examples():
    from keyscan.decoders.json_decoder import escaped_strings

    text = '{"a": "x\\"y", "b": "plain", "c": "\\\\"}\n\\ "k\\n" "open\\n\n"\\'
    assert list(escaped_strings(text)) == [(6, 12), (33, 37), (41, 46)]
    assert list(escaped_strings(text)) == _reference_spans(text)


def test_escaped_strings_match_reference_on_random_text():
    from keyscan.decoders.json_decoder import escaped_strings

    rng = random.Random(8)
    alphabet = ['"', '"', "\\", "\\", "\n", "a", "b", ":", " ", "{", "}", "\r", "é"]
    for _ in range(4000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert list(escaped_strings(text)) == _reference_spans(text), repr(text)


def test_escaped_strings_match_reference_on_fixtures():
    from pathlib import Path

    from keyscan.decoders.json_decoder import escaped_strings

    root = Path(__file__).resolve().parent.parent / "fixtures"
    checked = 0
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".ipynb", ".log", ".txt", ".har", ".sse"):
            text = path.read_bytes().decode("utf-8", "replace")
            assert list(escaped_strings(text)) == _reference_spans(text), path
            checked += 1
    assert checked > 20
