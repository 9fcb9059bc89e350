"""Fingerprints: stable, one-way identifiers of (rule, secret) that do not
help someone guess the secret.

A fingerprint is ``scrypt(rule_id NUL secret, salt, N=2**10, r=8, p=1)``
truncated to 16 bytes (32 hex digits).  scrypt is slow and needs 1 MiB of
memory per guess, so a fingerprint found in a report or a committed baseline
is no cheap oracle for a dictionary attack (the old scheme, one SHA-256,
gave a 12-character password back after 19 guesses from its redacted prefix
and length).

Why a slow hash with a *public* salt rather than a keyed HMAC: a fingerprint
must be the same on every machine and every run, so that CI, developers and
code scanning see the same finding (SARIF ``partialFingerprints``, GitLab
ids, baselines, the NHI9 "same secret in several files" risk).  An HMAC key
would have to be shared by all of them, i.e. committed next to the
fingerprints it protects, which protects nothing.  So:

* **report fingerprints** (JSON ``fingerprint``, SARIF, GitLab, NHI9) use the
  fixed salt :data:`REPORT_SALT`: stable everywhere, each guess costs one
  scrypt;
* **baselines** use a random salt stored in the baseline file (``baseline_id``)
  (:mod:`keyscan.baseline`): entries stay stable for that file's lifetime,
  and no table precomputed for one repository (or for every keyscan user)
  applies to another.

The scheme is versioned (:data:`VERSION`); a baseline of version 1 (the old
SHA-256 fingerprints) is still read, and rewritten in the current scheme by
``keyscan baseline update``.
"""

from __future__ import annotations

import functools
import hashlib

VERSION = 2
SCHEME = "scrypt"
N = 2 ** 10
R = 8
P = 1
LENGTH = 16
"""Bytes of output (hex-encoded: 32 characters)."""
REPORT_SALT = b"keyscan-fingerprint-v2"
MAXMEM = 4 * 128 * N * R  # headroom over the 1 MiB the parameters need


def _message(rule_id: str, secret: str) -> bytes:
    return f"{rule_id}\x00{secret}".encode("utf-8", "surrogatepass")


@functools.lru_cache(maxsize=8192)
def fingerprint(rule_id: str, secret: str, salt: bytes = REPORT_SALT) -> str:
    """The version-2 fingerprint of ``secret`` found by rule ``rule_id``.

    Memoized (a pure function): the same secret found in many files or
    commits costs one scrypt per process."""
    return hashlib.scrypt(_message(rule_id, secret), salt=salt, n=N, r=R, p=P, maxmem=MAXMEM,
                          dklen=LENGTH).hex()


def legacy_fingerprint(rule_id: str, secret: str) -> str:
    """The version-1 fingerprint (one SHA-256), only to read old baselines."""
    return hashlib.sha256(_message(rule_id, secret)).hexdigest()[:32]
