"""Notebooks (.ipynb, nbformat 4): exact findings for every fixture in
fixtures/notebooks (labels.yml), decoys give nothing, split keys are one finding
at the line where they start, images are never decoded."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
import yaml

from keyscan.api import scan_bytes
from keyscan.decoders.notebook import DECODER as NOTEBOOK
from keyscan.detect.checks import base62
from keyscan.documents import read_document

from labelled import assert_decoys_quiet, assert_exact, assert_planted_rules_exist

ROOT = Path(__file__).resolve().parent.parent
CARRIER = ROOT / "fixtures" / "notebooks"
LABELS = yaml.safe_load((CARRIER / "labels.yml").read_text())["labels"]
FILES = sorted({e["file"] for e in LABELS})

BODY = "u8jzPde0IgxLd6GncfBAepfJBd0Kh8"
GHP = "ghp_" + BODY + base62(zlib.crc32(BODY.encode()))


def nbdump(nb: dict) -> str:
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def nb(*cells) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def code(source, outputs=()):
    return {"cell_type": "code", "execution_count": 1, "id": "a1b2c3d4", "metadata": {},
            "outputs": list(outputs), "source": source}




@pytest.mark.parametrize("rel", FILES)
def test_fixture_findings_are_exact(engine, rel):
    assert_exact(engine, CARRIER, LABELS, rel)


@pytest.mark.parametrize("rel", FILES)
def test_decoys_give_nothing(engine, rel):
    assert_decoys_quiet(engine, CARRIER, LABELS, rel)


def test_every_planted_rule_exists(engine):
    assert_planted_rules_exist(engine, LABELS)


def test_fixtures_are_written_as_nbformat_writes_them():
    for rel in FILES:
        text = (CARRIER / rel).read_text(encoding="utf-8")
        assert nbdump(json.loads(text)) == text, rel


def test_key_split_over_two_source_lines_is_one_finding_at_the_first(engine):
    text = nbdump(nb(code(["token = \"" + GHP[:17], GHP[17:] + "\"\n", "print(1)\n"])))
    found = scan_bytes(engine, "split.ipynb", text.encode())
    first = text.index(GHP[:17])
    line = text.count("\n", 0, first) + 1
    col = first - text.rfind("\n", 0, first)
    assert [(f.rule_id, f.start_line, f.start_column, f.end_line, f.location) for f in found] == [
        ("github-pat-classic", line, col, line + 1, "cell 1 (code)")]


def test_pem_split_over_source_lines_is_one_finding(engine):
    body = ["MIIEowIBAAKCAQEAw1Zq8Lp3Vx2Rk9Tn4Hd6Fg0Jc7Bm5Ys1Qa8We2Ut4Io6Pl9Kj3\n"] * 6
    src = ["key = \"\"\"-----BEGIN RSA PRIVATE KEY-----\n", *body, "-----END RSA PRIVATE KEY-----\"\"\"\n"]
    text = nbdump(nb(code(src)))
    found = [f for f in scan_bytes(engine, "pem.ipynb", text.encode())]
    line = text.count("\n", 0, text.index("-----BEGIN")) + 1
    assert [(f.rule_id, f.start_line) for f in found] == [("private-key-pem", line)]


def _fragment_text(text: str) -> str:
    frags = list(NOTEBOOK.fragments(read_document("n.ipynb", text.encode())))
    assert len(frags) <= 1
    return frags[0].text if frags else ""


def test_images_and_attachments_are_not_decoded():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    cell = code("show()\n", [{"data": {"image/png": png, "text/plain": ["<Figure>"]},
                              "metadata": {}, "output_type": "display_data"}])
    md = {"attachments": {"a.png": {"image/png": png}}, "cell_type": "markdown", "id": "m1",
          "metadata": {}, "source": ["![a](attachment:a.png)"]}
    frag = _fragment_text(nbdump(nb(cell, md)))
    assert png not in frag
    assert "<Figure>" in frag and "show()" in frag and "![a](attachment:a.png)" in frag


def test_traceback_ansi_is_stripped_and_maps_exactly(engine):
    tb = ["\x1b[0;31mValueError\x1b[0m Traceback",
          "\x1b[1;32m----> 1\x1b[0m k \x1b[38;5;241m=\x1b[39m \x1b[38;5;124m\"\x1b[39m\x1b[38;5;124m" + GHP + "\x1b[39m"]
    out = {"ename": "ValueError", "evalue": "bad", "output_type": "error", "traceback": tb}
    text = nbdump(nb(code("k = 1\n", [out])))
    frag = _fragment_text(text)
    assert "\x1b" not in frag and '----> 1 k = "' + GHP in frag
    found = scan_bytes(engine, "tb.ipynb", text.encode())
    pos = text.index("m" + GHP) + 1
    assert [(f.start_line, f.start_column, f.location) for f in found] == [
        (text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos), "cell 1 (code), output 1")]


@pytest.mark.parametrize("magic,expected", [
    ("%env OPENAI_API_KEY sk-abc123def456\n", "OPENAI_API_KEY=sk-abc123def456"),
    ("%set_env HF_TOKEN hf_abc123\n", "HF_TOKEN=hf_abc123"),
    ("x = 1\n  %env  MY_SECRET  v4lue-with-dash  \n", "MY_SECRET=v4lue-with-dash"),
])
def test_env_magics_emit_an_assignment(magic, expected):
    text = nbdump(nb(code(magic.splitlines(keepends=True))))
    frags = list(NOTEBOOK.fragments(read_document("m.ipynb", text.encode())))
    frag = frags[0]
    i = frag.text.index(expected)
    doc_text = text
    name, value = expected.split("=", 1)
    # the name maps to the raw name, the value to the raw value
    assert doc_text[frag.to_doc(i):].startswith(name)
    assert doc_text[frag.to_doc(i + len(name) + 1):].startswith(value)


def test_source_as_a_single_string(engine):
    text = nbdump(nb(code(f"import os\nos.environ['GITHUB_TOKEN'] = '{GHP}'\n")))
    found = scan_bytes(engine, "s.ipynb", text.encode())
    assert [(f.rule_id, f.location) for f in found] == [("github-pat-classic", "cell 1 (code)")]


def test_non_nbformat_layout_and_escapes(engine):
    # minified, ensure_ascii, escaped slashes: still the right line and column
    cell = code(["x = \"caf\u00e9\"\n", f"t = \"{GHP}\"\n"])
    text = json.dumps(nb(cell), ensure_ascii=True).replace("/", "\\/")
    found = scan_bytes(engine, "min.ipynb", text.encode())
    assert [(f.start_line, f.start_column, f.location) for f in found] == [
        (1, text.index(GHP) + 1, "cell 1 (code)")]


@pytest.mark.parametrize("data", [
    b"", b"{", b'{"cells": [', b'{"cells": [{"source": ["abc', b'{"cells": 3}', b"[1,2,3]",
    b'{"cells": [{"cell_type": "code", "source": "x\\u12"}]}', b"\xff\xfe\x00",
    b'{"cells": [{"outputs": [{"traceback": ["\\u001b[", "\\u001b"]}]}]}',
])
def test_malformed_input_never_raises(engine, data):
    doc = read_document("bad.ipynb", data)
    list(NOTEBOOK.fragments(doc))
    NOTEBOOK.locate(doc, 0)
    scan_bytes(engine, "bad.ipynb", data)


def _fast_and_exact(text: str):
    from keyscan.decoders.notebook import _build, _parse, _parse_fast

    fast = _parse_fast(text)
    return (_build(fast, text_only=True).text() if fast is not None else None), _build(_parse(text)).fragment()


@pytest.mark.parametrize("rel", FILES)
def test_native_parser_text_equals_the_exact_tokenizer_text(rel):
    """The fragment text comes from json.loads; its offset map, built only when a
    finding needs it, from the tokenizer: the two must produce the same text."""
    fast, exact = _fast_and_exact((CARRIER / rel).read_text(encoding="utf-8"))
    assert fast is not None and exact is not None and fast == exact.text


@pytest.mark.parametrize("text", [
    '{"cells": [{"cell_type": "code", "source": "a", "source": "b"}]}',  # duplicate key
    '{"cells": [{"cell_type": "code", "source": ["a",]}]}',              # trailing comma
    '{"cells": []}\n{"cells": []}',                                     # two documents
])
def test_native_parser_declines_what_only_the_tokenizer_reads(text):
    from keyscan.decoders.notebook import _parse_fast

    assert _parse_fast(text) is None
