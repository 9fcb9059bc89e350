"""Offline structure checks on a matched secret (no network, ever).

A check returns a :class:`CheckOutcome` or ``None`` when it does not apply.
``effect`` tells the engine what to do with the finding:

* ``"raise"``  - structure confirmed (e.g. checksum valid): confidence high;
* ``"lower"``  - suspicious but possible: confidence lowered one step;
* ``"reject"`` - structurally impossible for a real credential (bad checksum): drop it;
* ``"demote"`` - a well-known demo value in a demo setting (``root:root@localhost``):
  kept, but with low severity and low confidence;
* ``"none"``   - information only (e.g. ``aws-key-type: temporary``).

Checks are registered by name in :data:`CHECKS`; rules name them in ``checks:``.
Every check is a small pure function of the secret string; the checks in
:data:`CONTEXT_CHECKS` also receive the match's named groups (``user``, ``host``).
"""

from __future__ import annotations

import base64
import binascii
import re
import string
import zlib
from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class CheckOutcome:
    label: str
    value: str
    effect: str = "none"


_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_B62_BODY = re.compile(r"^[0-9A-Za-z]{36}$")


def base62(n: int, width: int = 6) -> str:
    """Base62 in the "GMP" alphabet (digits, upper, lower), left-padded with ``0``."""
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(width, "0")


def _checksum(ok: bool) -> CheckOutcome:
    return CheckOutcome("checksum", "valid" if ok else "invalid", "raise" if ok else "reject")


def _base62_crc32(body: str) -> Optional[CheckOutcome]:
    """``body`` = 30 random base62 characters + 6-character base62 CRC32 of those 30."""
    if not _B62_BODY.match(body):
        return None
    payload, checksum = body[:30], body[30:]
    return _checksum(base62(zlib.crc32(payload.encode("ascii"))) == checksum)


def github_crc32(secret: str) -> Optional[CheckOutcome]:
    """GitHub tokens (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``): 30 random
    base62 characters, then the CRC32 of those 30 characters (the prefix is not
    covered) in base62 (0-9A-Za-z), left-padded to six characters.  Fine-grained
    ``github_pat_`` tokens have another layout and are not checked."""
    prefix, sep, body = secret.partition("_")
    if not sep or prefix not in ("ghp", "gho", "ghu", "ghs", "ghr"):
        return None
    return _base62_crc32(body)


def npm_crc32(secret: str) -> Optional[CheckOutcome]:
    """npm access tokens (``npm_`` + 36) use GitHub's layout and checksum."""
    if not secret.startswith("npm_"):
        return None
    return _base62_crc32(secret[4:])


_ROUTABLE = re.compile(
    r"^(?P<head>(?P<rest>[A-Za-z0-9_-]{28,320})\.(?:[0-9a-z]{2}\.)?(?P<len>[0-9a-z]{2}))(?P<crc>[0-9a-z]{7})$"
)


def gitlab_routable_crc32(secret: str) -> Optional[CheckOutcome]:
    """GitLab routable tokens (``glpat-<base64url>.01.<len><crc>``): the last seven
    base36 characters are the CRC32 of everything before them (prefix included),
    and the two before them give the base64 payload length in base36.  Legacy
    20-character tokens carry no checksum: ``None``."""
    m = _ROUTABLE.match(secret)
    if m is None:
        return None
    rest, size = m.group("rest"), int(m.group("len"), 36)
    # The payload is the last ``size`` characters before the dot; a prefix must precede it.
    if size < 27 or size >= len(rest) or rest[-size - 1] != "-":
        return _checksum(False)
    return _checksum(int(m.group("crc"), 36) == zlib.crc32(m.group("head").encode("ascii")))


def aws_key_type(secret: str) -> Optional[CheckOutcome]:
    """AWS access key IDs: ``AKIA`` long-lived IAM user key, ``ASIA`` temporary (STS)."""
    if secret.startswith("AKIA"):
        return CheckOutcome("key-type", "long-lived", "none")
    if secret.startswith("ASIA"):
        return CheckOutcome("key-type", "temporary", "none")
    return None


