"""Scan one document: raw text and decoded fragments through the engine."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import BinaryIO, Iterable, Optional

from ..decoders import decoders_for
from ..detect.engine import Engine, RuleBudget
from ..documents import Document, read_document
from ..documents.chunked import CHUNK_SIZE, chunks, overlap_for, read_chunks
from ..findings import Candidate, build_finding, resolve_overlaps
from ..models import Finding, Provenance
from ..redact import is_password_class, redact


def strict_mode() -> bool:
    """``KEYSCAN_STRICT=1``: a failing decoder raises instead of being
    reported (the robustness tests run this way, so a fuzzer can fail)."""
    return os.environ.get("KEYSCAN_STRICT", "") not in ("", "0")


def scan_document(doc: Document, engine: Engine, strict: Optional[bool] = None) -> list[Finding]:
    """Every finding in ``doc``: its raw text, then each decoder's fragments.

    One error policy: an exception from a decoder is caught here, once per
    (document, decoder); the decoder's findings in this document are lost and
    ``doc.failures`` says so ("decoder X failed on this file", with the
    exception type only, never its text, which could quote the content),
    while the findings of the raw scan and of the other decoders are kept.
    With ``strict`` (default: :func:`strict_mode`) the exception propagates.
    A rule whose regex timed out, or that used up its time budget for the
    document and was disabled for the rest of it
    (:data:`keyscan.detect.engine.RULE_BUDGET`), is reported in
    ``doc.failures`` the same way, with the rule id.
    """
    cands: list[Candidate] = []
    found: dict[bytes, list[int]] = {}
    budget = RuleBudget()
    doc.decode_depth = engine.decode_depth
    raw = engine.scan(doc.data, lambda: doc.text, doc.errors, triggers=found, budget=budget)
    doc.record_triggers(engine.triggers, found, engine.located)  # decoders' literal gates, answered by the same pass
    decoders = decoders_for(doc)
    failed: set[str] = set()
    if strict is None:
        strict = strict_mode()
    if raw:
        locate = _locator(doc, decoders, failed, strict)
        cands.extend(Candidate(m, m.start, m.end, locate(m.start)) for m in raw)
    for decoder in decoders:
        if decoder.name in failed:
            continue
        mark = len(cands)
        try:
            for frag in decoder.fragments(doc):
                if not frag.text:
                    continue
                data = frag.text.encode("utf-8", "surrogatepass")
                for m in engine.scan(data, frag.text, "surrogatepass", budget=budget):
                    start = frag.to_doc(m.start)
                    end = frag.to_doc_end(m.end)
                    cands.append(Candidate(m, start, max(end, start + 1), frag.location_at(m.start),
                                           decoder.name))
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:
            if strict:
                raise
            del cands[mark:]  # a half-decoded fragment's findings could be misplaced
            _failed(doc, decoder.name, exc, failed)
    if budget.timed_out or budget.disabled:
        _budget_failures(doc, budget)
    if not cands:
        return []
    carrier = next((c for c in (getattr(d, "carrier", "") for d in decoders) if c), "")
    return _scrub_locations(doc, [build_finding(doc, c, carrier) for c in resolve_overlaps(_dedupe(cands))], cands)


def scan_bytes(engine: Engine, path: str, raw: bytes,
               provenance: Provenance = Provenance(), *, strict: Optional[bool] = None,
               failures: Optional[list[str]] = None) -> list[Finding]:
    """Scan in-memory content as if it were the file ``path``.  What went
    wrong (a decoder that failed, a rule that timed out) is added to
    ``failures`` when given; ``strict`` re-raises a decoder's exception
    (see :func:`scan_document`)."""
    doc = read_document(path, raw, provenance)
    found = scan_document(doc, engine, strict)
    if failures is not None:
        failures.extend(doc.failures)
    return found


def _budget_failures(doc: Document, budget: RuleBudget) -> None:
    for rule_id in sorted(budget.timed_out - budget.disabled):
        doc.failures.append(f"rule {rule_id} timed out on this file (matches of this rule may be missing)")
    for rule_id in sorted(budget.disabled):
        doc.failures.append(f"rule {rule_id} disabled on this file: its regex used up its time budget "
                            f"({budget.seconds:g} s; matches of this rule may be missing)")


def _failed(doc: Document, name: str, exc: BaseException, failed: set[str]) -> None:
    failed.add(name)
    # Only the exception type: its text could quote the file's content.
    doc.failures.append(f"decoder {name} failed on this file ({type(exc).__name__}); "
                        "findings of the raw text and other decoders kept")


def _scrub_locations(doc: Document, findings: list[Finding], cands: list[Candidate]) -> list[Finding]:
    """Locations and source properties built from redacted text.

    A secret can itself be part of a location: a JSON object key (token
    caches, header maps, MCP ``env`` keys) appears in the JSON path of what is
    nested under it.  Every secret any candidate of this document matched
    (including ones later dropped as overlaps, or filtered by severity or
    suppressions) is replaced by its redaction wherever a location or property
    holds it.  A chunk of a large file that starts in the middle of a line
    has no reliable structure on that line (the JSON tokenizer may start
    inside a string and take values for keys): findings there get no location.
    """
    first_line = doc.position(0)[0] if doc.col_offset else 0
    if not any(f.location for f in findings):
        return findings
    shown: dict[str, str] = {}
    for c in cands:
        secret = c.match.secret
        if secret and secret not in shown:
            shown[secret] = redact(secret, prefix=not is_password_class(c.match.rule.id, c.match.rule.tags))
    pattern = re.compile("|".join(re.escape(s) for s in sorted(shown, key=len, reverse=True))) if shown else None

    def scrub(text: str) -> str:
        return pattern.sub(lambda m: shown[m.group(0)], text) if pattern is not None else text

    out = []
    for f in findings:
        loc = f.location
        if loc and first_line and f.start_line == first_line:
            loc = None
        if loc:
            loc = scrub(loc)
        if loc != f.location:
            f = replace(f, location=loc)
        out.append(f)
    return out


def _dedupe(cands: list[Candidate]) -> list[Candidate]:
    """The same rule and secret at the same place, found raw and decoded, is one finding."""
    best: dict[tuple, Candidate] = {}
    for c in cands:
        key = (c.match.rule.id, c.start, c.match.secret)
        if key not in best or c.location and not best[key].location:
            best[key] = c
    return list(best.values())


def _locator(doc: Document, decoders, failed: set[str], strict: bool):
    def locate(offset: int):
        for d in decoders:
            if d.name in failed:
                continue
            try:
                loc = d.locate(doc, offset)
            except (KeyboardInterrupt, MemoryError):
                raise
            except Exception as exc:
                if strict:
                    raise
                _failed(doc, d.name, exc, failed)
                continue
            if loc:
                return loc
        return None

    return locate


def scan_chunked(engine: Engine, display: str, fs_path: str, chunk_size: int = CHUNK_SIZE,
                 provenance: Provenance = Provenance(), start: int = 0,
                 stop: int = -1, *, strict: Optional[bool] = None,
                 failures: Optional[list[str]] = None) -> tuple[list[Finding], int]:
    """Findings of the file at ``fs_path`` (reported as ``display``) and the
    number of bytes scanned.

    With a byte range (``start`` a line start, ``stop`` -1 for the end of the
    file), only findings that start inside it are returned: the range is read
    ``overlap`` bytes past ``stop`` so that a secret across the boundary is
    whole, and the next range leaves it to this one."""
    overlap = overlap_for(chunk_size)
    size = os.path.getsize(fs_path)
    docs = chunks(display, fs_path, chunk_size, overlap, provenance, start, stop)
    return _scan_chunks(engine, docs, strict, failures), max(0, min(size, stop if stop >= 0 else size) - start)


def scan_stream(engine: Engine, display: str, stream: BinaryIO, chunk_size: int = CHUNK_SIZE,
                provenance: Provenance = Provenance(), prefix: bytes = b"", *,
                strict: Optional[bool] = None, failures: Optional[list[str]] = None) -> tuple[list[Finding], int]:
    """Findings of a stream read forward only (standard input), chunk by chunk
    as :func:`scan_chunked` reads a file (same findings, lines and columns),
    and the number of bytes read; ``prefix`` holds bytes already read from it."""
    counted = _Counted(stream)
    docs = read_chunks(counted, display, chunk_size, overlap_for(chunk_size), provenance, prefix=prefix)
    return _scan_chunks(engine, docs, strict, failures), len(prefix) + counted.read_bytes


class _Counted:
    """A binary stream that counts the bytes read from it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.read_bytes = 0

    def read(self, n: int = -1) -> bytes:
        block = self._stream.read(n)
        self.read_bytes += len(block)
        return block


def _scan_chunks(engine: Engine, docs: Iterable[tuple[Document, Optional[tuple[int, int]]]],
                 strict: Optional[bool], failures: Optional[list[str]]) -> list[Finding]:
    findings: list[Finding] = []
    for doc, own_until in docs:
        for f in scan_document(doc, engine, strict):
            if own_until is None or (f.start_line, f.start_column) < own_until:
                findings.append(f)
        if failures is not None:
            failures.extend(m for m in doc.failures if m not in failures)  # once per file
    return findings
