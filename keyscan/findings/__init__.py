"""Turning raw matches into findings: positions, fingerprint, redaction, NHI risks."""

from .build import Candidate, build_finding, fingerprint, resolve_overlaps

__all__ = ["Candidate", "build_finding", "fingerprint", "resolve_overlaps"]
