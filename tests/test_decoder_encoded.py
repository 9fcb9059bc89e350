"""Encoded values (base64, URL-encoding): exact findings for every fixture in
fixtures/encoded (labels.yml), decoys give nothing, bounds and cost guards hold."""

from __future__ import annotations

import base64
import time
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from keyscan.api import scan_bytes
from keyscan.decoders.encoded import DECODER as ENCODED, MAX_B64
from keyscan.detect.checks import base62
from keyscan.documents import read_document

from labelled import assert_decoys_quiet, assert_exact, assert_planted_rules_exist

ROOT = Path(__file__).resolve().parent.parent
CARRIER = ROOT / "fixtures" / "encoded"
LABELS = yaml.safe_load((CARRIER / "labels.yml").read_text())["labels"]
FILES = sorted({e["file"] for e in LABELS})

BODY = "u8jzPde0IgxLd6GncfBAepfJBd0Kh8"
GHP = "ghp_" + BODY + base62(zlib.crc32(BODY.encode()))


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()




@pytest.mark.parametrize("rel", FILES)
def test_fixture_findings_are_exact(engine, rel):
    assert_exact(engine, CARRIER, LABELS, rel)


@pytest.mark.parametrize("rel", FILES)
def test_decoys_give_nothing(engine, rel):
    assert_decoys_quiet(engine, CARRIER, LABELS, rel)


def test_every_planted_rule_exists(engine):
    assert_planted_rules_exist(engine, LABELS)


def _frags(text: str, path: str = "x.txt"):
    return list(ENCODED.fragments(read_document(path, text.encode())))


def test_finding_is_placed_at_the_blob(engine):
    text = "a: 1\nnote: see\n  token: %s\n" % b64(GHP)
    found = scan_bytes(engine, "values.yaml", text.encode())
    assert [(f.rule_id, f.start_line, f.start_column, f.end_column, f.location) for f in found] == [
        ("github-pat-classic", 3, 10, 10 + len(b64(GHP)), "token (base64-decoded)")]


def test_context_name_and_user_password_pair_are_emitted():
    (frag,) = _frags('{"auth": "%s"}' % b64("bob:S3cr3tPassw0rd!x"))
    assert frag.text == "auth=bob:S3cr3tPassw0rd!x\nusername=bob\npassword=S3cr3tPassw0rd!x"
    (frag,) = _frags("Authorization: Basic %s\n" % b64("svc:Zr8pQ2vLx9Kt4"))
    assert frag.text.startswith("Authorization=svc:Zr8pQ2vLx9Kt4\n")
    assert frag.text.endswith("\npassword=Zr8pQ2vLx9Kt4")


def test_urlsafe_and_unpadded_base64(engine):
    blob = base64.urlsafe_b64encode(("x>?" + GHP).encode()).decode().rstrip("=")
    found = scan_bytes(engine, "x.txt", f"v={blob}\n".encode())
    assert [(f.rule_id, f.start_column) for f in found] == [("github-pat-classic", 3)]


@pytest.mark.parametrize("indent,newline", [("", "\n"), ("    ", "\n"), ("  ", "\r\n")])
def test_blob_wrapped_over_lines_is_joined(engine, indent, newline):
    """`base64` wraps at 76 columns: a key cut by a line break decodes whole and
    is reported at the block's first character."""
    payload = "# deploy, do not edit\nGITHUB_TOKEN=" + GHP + "\nREGION=eu-west-1\nREPLICAS=3\n" * 2
    lines = base64.encodebytes(payload.encode()).decode().splitlines()
    pieces = [base64.b64decode(ln + "=" * (-len(ln) % 4)).decode() for ln in lines]
    assert len(lines) == 3 and not any(GHP in p for p in pieces)  # the key is cut by a line break
    text = "data:\n  settings.env: |" + newline + "".join(indent + ln + newline for ln in lines)
    found = [(f.rule_id, f.start_line, f.start_column) for f in scan_bytes(engine, "secret.yaml", text.encode())]
    assert found == [("github-pat-classic", 3, len(indent) + 1)]


