"""Filters, per-charset entropy thresholds, the JWT check, and realistic
non-secrets (lock files, Dockerfiles, workflows, env-reading code) giving no
finding through the real pipeline."""

import base64
import hashlib
import json
import math
import random
import string
import time
import uuid

import pytest

from keyscan.api import scan_bytes
from keyscan.detect import jwt as jwtmod
from keyscan.detect.filters import (
    ENTROPY_MODEL,
    charset_class,
    entropy_threshold,
    generic_entropy_ok,
    is_generic_false_positive,
    is_placeholder,
    is_reference,
    is_wordlike,
)
from keyscan.entropy import shannon_entropy


@pytest.fixture
def eng(engine):
    return engine


def findings(eng, path, text):
    return [(f.rule_id, f.start_line) for f in scan_bytes(eng, path, text.encode())]


def ok(value):
    return generic_entropy_ok(value, shannon_entropy(value)) and not is_generic_false_positive(value)


RNG = random.Random(4242)
ALNUM = string.ascii_letters + string.digits


def rand(alphabet, n, rng=RNG):
    return "".join(rng.choice(alphabet) for _ in range(n))


# --------------------------------------------------------------------------
# placeholders, references, masks


@pytest.mark.parametrize("value", [
    "xxxxxxxxxxxxxxxx", "XXXX-XXXX-XXXX", "<YOUR_KEY>", "<your-api-key>", "your_api_key_here",
    "changeme", "CHANGE_ME", "${API_KEY}", "${{ secrets.API_TOKEN }}", "{{ api_token }}", "{{api_token}}",
    "$API_KEY", "%(password)s", "%API_KEY%", "{env:API_KEY}", "{password}", "{k.password(22)}",
    "***", "********", "sk-...****", "[MASKED]", "[REDACTED]", "((redacted))", "<redacted>", "%2A%2A%2A%2A",
    "password", "PASSWORD", "PASS", "secret", "user", "guest", "example-token-123", "sampletoken",
    "dummy-key", "fake_secret_value", "0000000000000000", "1234567890abcdef", "abcdefgh12345678",
    "aaaaaaaaaaaaaaaaaaaa", "$(cat /run/secrets/db)", "",
    # sequential and hex-speak fillers
    "AKIAIOSFODNN7ABCDEFG", "sk-abc123xyz789token", "klmnopqrst987", "deadbeefdeadbeef42", "cafebabe00ff11aa",
])
def test_placeholders(value):
    assert is_placeholder(value)


@pytest.mark.parametrize("value", [
    "hRPRAKBBYAW5ttt5YMOAXUZJ", "Jntvug~bjekC-_adtrdNq", "bc620d2bfa35b94eeceefdda",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "AKIAZ7R4WQ2MPL6XNB3T",
    # a run of one character in a long random token (Fly.io macaroons) is not a placeholder
    "FlyV1 fm2_lJPECAAAAAAAAA" + "x7Kp2vQ9mLr3Tn8Yw4Zb6Hc1Jd5Fg0Se" * 4,
])
def test_not_placeholders(value):
    assert not is_placeholder(value)


@pytest.mark.parametrize("value", [
    'os.environ["API_KEY"]', "os.getenv('TOKEN')", "process.env.API_TOKEN", "${{ secrets.X }}",
    "ENV['SECRET']", "op://vault/item/field", "System.getenv(\"KEY\")",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db",
])
def test_references(value):
    assert is_reference(value)
    assert is_generic_false_positive(value)


# --------------------------------------------------------------------------
# generic false positives: IDs, hashes, paths, identifiers, versions, URLs