_PYPI_LOCATIONS = (b"pypi.org", b"test.pypi.org")


def _varint(data: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        if i >= len(data) or shift > 28:
            raise ValueError("truncated varint")
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, i
        shift += 7


def _packets(data: bytes, i: int) -> tuple[dict[int, bytes], int]:
    """Read macaroon v2 fields up to (and past) an end-of-section marker."""
    fields: dict[int, bytes] = {}
    while True:
        ftype, i = _varint(data, i)
        if ftype == 0:
            return fields, i
        size, i = _varint(data, i)
        if ftype in fields or i + size > len(data):
            raise ValueError("bad field")
        fields[ftype] = data[i:i + size]
        i += size


def _macaroon_v2(raw: bytes) -> Optional[bytes]:
    """Parse a binary v2 macaroon; return its location, or ``None`` when malformed."""
    try:
        if not raw or raw[0] != 2:
            return None
        head, i = _packets(raw, 1)
        if 2 not in head or set(head) - {1, 2}:
            return None
        while True:  # caveats, then an empty section
            caveat, i = _packets(raw, i)
            if not caveat:
                break
            if 2 not in caveat or set(caveat) - {1, 2, 4}:
                return None
        ftype, i = _varint(raw, i)
        size, i = _varint(raw, i)
        if ftype != 6 or size != 32 or i + size != len(raw):
            return None
        return head.get(1, b"")
    except ValueError:
        return None


def pypi_macaroon(secret: str) -> Optional[CheckOutcome]:
    """PyPI API tokens: ``pypi-`` + base64url (unpadded) of a binary v2 macaroon
    whose location is ``pypi.org`` (or ``test.pypi.org``) and whose last field is
    a 32-byte signature.  A well-formed macaroon raises confidence; a body that
    does not decode to one lowers it (never rejects: the format may evolve)."""
    if not secret.startswith("pypi-"):
        return None
    body = secret[5:]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return CheckOutcome("macaroon", "undecodable", "lower")
    location = _macaroon_v2(raw)
    if location is None or location not in _PYPI_LOCATIONS:
        return CheckOutcome("macaroon", "undecodable", "lower")
    return CheckOutcome("macaroon", "valid", "raise")


def stripe_mode(secret: str) -> Optional[CheckOutcome]:
    """Stripe secret/restricted/publishable keys: live or test mode (information only)."""
    for mode in ("live", "test"):
        if secret.startswith((f"sk_{mode}_", f"rk_{mode}_", f"pk_{mode}_")):
            return CheckOutcome("mode", mode, "none")
    return None


# Well-known demo credentials of documentation and tutorials (user, password), lower-case:
# Oracle's scott/tiger (SQLAlchemy's docs use it ~50 times in its own package).
_DEMO_PAIRS = frozenset({("scott", "tiger"), ("user", "pass"), ("user", "password"), ("username", "password"),
                         ("admin", "admin"), ("root", "root"), ("guest", "guest"), ("test", "test"),
                         ("postgres", "postgres"), ("sa", "sa"), ("demo", "demo"), ("foo", "bar")})
_DEMO_PASSWORDS = re.compile(
    r"(?i)^(tiger|pass(word|wd|w0rd)?|p@ssw(o|0)rd|secret|changeme|change_me|changeit|root|admin|test|"
    r"example|demo|guest|postgres|mysql|redis|rabbitmq|mongo|sa|default|letmein|qwerty|123456|"
    r"foo|bar|baz|qux|foobar|wrong|mypass)[0-9!@#$%^&*._-]{0,8}$")
_DEMO_HOSTS = re.compile(
    r"(?i)^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|0\.0\.0\.0|\[?::1\]?|host\.docker\.internal|"
    r"db|database|postgres(ql)?|mysql|mariadb|mongo(db)?|redis|rabbitmq|amqp|broker|cache|server|host|hostname|"
    r"myhost|dbhost|some_dsn|example\.(com|org|net)|[a-z0-9.-]*\.(example|test|local|localhost|invalid))(:\d{1,5})?$")


def demo_credentials(secret: str, groups: dict[str, Optional[str]]) -> Optional[CheckOutcome]:
    """Connection URIs whose password is a well-known demo value: ``scott:tiger`` (any
    host) and ``user:password`` pairs are documentation (reject); a demo password or one
    equal to the user name against ``localhost``, ``127.0.0.1`` or a compose service name
    (``db``, ``postgres``) is a local default (reject); a demo password against another
    host is kept with low severity (``demote``): it may still open a real database."""
    user = (groups.get("user") or "").lower()
    host = (groups.get("host") or "").lower()
    pw = secret.lower()
    if (user, pw) in _DEMO_PAIRS:
        return CheckOutcome("demo-credentials", "well-known pair", "reject")
    if _DEMO_PASSWORDS.match(secret) or (user and pw == user):
        if not host or _DEMO_HOSTS.match(host):
            return CheckOutcome("demo-credentials", "local default", "reject")
        return CheckOutcome("demo-credentials", "demo password", "demote")
    return None


def basic_auth(secret: str) -> Optional[CheckOutcome]:
    """``Basic <base64(user:password)>`` (RFC 7617): the value must decode to printable
    UTF-8 holding a ``:`` with a non-empty password, or it is not Basic credentials (a word
    after "basic" in prose, a truncated value): reject.  Documentation pairs (RFC 7617's
    ``Aladdin:open sesame``, ``user:pass``, ``username:password``) are rejected too."""
    body = secret.rstrip("=")
    try:
        text = base64.b64decode(body + "=" * (-len(body) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return CheckOutcome("basic-auth", "undecodable", "reject")
    user, sep, password = text.partition(":")
    if not sep or not password or not text.isprintable() or len(user) > 256:
        return CheckOutcome("basic-auth", "not user:password", "reject")
    from .filters import is_placeholder  # local import: filters imports nothing from checks
    pair = (user.lower(), password.lower())
    if pair in _DEMO_PAIRS or pair == ("aladdin", "open sesame") or is_placeholder(password):
        return CheckOutcome("basic-auth", "documentation pair", "reject")
    return CheckOutcome("basic-auth", "user:password", "raise")


_NKEY_B32 = re.compile(r"^S[UAONCXP][A-Z2-7]{56}$")


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def nats_nkey_seed(secret: str) -> Optional[CheckOutcome]:
    """NATS nkey seeds: base32 (no padding) of two prefix bytes, a 32-byte ed25519 seed and a
    CRC-16/XMODEM of those 34 bytes (little-endian).  Valid: raise; invalid: lower."""
    if not _NKEY_B32.match(secret):
        return None
    try:
        raw = base64.b32decode(secret + "=" * (-len(secret) % 8))
    except (binascii.Error, ValueError):
        return CheckOutcome("checksum", "invalid", "lower")
    ok = len(raw) == 36 and int.from_bytes(raw[-2:], "little") == _crc16(raw[:-2])
    return CheckOutcome("checksum", "valid" if ok else "invalid", "raise" if ok else "lower")


CONTEXT_CHECKS: dict[str, Callable[[str, dict[str, Optional[str]]], Optional[CheckOutcome]]] = {
    "demo-credentials": demo_credentials,
}

CHECKS: dict[str, Callable[[str], Optional[CheckOutcome]]] = {
    "github-crc32": github_crc32,
    "npm-crc32": npm_crc32,
    "gitlab-routable-crc32": gitlab_routable_crc32,
    "aws-key-type": aws_key_type,
    "pypi-macaroon": pypi_macaroon,
    "stripe-mode": stripe_mode,
    "basic-auth": basic_auth,
    "nats-nkey-seed": nats_nkey_seed,
    **__import__("keyscan.detect.jwt", fromlist=["JWT_CHECKS"]).JWT_CHECKS,  # jwt, jwt-exp
}
