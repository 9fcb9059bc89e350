"""Redaction: how a secret is shown when ``--show-secrets`` is off."""

from __future__ import annotations


def redact(secret: str) -> str:
    """A short prefix plus the length, e.g. ``ghp_…(40)``.

    The prefix never exceeds a quarter of the value (at most 4 characters), so
    short passwords reveal at most a character or two.
    """
    keep = min(4, len(secret) // 4)
    return f"{secret[:keep]}…({len(secret)})"
