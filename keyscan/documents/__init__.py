"""Documents: a file's text plus the map from offsets to on-disk line/column."""

from .document import Document, read_document

__all__ = ["Document", "read_document"]
