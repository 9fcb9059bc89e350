"""Filters that tell a real secret from a placeholder, a reference or an ID.

Provider rules use :func:`is_placeholder`; generic (entropy) rules also use
:func:`is_generic_false_positive`, which knows about hashes, UUIDs and the
like.  All functions are pure and cheap: they run only on regex matches.
"""

from __future__ import annotations

import re

_PLACEHOLDER_WORDS = re.compile(
    r"(?i)(x{4,}|\*{3,}|\.{3}|…|<[^<>]{1,80}>|\byour[_-]|[_-]here\b|changeme|change_me|"
    r"placeholder|redacted|\[masked\]|dummy|sample|example|fake|"
    r"\btodo\b|\bnull\b|\bnone\b|insert[_-]?(your|key|token)|replace[_-]?me|"
    r"0{8,}|1234567890|abcdef(gh|123)|\(\(redacted\)\))"
)
# ${VAR}, ${{ secrets.X }}, $VAR, {{ var }}, %(var)s, %VAR%, {env:X}, os.environ..., process.env.X
_REFERENCE = re.compile(
    r"^\s*(\$\{\{?[^}]*\}\}?|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}]*\}\}|%\([a-z_]+\)s|%[A-Za-z_]+%|"
    r"\{env:[^}]+\}|\{\{?\s*secrets\.)"
)
_REFERENCE_ANYWHERE = re.compile(
    r"(\$\{[^}]*\}|\$\{\{[^}]*\}\}|os\.environ|os\.getenv|process\.env|getenv\(|ENV\[|"
    r"secrets\.[A-Z_]+|op://|vault:|ssm:|arn:aws:secretsmanager)"
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_INTEGRITY = re.compile(r"^(sha1|sha256|sha384|sha512)[-:]")
_ONLY_LETTERS = re.compile(r"^[A-Za-z_.-]+$")
_PATHLIKE = re.compile(r"^(\.{0,2}/|[A-Za-z]:\\|~/)|^[\w.-]+(/[\w.-]+){2,}$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+(\(\)?)?$")
_REPEAT = re.compile(r"(.)\1{5,}")


def is_placeholder(value: str) -> bool:
    """True for values that are clearly not a real credential."""
    if not value:
        return True
    if _REFERENCE.match(value) or _PLACEHOLDER_WORDS.search(value):
        return True
    if _REPEAT.search(value) and len(set(value)) < max(6, len(value) // 4):
        return True
    return False


def is_reference(value: str) -> bool:
    """True when the value names where a secret lives instead of holding it."""
    return bool(_REFERENCE.match(value) or _REFERENCE_ANYWHERE.search(value))


def is_generic_false_positive(value: str) -> bool:
    """Values a generic (context + entropy) rule must not report."""
    if is_placeholder(value) or is_reference(value):
        return True
    if _UUID.match(value):
        return True
    if _HEX.match(value) and len(value) in (32, 40, 56, 64, 96, 128):
        return True  # md5/sha1/sha224/sha256/sha384/sha512 digests and git SHAs
    if _INTEGRITY.match(value):
        return True  # lock-file integrity hashes
    if _ONLY_LETTERS.match(value) and not any(c.isupper() for c in value[1:]):
        return True  # words and snake_case identifiers
    if _PATHLIKE.match(value) or _IDENT.match(value):
        return True
    if value.isdigit():
        return True
    return False


def charset_class(value: str) -> str:
    """``hex``, ``base64`` or ``other``: generic thresholds depend on the alphabet."""
    if _HEX.match(value):
        return "hex"
    if re.match(r"^[A-Za-z0-9+/=_-]+$", value):
        return "base64"
    return "other"