@pytest.mark.parametrize("value", [
    "550E8400-E29B-41D4-A716-446655440000", "123e4567-e89b-12d3-a456-426614174000",
    "sha512-" + base64.b64encode(hashlib.sha512(b"a").digest()).decode(),
    "sha1-" + base64.b64encode(hashlib.sha1(b"a").digest()).decode(),
    "h1:" + base64.b64encode(hashlib.sha256(b"a").digest()).decode(),
    "sha256:" + hashlib.sha256(b"a").hexdigest(),
    "/usr/local/lib/python3.11/site-packages", "./config/settings.yaml", "C:\\Users\\svc\\key.json",
    "src/main/resources/application.yml", "~/.config/tool/credentials",
    "settings.API_KEY", "config.auth.token", "self.client.api_key",
    "getUserAccountSettings", "MAX_RETRY_COUNT", "primary-db-host", "AudioBufferList",
    "1.2.3", "v2.14.0-rc.1", "10.4.12+build.7", "2024-06-12T09:12:44Z", "application/json",
    "https://auth.acme-corp.dev/oauth2/token", "http://localhost:8080/api/v1",
    "api.acme-corp.dev", "ops@acme-corp.dev", "12345678901234567890",
    "password123", "Passw0rd!", "admin123", "secret_key", "s3cr3t",
])
def test_generic_false_positives(value):
    assert is_generic_false_positive(value)


def test_uuids_and_hash_length_hex_are_left_to_the_name():
    """Under a secret name a UUID (Heroku-style API keys) or hash-length hex (`SECRET_KEY_BASE`,
    40-hex deploy tokens) is a key: only hash-named names (`commit`, `sha`, `etag`...) drop it,
    in the rule pattern. A random UUID passes the hex threshold of its 32 digits."""
    rng = random.Random(5)
    for v in (str(uuid.UUID(int=rng.getrandbits(128), version=4)), hashlib.sha1(b"a").hexdigest(),
              hashlib.sha256(b"a").hexdigest()):
        assert not is_generic_false_positive(v)
        assert generic_entropy_ok(v, shannon_entropy(v))
    assert not generic_entropy_ok("00000000-0000-4000-8000-000000000001", 1.5)


@pytest.mark.parametrize("value", [
    "hRPRAKBBYAW5ttt5YMOAXUZJ", "Jntvug~bjekC-_adtrdNq", "RjQpxp6lBlTYLe*Iz*Lngp",
    "sq1-gYqHwhpSHhim-aPC4JTcApXiWwEZCQXHFQXBmvu", "bc620d2bfa35b94eeceefdda",
    "https://svc:Zq8vN3kL9pW2xR7t@proxy.internal",  # a URL *with* credentials is not dismissed
])
def test_random_values_are_not_generic_false_positives(value):
    assert not is_generic_false_positive(value)


def test_wordlike_identifiers_vs_random():
    for ident in ("getUserAccountSettings", "MAX_RETRY_COUNT", "primary-db-host", "HttpResponseParser",
                  "AudioBufferList", "privilegeStr"):
        assert is_wordlike(ident), ident
    for token in ("hRPRAKBBYAW5ttt5YMOAXUZJ", "kauNttZcepYN8OVr2jjA", "Jntvug~bjekC-_adtrdNq"):
        assert not is_wordlike(token), token


# --------------------------------------------------------------------------
# per-charset entropy thresholds


def test_charset_classes():
    assert charset_class("0123abcdef") == "hex"
    assert charset_class("ABCDEF0123") == "hex"
    assert charset_class("abcXYZ019+/=") == "base64"
    assert charset_class("abc-XYZ_019") == "base64"
    assert charset_class("p@ss~word!") == "other"
    assert charset_class("a.b") == "other"


@pytest.mark.parametrize("cls,length,expected", [
    ("hex", 16, 2.65), ("hex", 32, 3.25), ("hex", 64, 3.5), ("hex", 128, 3.5),
    ("base64", 12, 3.06), ("base64", 16, 3.38), ("base64", 32, 4.15), ("base64", 64, 4.5),
    ("other", 8, 2.4), ("other", 16, 3.2), ("other", 32, 3.8), ("other", 64, 3.8),
])
def test_threshold_formula(cls, length, expected):
    sample = {"hex": "a", "base64": "Z", "other": "~"}[cls] * length
    assert charset_class(sample) == cls
    assert entropy_threshold(sample) == pytest.approx(expected, abs=0.01)


def test_minimum_lengths():
    assert ENTROPY_MODEL["hex"][3] == 16 and ENTROPY_MODEL["base64"][3] == 12 and ENTROPY_MODEL["other"][3] == 8
    assert not generic_entropy_ok("a1b2c3d4e5f6a7b", 4.0)      # 15 hex chars
    assert generic_entropy_ok("a1b2c3d4e5f6a7b8", 4.0)         # 16 hex chars
    assert not generic_entropy_ok("Ab1Cd2Ef3Gh", 5.0)          # 11 base64 chars
    assert not generic_entropy_ok("p@ss~wd", 5.0)              # 7 chars