def test_padded_lines_of_one_width_are_not_joined():
    """A list of padded values (digests, one per line) is not a wrapped blob."""
    from keyscan.decoders.encoded import _blobs

    import hashlib

    vals = [base64.b64encode(hashlib.sha256(bytes([i])).digest()).decode() for i in range(3)]  # 44, "=" padded
    text = "\n".join(vals) + "\n"
    assert [b for _, _, b in _blobs(text)] == vals


def test_depth_is_bounded_to_three(engine):
    one = b64("token: " + GHP)
    two = b64("inner: " + one)
    three = b64("outer: " + two)
    four = b64("more: " + three)
    assert [f.rule_id for f in scan_bytes(engine, "a.txt", f"v: {three}\n".encode())] == ["github-pat-classic"]
    assert scan_bytes(engine, "a.txt", f"v: {four}\n".encode()) == []


@pytest.mark.parametrize("text", [
    "data:image/png;base64," + b64("token: " + GHP),          # image context
    "iVBORw0KGgoAAAANSUhEUg" + b64("token: " + GHP)[:40],    # PNG magic
    "/9j/4AAQSkZJRgABAQ" + b64(GHP),                          # JPEG magic
    base64.b64encode(bytes(range(256)) * 2).decode(),         # binary
    "AbCd" * 5,                                               # decodes to control bytes
])
def test_images_binary_and_noise_are_skipped(text):
    assert _frags(f"x = {text}\n") == []


def test_huge_blobs_are_skipped(engine):
    pad = "A1b2" * ((MAX_B64 + 8) // 4)
    text = f"v: {b64('token: ' + GHP)[:-4]}{pad}\n"
    assert _frags(text) == []


def test_url_encoded_token_maps_exactly(engine):
    line = "GET /cb?next=https%3A%2F%2Fx.io%2F%3Ftoken%3D" + quote(GHP) + "%26a%3D1 HTTP/1.1\n"
    found = scan_bytes(engine, "access.log", line.encode())
    assert [(f.rule_id, f.start_column, f.end_column) for f in found] == [
        ("github-pat-classic", line.index(GHP) + 1, line.index(GHP) + len(GHP) + 1)]


def test_url_then_base64_depth_two(engine):
    line = "h=Authorization%3A%20Basic%20" + b64(GHP + ":") + "\n"
    found = scan_bytes(engine, "x.log", line.encode())
    assert [(f.rule_id, f.start_column) for f in found] == [("github-pat-classic", line.index(b64(GHP + ":")) + 1)]


@pytest.mark.parametrize("text", ["%", "%%", "%zz", "%41" * 5000, "=" * 100, "A" * 100000,
                                  "\\n" + b64(GHP), "%E2%82", "Basic " + b64("a:b")[:-1], "\ud800"])
def test_malformed_input_never_raises(text):
    doc = read_document("x.txt", text.encode("utf-8", "surrogatepass"))
    list(ENCODED.fragments(doc))


def test_cost_on_ordinary_source_is_small():
    src = (Path(__file__).resolve().parent.parent / "keyscan" / "decoders" / "jsonscan.py").read_text()
    big = (src + "\n") * 40  # ~0.5-1 MB of code with long identifiers and punctuation
    t = time.perf_counter()
    frags = _frags(big, "big.py")
    elapsed = time.perf_counter() - t
    assert len(frags) < 50
    assert elapsed < 2.0


def _reference_spans(text):
    """Base64 candidate spans defined on the text itself: every maximal run of
    >= 16 standard-alphabet characters; a run touching "-"/"_" is extended over
    the URL-safe alphabet (and a later run it reached is trimmed), any other
    run must mix cases; up to two "=" of padding, never three."""
    import re

    n, done, out = len(text), 0, []
    urlsafe_chars = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    for m in re.finditer(r"[A-Za-z0-9+/]{16,}", text):
        s, e = m.span()
        if s < done:
            if e - done < 16:
                continue
            s = done
        end = e
        if (e < n and text[e] in "-_") or (s > 0 and text[s - 1] in "-_"):
            lo, hi = max(0, s - 4096), min(n, e + 4096)
            while s > lo and text[s - 1] in urlsafe_chars:
                s -= 1
            while e < hi and text[e] in urlsafe_chars:
                e += 1
            end = max(end, e)
        elif text[s:e].islower() or text[s:e].isupper():
            continue
        done = stop = end
        while e < n and e - stop < 2 and text[e] == "=":
            e += 1
        if not (e < n and text[e] == "="):
            out.append((s, e))
    return out


def test_candidate_spans_match_their_definition():
    import random

    from keyscan.decoders.encoded import _b64_spans

    rng = random.Random(5)
    alphabet = "Aa0+/-_= \né" + "QWxhZGRpbjpvcGVu" + "deadbeef"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90))) for _ in range(5000)]
    # Whole runs, URL-safe extensions that end inside a later run (at "+" or "/"), padding.
    pieces = ["A" * 16, "a" * 16, "Ab" * 8, "3132333435363738", "-", "_", "+", "/", "=", "==", "B", "b", " ", "\n"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 20))) for _ in range(5000)]
    # Runs around LONG_RUN (the regex stops counting there; memchr finds the end).
    texts += [f"{a}{'Ab' * (k // 2)}{'x' * (k % 2)}{b}" * r for k in (254, 255, 256, 257, 258, 511, 512, 5001)
              for a in ("", " ", "-") for b in ("", " ", "==", "_") for r in (1, 3)]
    texts += [p.read_bytes().decode("utf-8", "replace") for p in sorted((ROOT / "fixtures").rglob("*"))
              if p.is_file()]
    for text in texts:
        ascii_bytes = text.encode() if text.isascii() else None
        assert list(_b64_spans(text, ascii_bytes)) == _reference_spans(text), repr(text[:200])


