"""Offline structure checks (keyscan/detect/checks.py), alone and through a real scan.

The tokens below are fakes built for these tests (seeded generator): right prefix, length,
alphabet and checksum, never real credentials.
"""

from __future__ import annotations

import base64
import zlib

import pytest

from keyscan.api import scan_bytes
from keyscan.detect.checks import (
    CHECKS,
    CheckOutcome,
    aws_key_type,
    base62,
    github_crc32,
    gitlab_routable_crc32,
    npm_crc32,
    pypi_macaroon,
    stripe_mode,
)

GITHUB_VALID = {
    "ghp": "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",
    "gho": "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",
    "ghu": "ghu_SuyfzAyrf9yX5dVrcPX2fCJbXjask21lyUKQ",
    "ghs": "ghs_r7JRlm3OjfVxeMpDIhugLZYqLJSNnK2YpThQ",
    "ghr": "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",
}
GHP_BAD = "ghp_idlsSFW4PodaIFG2R2MgcACO2S5kwk2cigMA"
NPM_VALID = "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"
NPM_BAD = "npm_vYtaNoRW0u0sfxzRkkXMMvZKvJSK2H4CrsKA"
GLPAT_ROUTABLE = "glpat-GvrPqqH0c1WrCGaV4WX4jG86MWsKdTo0Y3oK.01.101r2baor"
GLPAT_ROUTABLE_OLD = "glpat-gsG34mKLLtCOHIkwTRmpUW86MWsKdTo0Y3oK.10116mwui"

VALID = CheckOutcome("checksum", "valid", "raise")
INVALID = CheckOutcome("checksum", "invalid", "reject")


def _varint(n: int) -> bytes:
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])


def _field(t: int, data: bytes) -> bytes:
    return _varint(t) + _varint(len(data)) + data


def _macaroon(location: bytes = b"pypi.org", sig_len: int = 32) -> bytes:
    return (b"\x02" + _field(1, location) + _field(2, b"5c1f6a0e-3b7d-4c2a-9e8f-0d1c2b3a4f5e")
            + b"\x00" + _field(2, b'{"version": 1, "permissions": "user"}') + b"\x00"
            + b"\x00" + _field(6, bytes(range(1, sig_len + 1))))


def _pypi(raw: bytes) -> str:
    return "pypi-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


# -- GitHub ------------------------------------------------------------------


def test_base62_uses_digits_upper_lower_and_pads():
    assert base62(0) == "000000"
    assert base62(61) == "00000z"
    assert base62(62) == "000010"
    assert base62(36) == "00000a"
    assert base62(10) == "00000A"
    assert base62(0xFFFFFFFF) == "4gfFC3"


@pytest.mark.parametrize("kind", sorted(GITHUB_VALID))
def test_github_crc32_valid_for_every_prefix(kind):
    token = GITHUB_VALID[kind]
    assert github_crc32(token) == VALID
    body = token[4:]
    assert body[30:] == base62(zlib.crc32(body[:30].encode()))


def test_github_crc32_checksum_covers_only_the_random_part():
    # Same 30 random characters and checksum under another known prefix: still valid.
    body = GITHUB_VALID["ghp"][4:]
    assert github_crc32("gho_" + body) == VALID


def test_github_crc32_invalid():
    assert github_crc32(GHP_BAD) == INVALID
    token = GITHUB_VALID["ghp"]
    flipped = token[:10] + ("a" if token[10] != "a" else "b") + token[11:]
    assert github_crc32(flipped) == INVALID


@pytest.mark.parametrize("value", [
    "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",
    "ghp_short",
    "xyz_" + GITHUB_VALID["ghp"][4:],
    GITHUB_VALID["ghp"] + "Z",
    "ghp_" + GITHUB_VALID["ghp"][4:-1] + "-",
])
def test_github_crc32_not_applicable(value):
    assert github_crc32(value) is None


# -- npm ---------------------------------------------------------------------


def test_npm_crc32():
    assert npm_crc32(NPM_VALID) == VALID
    assert npm_crc32(NPM_BAD) == INVALID
    assert npm_crc32(GITHUB_VALID["ghp"]) is None
    assert npm_crc32("npm_tooShort") is None


# -- GitLab routable tokens ----------------------------------------------------


def test_gitlab_routable_crc32():
    assert gitlab_routable_crc32(GLPAT_ROUTABLE) == VALID
    assert gitlab_routable_crc32(GLPAT_ROUTABLE_OLD) == VALID
    assert gitlab_routable_crc32(GLPAT_ROUTABLE[:-1] + ("0" if GLPAT_ROUTABLE[-1] != "0" else "1")) == INVALID
    # Length holder that does not match the payload.
    assert gitlab_routable_crc32(GLPAT_ROUTABLE.replace(".01.10", ".01.11")) == INVALID
    assert gitlab_routable_crc32("glpat-7FBVx3Xic_ddrsO1vk9k") is None


# -- AWS ---------------------------------------------------------------------


def test_aws_key_type():
    assert aws_key_type("AKIAZYITXGNFNZ3WBITH") == CheckOutcome("key-type", "long-lived", "none")
    assert aws_key_type("ASIAPSN77DQYD5C64TLP") == CheckOutcome("key-type", "temporary", "none")
    assert aws_key_type("AIDAZYITXGNFNZ3WBITH") is None


# -- PyPI --------------------------------------------------------------------