def test_base64_class_needs_two_character_kinds():
    assert not generic_entropy_ok("QWERTZUIOPASDFGHJKLY", 4.5)  # upper only
    assert not generic_entropy_ok("qwertzuiopasdfghjkly", 4.5)  # lower only
    assert generic_entropy_ok("qWeRtZuIoPaSdFgHjKlY", 4.5)


def test_threshold_boundary_is_inclusive():
    v = "Zq8vN3kL9pW2xR7tY4bM"
    t = entropy_threshold(v)
    assert generic_entropy_ok(v, t)
    assert not generic_entropy_ok(v, t - 0.001)


def test_thresholds_keep_random_tokens_and_drop_non_secrets():
    """The measurement behind ENTROPY_MODEL, in small: random tokens of 16+
    characters pass (>= 95%), identifiers, versions and hashes do not."""
    rng = random.Random(99)
    for alphabet, n in ((string.hexdigits[:16], 20), (string.hexdigits[:16], 24), (ALNUM, 16), (ALNUM, 24),
                        (ALNUM, 40), (ALNUM + "-_", 43), (ALNUM + "!#%^*_-.~", 16)):
        vals = [rand(alphabet, n, rng) for _ in range(400)]
        rate = sum(map(ok, vals)) / len(vals)
        assert rate >= 0.95, (alphabet[:20], n, rate)
    non_secrets = (
        [f"{rng.randint(0, 30)}.{rng.randint(0, 99)}.{rng.randint(0, 999)}" for _ in range(200)]
        + [hashlib.sha1(str(i).encode()).hexdigest()[:rng.randint(7, 12)] for i in range(200)]
        + ["getUserAccountSettings", "HttpResponseParser", "DEFAULT_CONNECTION_TIMEOUT", "webhook-delivery-queue",
           "ConfigurationManager", "tokenizer_config_path", "AuthenticationMiddleware", "base64_encoded_value"]
    )
    assert [v for v in non_secrets if ok(v)] == []


def test_expected_entropy_grows_with_length():
    # the model's premise: a fixed threshold cannot fit every length
    assert math.log2(16) < 4.5 < math.log2(64)
    assert entropy_threshold("Z" * 16) < entropy_threshold("Z" * 32) < entropy_threshold("Z" * 64)


# --------------------------------------------------------------------------
# JWT check


def _b64u(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _jwt(header, payload, sig="c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMTIzNDU2Nzg5MA"):
    return f"{_b64u(header)}.{_b64u(payload)}.{sig}"


def test_jwt_check_reports_alg_and_expiry():
    tok = _jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "svc", "exp": 1_000})
    assert jwtmod.check(tok).label == "jwt-alg" and jwtmod.check(tok).value == "HS256"
    assert jwtmod.check_exp(tok).value == "expired 1970-01-01T00:16:40Z"
    tok = _jwt({"alg": "RS256"}, {"sub": "svc", "exp": 4_102_444_800})
    assert jwtmod.check_exp(tok, now=0).value == "valid until 2100-01-01T00:00:00Z"
    assert jwtmod.check_exp(_jwt({"alg": "RS256"}, {"sub": "svc"})).value == "no-exp"
    assert jwtmod.check_exp(_jwt({"alg": "RS256"}, {"exp": "soon"})).value == "invalid"


def test_jwt_alg_none_is_reported_as_none():
    out = jwtmod.check(_jwt({"alg": "none"}, {"sub": "admin"}, sig=""))
    assert (out.label, out.value, out.effect) == ("jwt-alg", "none", "none")


@pytest.mark.parametrize("token", [
    _jwt({"typ": "JWT"}, {"sub": "x"}),                       # no alg
    _jwt({"alg": ""}, {"sub": "x"}),                          # empty alg
    _jwt({"alg": "HS256"}, ["not", "an", "object"]),          # payload not an object
    "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",                  # payload not JSON
    "eyJ!!!.eyJ.sig",                                         # not base64url
    _jwt({"alg": "HS256"}, {"sub": "1234567890", "name": "John Doe", "iat": 1516239022}),  # jwt.io sample
    _jwt({"alg": "HS256"}, {"iss": "supabase", "role": "anon", "ref": "abc"}),            # public anon key
])
def test_jwt_check_rejects(token):
    assert jwtmod.check(token).effect == "reject"


