"""Streamed LLM output: the text of consecutive ``delta`` events, joined.

A streaming API sends a completion in small pieces, one JSON event each:
OpenAI chat ``choices[0].delta.content`` and
``choices[0].delta.tool_calls[0].function.arguments``, Anthropic
``content_block_delta`` events (``delta.text``, ``delta.partial_json``), the
OpenAI Responses API's ``response.*.delta`` events (``delta``).  A key the
model prints (or passes to a tool) is usually cut across several events, so
no single event holds it: captured streams (SSE ``data:`` lines, JSONL logs of
events) hide it from flat-text scanning.

This decoder joins, in order, every string value found at the same JSON path
under a ``delta`` key (``choices[0].delta.content`` over all events, and so
on), as one fragment per path.  Each piece maps exactly to its raw string
literal, so a joined key is reported at the line and column where its first
piece starts, with that piece's JSON path as its location.  Identifiers and
types (``id``, ``type``, ``role``, ``name``, ``index``) are not joined.
"""

from __future__ import annotations

from typing import Iterable, Optional

from ..documents import Document
from .interface import Fragment, Segment
from .json_decoder import JSON_DECODER
from .jsonscan import JsonString, iter_strings, path_str

_NOT_TEXT = frozenset({"id", "type", "role", "name", "index", "stop_reason", "stop_sequence", "finish_reason"})
_DELTA = b'"delta"'


class StreamDecoder:
    name = "stream"
    triggers = (_DELTA,)

    def wants(self, doc: Document) -> bool:
        return doc.has(_DELTA) and JSON_DECODER.wants(doc)

    def locate(self, doc: Document, offset: int) -> Optional[str]:
        return None  # raw hits are located by the JSON decoder

    def fragments(self, doc: Document) -> Iterable[Fragment]:
        streams: dict[tuple, list[JsonString]] = {}
        for s in iter_strings(doc.text):
            path = s.path
            if s.is_key or "delta" not in path or not path or path[-1] in _NOT_TEXT:
                continue
            if s.value:
                streams.setdefault(path, []).append(s)
        return [_joined(path, pieces) for path, pieces in streams.items() if len(pieces) > 1]


def _joined(path: tuple, pieces: list[JsonString]) -> Fragment:
    location = path_str(path)

    def segments() -> list[Segment]:
        out: list[Segment] = []
        pos = 0
        for s in pieces:
            out.extend(s.segments(pos, location))
            pos += len(s.value)
        return out

    return Fragment("".join(s.value for s in pieces), StreamDecoder.name, build=segments, depth=2)


DECODER = StreamDecoder()
