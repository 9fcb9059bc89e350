"""Which decoders apply to a document."""

from __future__ import annotations

from ..documents import Document
from .interface import Decoder
from .assignments import DECODER as ASSIGNMENTS_DECODER
from .cilog import DECODER as CILOG_DECODER
from .encoded import DECODER as ENCODED_DECODER
from .json_decoder import JSON_DECODER
from .mcp_decoder import DECODER as MCP_DECODER
from .notebook import DECODER as NOTEBOOK_DECODER
from .streams import DECODER as STREAM_DECODER

DECODERS: tuple[Decoder, ...] = (MCP_DECODER, JSON_DECODER, CILOG_DECODER, ENCODED_DECODER, NOTEBOOK_DECODER,
                                 ASSIGNMENTS_DECODER, STREAM_DECODER)


def decoders_for(doc: Document) -> list[Decoder]:
    return [d for d in DECODERS if d.wants(doc)]


def decoder_located() -> tuple[bytes, ...]:
    """The trigger literals whose every occurrence decoders want located (``Document.ends``)."""
    return tuple(sorted({t for d in DECODERS for t in getattr(d, "located", ())}))


def decoder_triggers() -> tuple[bytes, ...]:
    """The literals decoders test with ``Document.has`` (answered by the engine's raw scan)."""
    return tuple(sorted({t for d in DECODERS for t in getattr(d, "triggers", ())}))
