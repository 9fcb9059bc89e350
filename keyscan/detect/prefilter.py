"""Multi-pattern keyword prefilter.

All rule keywords are compiled once into one database.  A scan returns every
(case-insensitive, possibly overlapping) keyword occurrence as
``(keyword_index, end_byte_offset)``; the exact rule regexes then run only on
small windows around those hits.

Two implementations give identical hits:

* :class:`HyperscanPrefilter` (the ``hyperscan`` package, where wheels exist);
* :class:`PythonPrefilter`, a pure-Python fallback built on ``bytes.find``.
"""

from __future__ import annotations

from typing import Protocol, Sequence


class Prefilter(Protocol):
    name: str

    def hits(self, data: bytes) -> list[tuple[int, int]]:
        """Every keyword occurrence in ``data`` as ``(keyword_index, end_offset)``."""
        ...


class PythonPrefilter:
    name = "python"

    def __init__(self, keywords: Sequence[str]):
        self._keywords = [kw.lower().encode("ascii") for kw in keywords]
        # Group keywords by their first two bytes so one find() per group
        # locates candidates for several keywords.
        groups: dict[bytes, list[int]] = {}
        for i, kw in enumerate(self._keywords):
            groups.setdefault(kw[:2], []).append(i)
        self._groups = sorted(groups.items())

    def hits(self, data: bytes) -> list[tuple[int, int]]:
        lowered = data.lower()  # bytes.lower() only touches ASCII: offsets are kept
        out: list[tuple[int, int]] = []
        find = lowered.find
        startswith = lowered.startswith
        keywords = self._keywords
        for head, members in self._groups:
            pos = find(head)
            while pos != -1:
                for i in members:
                    kw = keywords[i]
                    if startswith(kw, pos):
                        out.append((i, pos + len(kw)))
                pos = find(head, pos + 1)
        return out


class HyperscanPrefilter:
    name = "hyperscan"

    def __init__(self, keywords: Sequence[str], serialized: bytes | None = None):
        import hyperscan

        self._hs = hyperscan
        if serialized is not None:
            self._db = hyperscan.loadb(serialized, hyperscan.HS_MODE_BLOCK)
        else:
            self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            exprs = [kw.lower().encode("ascii") for kw in keywords]
            self._db.compile(
                expressions=exprs,
                ids=list(range(len(exprs))),
                elements=len(exprs),
                flags=[hyperscan.HS_FLAG_CASELESS] * len(exprs),
                literal=True,
            )
        self._scratch = hyperscan.Scratch(self._db)
        self._db.scratch = self._scratch

    def serialize(self) -> bytes:
        return self._hs.dumpb(self._db)

    def hits(self, data: bytes) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        append = out.append

        def on_match(kw_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            append((kw_id, to))

        if data:
            self._db.scan(data, match_event_handler=on_match)
        return out


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except Exception:  # ImportError, or a broken native library
        return False
    return True