@pytest.mark.parametrize("printf", [0, 1, 20, 200])
def test_percent_runs_are_those_of_finditer(printf):
    """_pct_runs jumps between "%" signs and hands over to finditer after
    MAX_PCT_MISSES signs that start no %XX: the same matches either way."""
    from keyscan.decoders.encoded import MAX_PCT_MISSES, _PCT_RUN, _pct_runs

    text = "printf('%s: %d%%', x) 100% " * printf + "GET /?q=%41%42c&r=%E2%9C%93 %% %4 %" + "x%2F" * 3 + "%"
    assert [m.span() for m in _pct_runs(text)] == [m.span() for m in _PCT_RUN.finditer(text)]
    assert [m.group() for m in _pct_runs(text)] == ["%41%42", "%E2%9C%93", "%2F", "%2F", "%2F"]
    assert (text.count("%") > MAX_PCT_MISSES + 5) == (printf >= 20)  # both paths are taken


def test_text_cut_mid_character_by_the_utf8_head_check_still_decodes():
    """A long blob's first 48 bytes are checked for UTF-8 before the whole is
    decoded; a character cut at byte 48 is no error."""
    from keyscan.decoders.encoded import _HEAD

    text = "abcdeé" * 12
    assert text.encode()[_HEAD - 1] == 0xC3  # byte 48 starts "é"
    (frag,) = _frags(f"v = {b64(text)}\n")
    assert frag.text == "v=" + text


@pytest.mark.parametrize("data", [b"\x89\x01" + b"A" * 300, "ok text, then".encode() + bytes(range(128, 256)),
                                  "text with \ufffd in it, honestly".encode() * 3])
def test_bytes_that_are_no_utf8_are_skipped_early_and_late(data):
    frags = _frags(f"v = {base64.b64encode(data).decode()}\n")
    assert [f.text for f in frags] == (["v=" + data.decode()] if b"\xef\xbf\xbd" in data else [])
