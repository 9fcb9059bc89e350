"""Sources produce the items to scan: files on disk, stdin, git blobs."""

from .interface import SourceItem
from .filesystem import walk

__all__ = ["SourceItem", "walk"]
