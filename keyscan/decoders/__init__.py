"""Decoders turn a document into extra fragments of decoded text (JSON string
values, notebook cells, cleaned CI logs, base64 blobs), each with an exact map
back to the document's offsets and a logical location."""

from .interface import Decoder, Fragment, Segment
from .registry import decoders_for

__all__ = ["Decoder", "Fragment", "Segment", "decoders_for"]
