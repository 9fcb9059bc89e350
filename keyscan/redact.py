"""Redaction: how a secret is shown when ``--show-secrets`` is off."""

from __future__ import annotations

from typing import Iterable

PASSWORD_TAGS = frozenset({"password", "generic"})
"""Tags of rules whose values are often chosen by people (passwords, generic
assignments): no characters of those are ever shown."""


def is_password_class(rule_id: str, tags: Iterable[str]) -> bool:
    """Passwords and other human-chosen values (generic rules): a prefix of
    those narrows a dictionary attack, so it is never shown."""
    return "password" in rule_id or not PASSWORD_TAGS.isdisjoint(tags)


def redact(secret: str, prefix: bool = True) -> str:
    """A short prefix plus the length, e.g. ``ghp_…(40)``; without ``prefix``
    (password-class values) only ``…(redacted)``: neither characters nor length.

    The prefix never exceeds a quarter of the value (at most 4 characters), so
    short tokens reveal at most a character or two.
    """
    if not prefix:
        return "…(redacted)"
    keep = min(4, len(secret) // 4)
    return f"{secret[:keep]}…({len(secret)})"