def test_jwt_findings_carry_checks(eng):
    tok = _jwt({"alg": "none", "typ": "JWT"}, {"sub": "build-bot", "role": "owner"}, sig="")
    [f] = scan_bytes(eng, ".env", f"SESSION={tok}\n".encode())
    assert f.rule_id == "jwt" and dict(f.checks) == {"jwt-alg": "none", "jwt-exp": "no-exp"}


# --------------------------------------------------------------------------
# generic findings carry lower confidence than provider rules


def test_generic_rules_have_lower_confidence(eng):
    for r in eng.rules:
        if r.generic:
            assert r.confidence.value in ("medium", "low"), r.id
    got = scan_bytes(eng, ".env", b"ACME_API_KEY=Zq8vN3kL9pW2xR7tY4bMq1\nDB_PASSWORD=Jntvug~bjekC-_adtrdNq\n")
    assert [(f.rule_id, f.confidence.value) for f in got] == [
        ("generic-secret-assignment", "medium"), ("generic-password-assignment", "low")]


def test_provider_rule_beats_generic(eng):
    got = scan_bytes(eng, ".env", b"GITHUB_TOKEN=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\n")
    assert [f.rule_id for f in got] == ["github-pat-classic"]


# --------------------------------------------------------------------------
# realistic non-secrets through the real pipeline

PACKAGE_LOCK = """{
  "name": "web",
  "version": "1.4.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "node_modules/@auth/core": {
      "version": "0.34.2",
      "resolved": "https://registry.npmjs.org/@auth/core/-/core-0.34.2.tgz",
      "integrity": "sha512-KywHKRgLiF3l7PLyL73fjLSIBe1YNcA6sMeew4yMP6cfCWGXZrkkXd32AjRi1hlJ9nvEf2/2fAOrhIQ8P8pz7g==",
      "license": "ISC"
    },
    "node_modules/jsonwebtoken": {
      "version": "9.0.2",
      "resolved": "https://registry.npmjs.org/jsonwebtoken/-/jsonwebtoken-9.0.2.tgz",
      "integrity": "sha512-PRp66vJ865SSqOlgqS8hujT5U4AOgMfhrwYIuIhfKaoSCZcirrmASQr8CX7cUg+RMih+hgznrjp99o+W4pJLHQ==",
      "dependencies": {"jws": "^3.2.2", "lodash.includes": "^4.3.0"}
    },
    "node_modules/secret-handshake": {
      "version": "1.1.21",
      "resolved": "https://registry.npmjs.org/secret-handshake/-/secret-handshake-1.1.21.tgz",
      "integrity": "sha1-3qVbKX+2jU8T0kM9jGmQd7k5B9I="
    }
  }
}
"""

POETRY_LOCK = '''[[package]]
name = "pyjwt"
version = "2.8.0"
description = "JSON Web Token implementation in Python"
optional = false
python-versions = ">=3.7"
files = [
    {file = "PyJWT-2.8.0-py3-none-any.whl", hash = "sha256:59127c392cc44c2da5bb3192169a91f429924e17aff6534d70fdc02ab3e04320"},
    {file = "PyJWT-2.8.0.tar.gz", hash = "sha256:57e28d156e3d5c10088e0c68abb90bfac3df82b40a71bd0daa20c65ccd5c23de"},
]

[package.extras]
crypto = ["cryptography (>=3.4.0)"]

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "3f9a4c0b7d2e8f1a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a"
'''

CARGO_LOCK = '''# This file is automatically @generated by Cargo.
version = 3

[[package]]
name = "secrecy"
version = "0.8.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "9bd1c54ea06cfd2f6b63219704de0b9b4f72dcc2b8fdef820be6cd799780e91e"
dependencies = [
 "zeroize",
]

[[package]]
name = "jsonwebtoken"
version = "9.3.0"
source = "git+https://github.com/Keats/jsonwebtoken?rev=4e1b5a2#4e1b5a2c9d3f7e8a6b0c1d2e3f4a5b6c7d8e9f0a"
checksum = "b9ae10193d25051e74945f1ea2d0b42e03cc3b890f7e4cc5faa44997d808193f"
'''

