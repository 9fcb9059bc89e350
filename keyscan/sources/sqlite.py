"""SQLite databases as a source: every TEXT and BLOB cell becomes a document.

Agents and editors keep their history in SQLite (Cursor and VS Code
``state.vscdb``, LangGraph checkpoints, ``mlflow.db``, aider caches).  A file
is recognised by its header (``SQLite format 3\\0``), never by its name, and
opened read-only with ``immutable=1``, so a database that its owner holds open
(or is writing) is read without locks and never changed; content still in a
``-wal`` file is not seen.

Each cell is yielded as a :class:`SourceItem` whose path is the database and
whose ``cell`` property says where it is: ``table cursorDiskKV, key
bubbleId:…`` for a key/value table, ``table writes, rowid 7, column value``
otherwise.  The pipeline appends the decoder's location (a JSON path...).
TEXT cells are scanned as they are (JSON values are unescaped by the JSON
decoder, at any depth); a BLOB is scanned as text when it is UTF-8, else its
printable strings are extracted (msgpack, pickles and protobufs store strings
as runs of plain bytes).

Work is bounded (:class:`SqliteLimits`): rows per table, bytes per cell and
bytes per database; whatever was not read is reported as a skip reason.  A
file that is not a readable database is skipped with the reason, never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Generator, Iterator, Optional, Union
from urllib.parse import quote

from ..models import Provenance, SkippedFile
from .interface import SourceItem

if TYPE_CHECKING:
    import sqlite3

KEY_COLUMN = "key"
"""A column named so, or a single-column text primary key, names a row better than its rowid."""
MIN_CELL = 8
"""Shorter cells cannot hold a secret any rule finds."""
_STRINGS = re.compile(rb"[\x20-\x7e\t]{6,}")
_KEY_SHOWN = 48


@dataclass(frozen=True)
class SqliteLimits:
    max_rows: int = 200_000
    """Rows read per table."""
    max_cell: int = 16 * 1024 * 1024
    """Bytes read per cell (a longer cell is scanned up to this and reported)."""
    max_bytes: int = 1024 * 1024 * 1024
    """Bytes of cells read per database."""



def sidecar_strings(path: str, fs_path: Optional[str], data: Optional[bytes], provenance: Provenance,
                    limits: SqliteLimits = SqliteLimits()) -> Iterator[Union[SourceItem, SkippedFile]]:
    """The printable strings of a ``-wal``/``-journal`` file, as one document."""
    try:
        if data is None:
            with open(fs_path or path, "rb") as fh:
                data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        yield SkippedFile(path, f"unreadable: {exc.strerror or exc}")
        return
    if len(data) > limits.max_bytes:
        yield SkippedFile(path, f"partly read: first {limits.max_bytes} bytes of the SQLite journal")
        data = data[:limits.max_bytes]
    raw = b"\n".join(_STRINGS.findall(data))
    yield SourceItem(path=path, size=len(raw), data=raw,
                     provenance=replace(provenance, cell="journal pages (strings)"))


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _connect(fs_path: Optional[str], data: Optional[bytes]) -> sqlite3.Connection:
    import sqlite3  # loaded on first use (here, cells, _table): most scans meet no database

    if fs_path is not None:
        uri = f"file:{quote(fs_path)}?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True, check_same_thread=False)
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    if not hasattr(conn, "deserialize"):
        conn.close()
        raise sqlite3.NotSupportedError("a database inside an archive needs Python 3.11")
    conn.deserialize(data or b"")
    return conn


def cell_text(value: Union[str, bytes]) -> Optional[bytes]:
    """The bytes to scan for one cell (None: nothing worth scanning)."""
    if isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
        if len(raw) < MIN_CELL:
            return None
        if b"\x00" not in raw:
            return raw
        value = raw  # text with NULs: its strings, like a BLOB's
    if len(value) < MIN_CELL:
        return None
    if b"\x00" not in value:
        try:
            value.decode("utf-8")
            return value
        except UnicodeDecodeError:
            pass
    found = _STRINGS.findall(value)
    return b"\n".join(found) if found else None


def _row_name(key: object, rowid: Optional[int], key_col: Optional[str]) -> str:
    if key_col is not None and isinstance(key, (str, int)):
        text = str(key)
        if len(text) > _KEY_SHOWN:
            text = text[:_KEY_SHOWN] + "…"
        return f"{key_col} {text}"
    return f"rowid {rowid}" if rowid is not None else "row"


def cells(path: str, fs_path: Optional[str] = None, data: Optional[bytes] = None,
          provenance: Provenance = Provenance(),
          limits: SqliteLimits = SqliteLimits()) -> Iterator[Union[SourceItem, SkippedFile]]:
    """The cells of the database at ``fs_path`` (or in ``data``), shown as
    ``path``; a :class:`SkippedFile` says what could not be read."""
    import sqlite3

    try:
        conn = _connect(fs_path, data)
    except (sqlite3.Error, OSError) as exc:
        yield SkippedFile(path, f"unreadable SQLite database ({_reason(exc)})")
        return
    try:
        try:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        except sqlite3.Error as exc:
            yield SkippedFile(path, f"corrupt SQLite database ({_reason(exc)})")
            return
        budget = limits.max_bytes
        for table in tables:
            if budget <= 0:
                break  # reported by the table that reached it
            read = yield from _table(conn, path, table, provenance, limits, budget)
            budget -= read
    finally:
        conn.close()


def _table(conn: sqlite3.Connection, path: str, table: str, provenance: Provenance,
           limits: SqliteLimits, budget: int) -> Generator[Union[SourceItem, SkippedFile], None, int]:
    """Yield one table's cells; return the bytes read."""
    import sqlite3

    q = _quote_ident(table)
    try:
        info = list(conn.execute(f"PRAGMA table_info({q})"))
    except sqlite3.Error as exc:
        yield SkippedFile(path, f"partly read: table {table} unreadable ({_reason(exc)})")
        return 0
    if not info:
        return 0
    cols = [r[1] for r in info]
    pks = [r for r in info if r[5]]
    key_col = next((c for c in cols if c.lower() == KEY_COLUMN), None)
    if key_col is None and len(pks) == 1 and "INT" not in str(pks[0][2]).upper():
        key_col = pks[0][1]
    kv = key_col is not None and len(cols) == 2  # a key/value table: the value column goes unnamed
    select = ", ".join(_quote_ident(c) for c in cols)
    try:
        cur = conn.execute(f"SELECT rowid, {select} FROM {q}")
        has_rowid = True
    except sqlite3.Error:  # WITHOUT ROWID table (or a view-like oddity)
        try:
            cur = conn.execute(f"SELECT {select} FROM {q}")
            has_rowid = False
        except sqlite3.Error as exc:
            yield SkippedFile(path, f"partly read: table {table} unreadable ({_reason(exc)})")
            return 0
    key_i = cols.index(key_col) if key_col is not None else -1
    read = rows = 0
    over_cells = 0
    try:
        for row in cur:
            rows += 1
            if rows > limits.max_rows:
                yield SkippedFile(path, f"partly read: table {table}: rows after {limits.max_rows} not read")
                break
            rowid = row[0] if has_rowid else None
            values = row[1:] if has_rowid else row
            where = None
            for col, value in zip(cols, values):
                if not isinstance(value, (str, bytes)):
                    continue
                if len(value) > limits.max_cell:
                    over_cells += 1
                    value = value[:limits.max_cell]
                raw = cell_text(value)
                if raw is None:
                    continue
                if where is None:
                    where = f"table {table}, {_row_name(values[key_i] if key_i >= 0 else None, rowid, key_col)}"
                cell = where if kv and col != key_col else f"{where}, column {col}"
                read += len(raw)
                yield SourceItem(path=path, size=len(raw), data=raw,
                                 provenance=replace(provenance, cell=cell))
            if read >= budget:
                yield SkippedFile(path, f"partly read: table {table} after row {rows} and later tables not read "
                                  f"(over {limits.max_bytes} bytes per database)")
                break
    except sqlite3.Error as exc:
        yield SkippedFile(path, f"partly read: table {table} after row {rows} ({_reason(exc)})")
    if over_cells:
        yield SkippedFile(path, f"partly read: table {table}: {over_cells} cell(s) longer than "
                          f"{limits.max_cell} bytes read only up to it")
    return read


def _reason(exc: BaseException) -> str:
    # sqlite3 messages name the problem ("file is not a database"), never cell content.
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
