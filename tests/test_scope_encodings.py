"""Hex and nested base64 decoding to a bounded depth (issue 15 part 5)."""

import base64
import binascii

import pytest

from keyscan import ScanOptions, scan

TOKEN = "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"


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _hex(s: str) -> str:
    return binascii.hexlify(s.encode()).decode()


def _found(tmp_path, text, **kw):
    p = tmp_path / "values.txt"
    p.write_text(text)
    r = scan(ScanOptions(paths=(str(p),), jobs=1, **kw))
    return [(f.start_line, f.start_column, f.rule_id, f.location) for f in r.findings]


def test_hex_is_decoded_and_placed_at_the_encoded_text(tmp_path):
    got = _found(tmp_path, f"# config\nsecret_hex: {_hex('GITHUB_TOKEN=' + TOKEN)}\n")
    assert got == [(2, 13, "github-pat-classic", "secret_hex (hex-decoded)")]


def test_upper_case_hex(tmp_path):
    got = _found(tmp_path, f"v = {_hex(TOKEN).upper()}\n")
    assert got == [(1, 5, "github-pat-classic", "v (hex-decoded)")]


def test_base64_three_deep_by_default_and_depth_flag(tmp_path):
    blob = _b64(_b64(_b64(TOKEN)))
    text = f"payload: {blob}\n"
    assert [g[:3] for g in _found(tmp_path, text)] == [(1, 10, "github-pat-classic")]
    assert _found(tmp_path, text, decode_depth=2) == []
    assert _found(tmp_path, text, decode_depth=0) == []
    mixed = _b64(_hex(_b64("token=" + TOKEN)))
    assert [g[:3] for g in _found(tmp_path, f"x = {mixed}\n")] == [(1, 5, "github-pat-classic")]
    four = _b64(blob)
    assert _found(tmp_path, f"payload: {four}\n") == []
    assert [g[:3] for g in _found(tmp_path, f"payload: {four}\n", decode_depth=4)] == [
        (1, 10, "github-pat-classic")]


@pytest.mark.parametrize("value", [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # sha256 digest
    "0123456789abcdef0123456789abcdef",
    "d41d8cd98f00b204e9800998ecf8427e",  # md5
])
def test_digests_are_not_decoded(tmp_path, value):
    from keyscan.decoders.encoded import _hex_text, _is_hex

    assert not _is_hex(value) or _hex_text(value) is None