GO_SUM = '''github.com/golang-jwt/jwt/v5 v5.2.1 h1:OuVbFODueb089Lh128TAcimifWaLhJwVflnrgM17wHk=
github.com/golang-jwt/jwt/v5 v5.2.1/go.mod h1:pqrtFR0X4osieyHYxtmOUWsAWrfe1Q5UVIyoH402zdk=
golang.org/x/oauth2 v0.21.0 h1:tsimM75w1tF/uws5rbeHzIWxEqElMehnc+iW793zsZs=
golang.org/x/oauth2 v0.21.0/go.mod h1:XYTD2NtWslqkgxebSiOHnXEap4TF09sJSc7H1sXbhtI=
'''

YARN_LOCK = '''# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


jsonwebtoken@^9.0.0:
  version "9.0.2"
  resolved "https://registry.yarnpkg.com/jsonwebtoken/-/jsonwebtoken-9.0.2.tgz#65ff91f4abef1784697d40952bb1998c504caaf3"
  integrity sha512-PRp66vJ865SSqOlgqS8hujT5U4AOgMfhrwYIuIhfKaoSCZcirrmASQr8CX7cUg+RMih+hgznrjp99o+W4pJLHQ==
  dependencies:
    jws "^3.2.2"

"@octokit/auth-token@^4.0.0":
  version "4.0.0"
  resolved "https://registry.yarnpkg.com/@octokit/auth-token/-/auth-token-4.0.0.tgz#40d203ea827b9f17f42a29c6afb93b7745ef80c7"
  integrity sha512-tY/msAuJo6ARbK6SPIxZrPBms3xPbfwBrulZe0Wtr/DIY9lje2HeV1uoebShn6mx7SjCHif6EjMvoREj+gZ+SA==
'''

DOCKERFILE = '''FROM python:3.11-slim@sha256:2ec5a4a5c3e919570f57675471f081d6299668d909feabd8d4803c6c61af666c
ARG API_TOKEN
ARG PIP_INDEX_URL=https://pypi.org/simple
ENV SECRET_KEY_FILE=/run/secrets/secret_key \\
    TOKEN_CACHE_DIR=/var/cache/token \\
    API_KEY=${API_KEY}
RUN --mount=type=secret,id=npm_token,target=/root/.npmrc npm ci
RUN pip install --no-cache-dir -r requirements.txt
COPY --chown=app:app . /app
CMD ["gunicorn", "--access-logfile", "-", "app:create_app()"]
'''

WORKFLOW = '''name: deploy
on: [push]
jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
      contents: read
    steps:
      - uses: actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11
      - uses: aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502
        with:
          role-to-assume: arn:aws:iam::123456789012:role/deploy
          aws-region: eu-west-1
      - run: ./deploy.sh --token "${{ secrets.DEPLOY_TOKEN }}"
        env:
          API_KEY: ${{ secrets.API_KEY }}
          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
          GITHUB_TOKEN: ${{ github.token }}
          DB_PASSWORD: ${{ secrets.DB_PASSWORD }}
          SLACK_WEBHOOK_SECRET: ${{ vars.SLACK_WEBHOOK_SECRET }}
      - run: |
          curl -H "Authorization: Bearer $GITHUB_TOKEN" https://api.github.com/user
          curl -u "$NEXUS_USER:$NEXUS_PASSWORD" https://nexus.internal/status
'''

PYTHON_ENV = '''import os
from dataclasses import dataclass

API_KEY = os.environ["ACME_API_KEY"]
api_token = os.environ.get("ACME_TOKEN", "")
client_secret = os.getenv("CLIENT_SECRET")
password = getpass.getpass("Password: ")
DATABASE_URL = f"postgresql://{user}:{password}@{host}/{db}"
secret_key = settings.SECRET_KEY
token = get_token(client_id=CLIENT_ID)
access_token: str = ""
refresh_token = None
auth_token = request.headers.get("Authorization")
PASSWORD_MIN_LENGTH = 12
TOKEN_EXPIRY_SECONDS = 3600
session_secret = "550e8400-e29b-41d4-a716-446655440000"
cache_key = "user:profile:v2"
'''


