"""Scan one document: raw text and decoded fragments through the engine."""

from __future__ import annotations

from .decoders import decoders_for
from .detect.engine import Engine
from .documents import Document
from .findings import Candidate, build_finding, resolve_overlaps
from .models import Finding


def scan_document(doc: Document, engine: Engine) -> list[Finding]:
    cands: list[Candidate] = []
    found: dict[bytes, list[int]] = {}
    doc.decode_depth = engine.decode_depth
    raw = engine.scan(doc.data, lambda: doc.text, doc.errors, triggers=found)
    doc.record_triggers(engine.triggers, found, engine.located)  # decoders' literal gates, answered by the same pass
    decoders = decoders_for(doc)
    if raw:
        locate = _locator(doc, decoders)
        cands.extend(Candidate(m, m.start, m.end, locate(m.start)) for m in raw)
    for decoder in decoders:
        for frag in decoder.fragments(doc):
            if not frag.text:
                continue
            data = frag.text.encode("utf-8", "surrogatepass")
            for m in engine.scan(data, frag.text, "surrogatepass"):
                start = frag.to_doc(m.start)
                end = frag.to_doc_end(m.end)
                cands.append(Candidate(m, start, max(end, start + 1), frag.location_at(m.start),
                                       decoder.name))
    if not cands:
        return []
    carrier = next((c for c in (getattr(d, "carrier", "") for d in decoders) if c), "")
    return [build_finding(doc, c, carrier) for c in resolve_overlaps(_dedupe(cands))]


def _dedupe(cands: list[Candidate]) -> list[Candidate]:
    """The same rule and secret at the same place, found raw and decoded, is one finding."""
    best: dict[tuple, Candidate] = {}
    for c in cands:
        key = (c.match.rule.id, c.start, c.match.secret)
        if key not in best or c.location and not best[key].location:
            best[key] = c
    return list(best.values())


def _locator(doc: Document, decoders):
    def locate(offset: int):
        for d in decoders:
            loc = d.locate(doc, offset)
            if loc:
                return loc
        return None

    return locate
