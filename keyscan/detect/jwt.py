"""Offline JSON Web Token checks (RFC 7519 / RFC 7515 compact serialization).

A JWS compact token is ``base64url(header) . base64url(payload) . base64url(signature)``.
Nothing is verified against a key and nothing goes over the network: the
header and payload are decoded locally to tell a real token from a lookalike
and to say what kind of token it is.

* ``jwt`` (label ``jwt-alg``): the header must decode to a JSON object with a
  string ``alg`` (RFC 7515 section 4.1.1 makes it mandatory) and the payload to a
  JSON object, otherwise the value is rejected.  The value is the algorithm,
  e.g. ``HS256``; an unsecured token (``alg: none``, RFC 7519 section 6) is
  reported as ``none``: anyone can forge one, so accepting it is a bug on its own.
  The jwt.io documentation sample and Supabase ``anon`` keys (public by design)
  are rejected too.
* ``jwt-exp`` (label ``jwt-exp``): ``expired <date>``, ``valid until <date>`` or
  ``no-exp`` (a token without expiry is a long-lived credential).
"""

from __future__ import annotations

import binascii
import json
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:  # checks.py imports this module to register the checks
    from .checks import CheckOutcome

MAX_PART = 16 * 1024


def b64url_decode(part: str) -> Optional[bytes]:
    """Decode one base64url segment (padding optional); None when it is not base64url."""
    if not part or len(part) > MAX_PART or len(part) % 4 == 1:
        return None
    if part.strip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"):
        return None
    try:
        return binascii.a2b_base64(part.translate(str.maketrans("-_", "+/")) + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return None


def _json_object(part: str) -> Optional[dict[str, Any]]:
    raw = b64url_decode(part)
    if raw is None:
        return None
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def decode(token: str) -> Optional[tuple[dict[str, Any], dict[str, Any]]]:
    """``(header, payload)`` of a compact JWS, or None when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header = _json_object(parts[0])
    if header is None or not isinstance(header.get("alg"), str) or not header["alg"]:
        return None
    payload = _json_object(parts[1])
    if payload is None:
        return None
    return header, payload


def is_public_example(payload: dict[str, Any]) -> bool:
    """Tokens that are not secrets: the jwt.io / RFC documentation sample
    (``sub: 1234567890``, ``name: John Doe``) and Supabase ``anon`` keys, which are
    public by design (row-level security protects the data)."""
    if payload.get("sub") == "1234567890" and payload.get("name") == "John Doe":
        return True
    return payload.get("iss") == "supabase" and payload.get("role") == "anon"


def check(secret: str) -> "Optional[CheckOutcome]":
    """``jwt-alg``: reject lookalikes; report the algorithm (``none`` for unsecured tokens)."""
    from .checks import CheckOutcome

    decoded = decode(secret)
    if decoded is None:
        return CheckOutcome("jwt-alg", "invalid", "reject")
    if is_public_example(decoded[1]):
        return CheckOutcome("jwt-alg", "public example", "reject")
    alg = decoded[0]["alg"].strip()
    if alg.lower() == "none":
        return CheckOutcome("jwt-alg", "none", "none")
    return CheckOutcome("jwt-alg", alg[:32], "none")


def check_exp(secret: str, now: Optional[float] = None) -> "Optional[CheckOutcome]":
    """``jwt-exp``: ``expired <date>``, ``valid until <date>`` or ``no-exp``."""
    from .checks import CheckOutcome

    decoded = decode(secret)
    if decoded is None:
        return None
    exp = decoded[1].get("exp")
    if exp is None:
        return CheckOutcome("jwt-exp", "no-exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return CheckOutcome("jwt-exp", "invalid")
    try:
        when = datetime.fromtimestamp(float(exp), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return CheckOutcome("jwt-exp", "invalid")
    current = time.time() if now is None else now
    if float(exp) <= current:
        return CheckOutcome("jwt-exp", f"expired {when}")
    return CheckOutcome("jwt-exp", f"valid until {when}")


JWT_CHECKS: "dict[str, Callable[[str], Optional[CheckOutcome]]]" = {
    "jwt": check,
    "jwt-exp": check_exp,
}
