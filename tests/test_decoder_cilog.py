"""CI logs (GitHub Actions, GitLab, plain ANSI logs): exact findings for every
fixture in fixtures/ci-logs (labels.yml), masks and decoys give nothing, and the
cleaned view maps exactly back to the raw file."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from keyscan.api import scan_bytes
from keyscan.decoders.cilog import DECODER as CILOG
from keyscan.documents import read_document

from labelled import assert_decoys_quiet, assert_exact, assert_planted_rules_exist

ROOT = Path(__file__).resolve().parent.parent
CARRIER = ROOT / "fixtures" / "ci-logs"
LABELS = yaml.safe_load((CARRIER / "labels.yml").read_text())["labels"]
FILES = sorted({e["file"] for e in LABELS})




@pytest.mark.parametrize("rel", FILES)
def test_fixture_findings_are_exact(engine, rel):
    assert_exact(engine, CARRIER, LABELS, rel)


@pytest.mark.parametrize("rel", FILES)
def test_decoys_give_nothing(engine, rel):
    assert_decoys_quiet(engine, CARRIER, LABELS, rel)


def test_every_planted_rule_exists(engine):
    assert_planted_rules_exist(engine, LABELS)


# -- selection ---------------------------------------------------------------------

@pytest.mark.parametrize("path,data,wanted", [
    ("build/output.log", b"plain text", True),
    ("logs_41235/job-logs.txt", b"x", True),
    ("logs_41235/build/3_Run tests.txt", b"x", True),
    ("artifacts/deploy_job.txt", b"x", True),
    ("run-logs/raw.txt", b"x", True),
    ("notes.txt", b"\xef\xbb\xbf2024-05-30T14:30:00.1234567Z ##[group]Run x\n", True),
    ("trace", b"2024-05-30T14:30:00.123456Z 00O section_start:1:x\r\x1b[0K\n", True),
    ("out.txt", b"section_start:1717080000:step_script\r\x1b[0K", True),
    ("colours.txt", b"\x1b[32mok\x1b[0m\n", True),
    ("README.md", b"# Title\nplain text\n", False),
    ("nb.ipynb", b'{"cells": [], "x": "\\u001b[0m"}', False),
])
def test_wants(path, data, wanted):
    assert CILOG.wants(read_document(path, data)) is wanted


# -- cleaned view ------------------------------------------------------------------

def _cleaned(text: str, path: str = "job.log"):
    doc = read_document(path, text.encode())
    frags = [f for f in CILOG.fragments(doc) if f.depth == 1]
    return doc, frags


def test_cleaned_view_strips_ansi_and_keeps_line_prefixes():
    text = ("\ufeff2024-05-30T14:30:00.1234567Z ##[group]Run make\n"
            "2024-05-30T14:30:00.2234567Z \x1b[36;1mmake deploy\x1b[0m\n"
            "2024-05-30T14:30:00.3234567Z ##[endgroup]\n"
            "2024-05-30T14:30:00.4234567Z ##[command]/usr/bin/git version\n"
            "section_start:1717080000:step_script\r\x1b[0K\x1b[0K\x1b[36;1mExecuting\x1b[0;m\x1b]8;;https://x\x07\n")
    doc, frags = _cleaned(text)
    assert len(frags) == 1
    # no rule depends on where a line starts, so line prefixes are not removed
    assert frags[0].text == ("\ufeff2024-05-30T14:30:00.1234567Z ##[group]Run make\n"
                             "2024-05-30T14:30:00.2234567Z make deploy\n"
                             "2024-05-30T14:30:00.3234567Z ##[endgroup]\n"
                             "2024-05-30T14:30:00.4234567Z ##[command]/usr/bin/git version\n"
                             "section_start:1717080000:step_script\rExecuting\n")


def test_log_with_only_line_prefixes_needs_no_cleaned_view():
    text = ("2024-05-30T14:30:00.1234567Z ##[group]Run make\n"
            "2024-05-30T14:30:00.2234567Z make deploy\n"
            "2024-05-30T14:30:00.3234567Z ##[endgroup]\n")
    assert _cleaned(text)[1] == []


def test_cleaned_view_maps_every_character_exactly():
    rnd = random.Random(7)
    noise = ["\x1b[32;1m", "\x1b[0m", "\x1b[0K", "\x1b]8;;https://x\x07"]
    lines = []
    for i in range(200):
        words = ["".join(rnd.choice("abcXYZ019=:-") for _ in range(rnd.randint(1, 9)))
                 for _ in range(rnd.randint(1, 6))]
        body = "".join(w + rnd.choice(noise + [" ", ""]) for w in words)
        prefix = rnd.choice(["2024-05-30T14:30:00.1234567Z ", "2024-05-30T14:30:00.1234567Z ##[command]",
                             "", "section_start:1717080000:s%d\r\x1b[0K" % i])
        lines.append(prefix + body)
    text = "\n".join(lines) + "\n"
    doc, frags = _cleaned(text)
    frag = frags[0]
    assert "\x1b" not in frag.text
    for i, ch in enumerate(frag.text):
        assert doc.text[frag.to_doc(i)] == ch, i


def test_gitlab_continuation_records_are_joined():
    text = ("2024-05-30T14:30:00.000001Z 01O export A=abcdef\n"
            "2024-05-30T14:30:00.000002Z 01O+ghijkl\n"
            "2024-05-30T14:30:00.000003Z 01E done\n")
    doc, frags = _cleaned(text)
    assert frags[0].text == ("2024-05-30T14:30:00.000001Z 01O export A=abcdefghijkl\n"
                             "2024-05-30T14:30:00.000003Z 01E done\n")
    g = frags[0].text.index("ghijkl")
    assert doc.text[frags[0].to_doc(g):].startswith("ghijkl")


def test_locate_names_the_step_for_raw_hits():
    text = ("2024-05-30T14:30:00.1234567Z ##[group]Run ./deploy.sh\n"
            "2024-05-30T14:30:00.1234567Z ./deploy.sh\n"
            "2024-05-30T14:30:00.1234567Z ##[endgroup]\n"
            "2024-05-30T14:30:00.1234567Z output line\n")
    doc = read_document("job-logs.txt", text.encode())
    assert CILOG.locate(doc, text.index("output line")) == 'group "Run ./deploy.sh"'
    assert CILOG.locate(doc, 0) is None


@pytest.mark.parametrize("mask", ["***", "[MASKED]", "********", "****", "[REDACTED]", "((redacted))"])
def test_masked_values_are_never_findings(engine, mask):
    text = (f"2024-05-30T14:30:00.1234567Z   OPENAI_API_KEY: {mask}\n"
            f"2024-05-30T14:30:00.1234567Z + docker login -u bot -p {mask} ghcr.io\n"
            f"\x1b[32;1m$ export GITHUB_TOKEN={mask}\x1b[0;m\n"
            f"> Authorization: Bearer {mask}\n"
            f"+ curl -u admin:{mask} https://nexus.acme.internal/\n"
            f"AWS_SECRET_ACCESS_KEY={mask}\n")
    assert scan_bytes(engine, "job-logs.txt", text.encode()) == []


@pytest.mark.parametrize("data", [
    b"", b"\x1b", b"\x1b[", b"section_start:", b"section_start:1:\r", b"\xff\xfe\x1b[0m",
    b"2024-05-30T14:30:00.1234567Z " * 50, b'\x1b[0m{"a": "\\', b'x {"k": "v\\u12', "\x1b[1m\u00e9\U0001f600".encode(),
])
def test_malformed_input_never_raises(engine, data):
    doc = read_document("job.log", data)
    list(CILOG.fragments(doc))
    CILOG.locate(doc, 0)
    scan_bytes(engine, "job.log", data)


def test_json_event_key_after_escaped_newline_is_found(engine):
    from keyscan.detect.checks import base62
    import zlib

    body = "Q" * 10 + "w8Rt3Zk2Lp9Xv7Bn1Mc4Hd6Fg"[:20]
    key = "ghp_" + body + base62(zlib.crc32(body.encode()))
    line = '2024-05-30T14:30:00.1234567Z {"type":"user","content":"tokens:\\n%s\\n"}\n' % key
    found = scan_bytes(engine, "agent.txt", line.encode())
    assert [(f.rule_id, f.start_line, f.start_column) for f in found] == \
        [("github-pat-classic", 1, line.index(key) + 1)]


def test_colour_codes_after_the_first_4_kb_are_stripped(engine):
    """A terminal-decorated value far into a file that does not look like a log at its start
    (the raw scan reports the escape anywhere, not only in the sniffed head)."""
    head = "".join(f"line {i} of ordinary program output\n" for i in range(300)).encode()
    assert len(head) > 4096
    tail = b"export API_TOKEN=\x1b[1mKkTP2XO0C2urYsd5SpRwVYdDncNKi7Kb7oS2JDak\x1b[0m\n"
    found = scan_bytes(engine, "session.txt", head + tail)
    assert [(f.rule_id, f.start_line, f.secret) for f in found] == [
        ("generic-secret-assignment", 301, "KkTP2XO0C2urYsd5SpRwVYdDncNKi7Kb7oS2JDak")]
