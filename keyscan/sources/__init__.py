"""Sources produce the items to scan: files on disk (``filesystem``), standard
input (``stdin``), archive members and database cells (``containers``), git
commits, staged changes and diffs (``history``), the AI tools' homes (``aihome``)."""

from .interface import SourceItem
from .filesystem import walk

__all__ = ["SourceItem", "walk"]