def test_pypi_macaroon_valid():
    token = _pypi(_macaroon())
    assert token.startswith("pypi-AgEIcHlwaS5vcmc")
    assert pypi_macaroon(token) == CheckOutcome("macaroon", "valid", "raise")
    assert pypi_macaroon(_pypi(_macaroon(b"test.pypi.org"))) == CheckOutcome("macaroon", "valid", "raise")


@pytest.mark.parametrize("token", [
    _pypi(_macaroon(b"evil.example.org")),      # wrong location
    _pypi(_macaroon(sig_len=31)),               # signature not 32 bytes
    _pypi(_macaroon()[:-5]),                    # truncated
    _pypi(_macaroon() + b"\x00"),               # trailing garbage
    _pypi(b"\x01" + _macaroon()[1:]),           # not version 2
    "pypi-AgEIcHlwaS5vcmcCJDxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "pypi-%%%%",
])
def test_pypi_macaroon_undecodable_lowers(token):
    assert pypi_macaroon(token) == CheckOutcome("macaroon", "undecodable", "lower")


def test_pypi_macaroon_not_applicable():
    assert pypi_macaroon("npm_" + "a" * 36) is None


# -- Stripe ------------------------------------------------------------------


@pytest.mark.parametrize("prefix,mode", [
    ("sk_live_", "live"), ("rk_live_", "live"), ("sk_test_", "test"), ("rk_test_", "test"),
])
def test_stripe_mode(prefix, mode):
    assert stripe_mode(prefix + "51Hx9QkLmNoPqRsTuVwXyZ0123") == CheckOutcome("mode", mode, "none")


def test_stripe_mode_not_applicable():
    assert stripe_mode("sk-proj-abc") is None
    assert stripe_mode("whsec_abc") is None


def test_registry():
    for name in ("github-crc32", "npm-crc32", "gitlab-routable-crc32", "aws-key-type",
                 "pypi-macaroon", "stripe-mode"):
        assert callable(CHECKS[name])


# -- through a real scan -----------------------------------------------------




def _findings(engine, text: str, path: str = "config.env"):
    return scan_bytes(engine, path, text.encode())


@pytest.mark.parametrize("kind", sorted(GITHUB_VALID))
def test_scan_reports_valid_github_checksum(engine, kind):
    token = GITHUB_VALID[kind]
    found = [f for f in _findings(engine, f"TOKEN={token}\n") if f.secret == token]
    assert len(found) == 1
    assert ("checksum", "valid") in found[0].checks
    assert found[0].provider == "GitHub"
    assert found[0].confidence.value == "high"


def test_scan_drops_bad_github_checksum(engine):
    assert not [f for f in _findings(engine, f"GITHUB_TOKEN={GHP_BAD}\n") if f.secret == GHP_BAD]


def test_scan_npm(engine):
    found = [f for f in _findings(engine, f"//registry.npmjs.org/:_authToken={NPM_VALID}\n", ".npmrc")
             if f.rule_id == "npm-access-token"]
    assert [f.secret for f in found] == [NPM_VALID]
    assert ("checksum", "valid") in found[0].checks
    assert not [f for f in _findings(engine, f"NPM_TOKEN={NPM_BAD}\n") if f.secret == NPM_BAD]


def test_scan_gitlab_routable(engine):
    found = [f for f in _findings(engine, f"GITLAB_TOKEN={GLPAT_ROUTABLE}\n") if f.rule_id == "gitlab-pat"]
    assert [f.secret for f in found] == [GLPAT_ROUTABLE]
    assert ("checksum", "valid") in found[0].checks


def test_scan_aws_key_types(engine):
    text = "AWS_ACCESS_KEY_ID=AKIAZYITXGNFNZ3WBITH\nOLD_SESSION_KEY_ID=ASIAPSN77DQYD5C64TLP\n"
    by_rule = {f.rule_id: f for f in _findings(engine, text)}
    assert by_rule["aws-access-key-id"].checks == (("key-type", "long-lived"),)
    assert by_rule["aws-temporary-access-key-id"].checks == (("key-type", "temporary"),)
    assert "NHI7" in by_rule["aws-access-key-id"].nhi
    assert "NHI7" not in by_rule["aws-temporary-access-key-id"].nhi


def test_scan_pypi_macaroon(engine):
    token = _pypi(_macaroon())
    found = [f for f in _findings(engine, f"TWINE_PASSWORD={token}\n") if f.rule_id == "pypi-upload-token"]
    assert [f.secret for f in found] == [token]
    assert found[0].checks == (("macaroon", "valid"),)
    assert found[0].confidence.value == "high"


@pytest.mark.parametrize("secret,groups,effect", [
    ("tiger", {"user": "scott", "host": "db.prod.acme-corp.dev"}, "reject"),
    ("postgres", {"user": "postgres", "host": "localhost:5432"}, "reject"),
    ("admin123", {"user": "app", "host": "127.0.0.1"}, "reject"),
    ("admin123", {"user": "app", "host": "pg-primary.prod.acme-corp.dev"}, "demote"),
    ("RjQpxp6lBlTYLe*Iz*Lngp", {"user": "app", "host": "localhost"}, None),
])
def test_demo_credentials(secret, groups, effect):
    from keyscan.detect.checks import demo_credentials
    out = demo_credentials(secret, groups)
    assert (out.effect if out else None) == effect
