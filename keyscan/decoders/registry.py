"""Which decoders apply to a document."""

from __future__ import annotations

from ..documents import Document
from .interface import Decoder

DECODERS: tuple[Decoder, ...] = ()


def decoders_for(doc: Document) -> list[Decoder]:
    return [d for d in DECODERS if d.wants(doc)]
