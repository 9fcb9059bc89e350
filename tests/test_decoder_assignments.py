"""The assignments decoder (env calls with literal defaults, k8s/compose env
lists): exact NAME=value lines, and the same matches whether a pattern runs
over the whole text or only where the raw scan located its literal."""

from __future__ import annotations

import random
from pathlib import Path


from keyscan.api import scan_bytes
from keyscan.decoders import assignments as A
from keyscan.documents import read_document

ROOT = Path(__file__).resolve().parent.parent




def _ends(text: str, word: bytes) -> list[int]:
    data, out = text.encode(), []
    pos = data.find(word)
    while pos != -1:
        out.append(pos + len(word))
        pos = data.find(word, pos + 1)
    return out


def _spans(matches):
    return [(m.span("name"), m.span("value")) for m in matches]


def _check_same(text: str) -> int:
    """Located matching gives exactly finditer's matches; returns how many."""
    n = 0
    for word, pattern in [*A._CALLS.items(), (A._PROCESS_ENV, A._PATTERNS[0])]:
        want = _spans(pattern.finditer(text))
        got = _spans(A._matches_at(pattern, text, [e - len(word) for e in _ends(text, word)]))
        assert got == want, (word, text[:200])
        n += len(want)
    want = _spans(A._PATTERNS[1].finditer(text))
    assert _spans(A._yaml_matches(A._PATTERNS[1], text, _ends(text, A._YAML_VALUE))) == want, text[:200]
    return n + len(want)


def test_located_matching_equals_whole_text_search_on_examples():
    text = (
        'name: A_TOKEN\nvalue: "abcdef123456"\n'            # a pair
        "value: first-line-has-no-name\n"                   # value: on a line with no name: before
        "- name: B_KEY\n  value: b0b0b0b0b0  # comment\n"   # indented, with a comment
        "name: C\nvalue: x\n"                                # value too short
        "name: D_SECRET\nvalue: value: nested-value\n"       # two value: on one line
        'os.getenv("E_KEY", "e1e1e1e1e1") getenv(getenv("F_KEY", "f2f2f2f2f2")\n'
        "process.env.G_TOKEN ?? 'g3g3g3g3g3'\n"
    )
    assert _check_same(text) == 6
    (frag,) = A.DECODER.fragments(read_document("env.yaml", text.encode()))
    assert sorted(frag.text.splitlines()) == [
        "A_TOKEN=abcdef123456", "B_KEY=b0b0b0b0b0", "D_SECRET=value: nested-value",
        "E_KEY=e1e1e1e1e1", "F_KEY=f2f2f2f2f2", "G_TOKEN=g3g3g3g3g3",
    ]


def test_located_matching_equals_whole_text_search_on_random_text():
    rng = random.Random(11)
    pieces = ["name: ", "value: ", "\n", "  ", "A_KEY", "abcdefgh12", '"', "'", "# c", "getenv(",
              "process.env.", "X_TOKEN ?? ", ", ", '"N_KEY"', "\r\n", "-"]
    for _ in range(3000):
        _check_same("".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))))


def test_located_matching_equals_whole_text_search_on_fixtures():
    count = 0
    for path in sorted((ROOT / "fixtures").rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            if text.isascii():
                count += _check_same(text)
    assert count > 5


def test_findings_through_the_pipeline(engine):
    key = "7uQYQo1hSnDbPbbLrAUtKiD1XkUq0g4XwGqSpu3y"
    manifest = f"env:\n  - name: COHERE_API_KEY\n    value: {key}\n".encode()
    (f,) = scan_bytes(engine, "deploy.yaml", manifest)
    assert (f.rule_id, f.secret, f.start_line, f.start_column) == ("cohere-api-key", key, 3, 12)
    # A non-ASCII document takes the whole-text path: same finding, same column.
    (g,) = scan_bytes(engine, "deploy.yaml", "# déploiement\n".encode() + manifest)
    assert (g.rule_id, g.start_line, g.start_column) == ("cohere-api-key", 4, 12)
