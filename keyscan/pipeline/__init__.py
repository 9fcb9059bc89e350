"""Scanning: one document through decoders and detect (:mod:`.document`),
the runner that consumes every source (:mod:`.runner`) and its worker
processes (:mod:`.workers`)."""

from .document import scan_bytes, scan_chunked, scan_document, strict_mode

__all__ = ["scan_bytes", "scan_chunked", "scan_document", "strict_mode"]
