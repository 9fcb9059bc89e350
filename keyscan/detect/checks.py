"""Offline structure checks on a matched secret (no network, ever).

A check returns a :class:`CheckOutcome` or ``None`` when it does not apply.
``effect`` tells the engine what to do with the finding:

* ``"raise"``  - structure confirmed (e.g. checksum valid): confidence high;
* ``"lower"``  - suspicious but possible: confidence lowered one step;
* ``"reject"`` - structurally impossible for a real credential (bad checksum): drop it;
* ``"none"``   - information only (e.g. ``aws-key-type: temporary``).

Checks are registered by name in :data:`CHECKS`; rules name them in ``checks:``.
"""

from __future__ import annotations

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


def base62(n: int, width: int = 6) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(width, "0")


def github_crc32(secret: str) -> Optional[CheckOutcome]:
    """GitHub tokens (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``): the last
    six base62 characters are the CRC32 of the 30 random characters before them."""
    prefix, sep, body = secret.partition("_")
    if not sep or len(body) != 36:
        return None
    payload, checksum = body[:30], body[30:]
    ok = base62(zlib.crc32(payload.encode())) == checksum
    return CheckOutcome("checksum", "valid" if ok else "invalid", "raise" if ok else "reject")


CHECKS: dict[str, Callable[[str], Optional[CheckOutcome]]] = {
    "github-crc32": github_crc32,
}