@pytest.mark.parametrize("path,text", [
    ("package-lock.json", PACKAGE_LOCK),
    ("poetry.lock", POETRY_LOCK),
    ("Cargo.lock", CARGO_LOCK),
    ("go.sum", GO_SUM),
    ("yarn.lock", YARN_LOCK),
    ("Dockerfile", DOCKERFILE),
    (".github/workflows/deploy.yml", WORKFLOW),
    ("app/config.py", PYTHON_ENV),
])
def test_realistic_non_secrets_give_no_finding(eng, path, text):
    assert findings(eng, path, text) == []


def test_certificates_and_public_keys_give_no_finding(eng):
    rng = random.Random(5)
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(600))).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    for label in ("CERTIFICATE", "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE REQUEST"):
        assert findings(eng, "x.pem", f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n") == []


def test_split_pem_block_is_one_finding(eng):
    rng = random.Random(6)
    body = base64.b64encode(bytes.fromhex("308204a40201000282010100")
                            + bytes(rng.getrandbits(8) for _ in range(1180))).decode()
    lines = "\n".join("    " + body[i:i + 64] for i in range(0, len(body), 64))
    text = f"tls:\n  key: |\n    -----BEGIN RSA PRIVATE KEY-----\n{lines}\n    -----END RSA PRIVATE KEY-----\n"
    got = scan_bytes(eng, "values.yaml", text.encode())
    assert [(f.rule_id, f.start_line, f.end_line) for f in got] == [
        ("private-key-pem", 3, 3 + len(body) // 64 + 2)]


# --------------------------------------------------------------------------
# the generic rules stay quick on text full of their keywords


def test_generic_rules_are_quick_on_keyword_dense_text(eng):
    line = ('token = get_token(key, secret)  # the api_key, password and bearer token: '
            'Authorization: Bearer $TOKEN --token "$T" secret_key=settings.SECRET_KEY\n')
    text = line * 4000  # ~600 KB, a keyword every few characters
    t0 = time.perf_counter()
    assert findings(eng, "big.py", text) == []
    assert time.perf_counter() - t0 < 20


def test_provider_formats_are_left_to_provider_rules(eng):
    # a ghp_ token with a bad CRC32 is rejected by its rule and must not come back as generic
    bad = "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8024xXA"
    assert is_generic_false_positive(bad)
    assert [f for f in scan_bytes(eng, ".env", f"GITHUB_TOKEN={bad}\n".encode()) if f.secret == bad] == []
    for v in ("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", "glpat-q8w7e6r5t4y3u2i1o0p9", "pypi-AgEIcHlwaS5vcmcCJGQ"):
        assert is_generic_false_positive(v), v


def test_labels_are_not_values():
    assert is_generic_false_positive("Token::WHITESPACE")  # a C++/Rust/PHP scope path, not a token
    assert not is_generic_false_positive("Xk4vR9wQ2pZt7LmN")
    assert is_generic_false_positive("Authorization:")
    assert is_generic_false_positive("user:profile:v2")


@pytest.mark.parametrize("value,ok", [
    ("Kv7#q2", True), ("bluefin88", True), ("Tr0ub4dor", True), ("w1nter-Salm0n", True),
    ("abc", False), ("hunter", False), ("Enter password", False), ("password_confirmation", False),
    ("newPassword", False), ("self.password", False), ("%s", False), ("{password}", False),
    ("${DB_PASSWORD}", False), ("changeme", False), ("Passw0rd!", False), ("!vault", False),
    ("MyPassword2020", False), ("/accounts/password/reset/", False), ("DB_PASSWORD", False),
    # code and field lists seen under password names in CredData's F lines
    ("Option", False), ("Kind::Password", False), ("ISecretStore", False), ("username:password:uid", False),
    ("password:string", False), ("q7:Rt&x", True), ("Xk4!vR9w", True),
    ("incorrect", False), ("\\x89PNG", False), ("qzvk", True),
])
def test_password_values(value, ok):
    from keyscan.detect.filters import password_value_ok
    assert password_value_ok(value) is ok
