"""The `sqlite` source: a SQLite file, read columnar with ADBC (row by row with sqlite3 if not).

Reads, of whole tables and of changes, go through the ADBC SQLite driver straight into Arrow
batches sized by bytes. The driver takes each column's Arrow type from the first rows it sees
(promoting within them, failing on a mismatch later), while SQLite stores each value with its
own type (a NUMERIC column holds 10 as an integer and 10.5 as a real). So the query starts with
a typed witness row
(dropped) that fixes every column's type even when its first rows are NULL, turns integers into
reals or text where the row read would too, and stops with an SQL error at any other mix (text
in an INTEGER column): `ReadByRows`, and the engine reads that table again row by row with
sqlite3, where a batch falls back to text for a column whose values do not fit (the destination
casts them back). Columnar and row reads land the same values.

Incremental syncs use trigger-based change capture, like Fivetran's trigger-based replication:
the first sync of a table with a primary key installs AFTER INSERT/UPDATE/DELETE triggers that
append the touched keys to `_fivetran_changelog` in the source file. A later sync reads only the
keys logged since its cursor (a changelog sequence number) and joins them back to the table:
found keys are upserts, missing ones are deletes. The cost is proportional to the changes, not
to the table. Tables without a primary key are re-read in full (Fivetran's `_fivetran_id`
semantics need every row's values anyway). The changelog is shared by every connection reading
the file, each with its own cursor, so it is never pruned here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import pathname2url

import pyarrow as pa

from fivetran_assets.emulator.dataplane.contract import (
    Catalog,
    ColumnInfo,
    DataPlaneError,
    SetupTest,
    TableInfo,
)
from fivetran_assets.emulator.dataplane.sources.base import (
    BATCH_BYTES,
    DELETED,
    ReadByRows,
    Source,
    SourceSession,
    TableRead,
    TableSpec,
    estimated_row_bytes,
    rows_for_bytes,
    rows_to_batch,
)
from fivetran_assets.emulator.dataplane.types import Kind, logical_type, quote

CHANGELOG = "_fivetran_changelog"
_PROBE_ROWS = 1000  # rows read to measure a table's bytes per row before sizing its batches
_BUSY_TIMEOUT_MS = 30_000
_ARROW = {
    Kind.INTEGER: pa.int64(),
    Kind.BOOLEAN: pa.int64(),
    Kind.DOUBLE: pa.float64(),
    Kind.DECIMAL: pa.float64(),
    Kind.STRING: pa.string(),
    Kind.DATE: pa.string(),
    Kind.TIMESTAMP: pa.string(),
    Kind.TIMESTAMPTZ: pa.string(),
    Kind.BINARY: pa.binary(),
}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Evaluating this fails the statement ("integer overflow"): the columnar query's way to stop at
# a value its column's Arrow type cannot hold exactly, so the engine reads the table by rows.
_MIXED = "abs(-9223372036854775807 - 1)"


def _guarded(col: str, arrow_type: pa.DataType) -> tuple[str, str]:
    """(witness literal, value expression) of one column: values of the column's type pass,
    integers become reals or text where that is exact (what the row read makes of them too),
    anything else stops the read."""
    kind = f"typeof({col})"
    if pa.types.is_floating(arrow_type):
        return "0.0", (
            f"CASE {kind} WHEN 'real' THEN {col} WHEN 'integer' THEN CAST({col} AS REAL) "
            f"WHEN 'null' THEN NULL ELSE {_MIXED} END"
        )
    if pa.types.is_string(arrow_type):
        return "''", (
            f"CASE {kind} WHEN 'text' THEN {col} WHEN 'integer' THEN CAST({col} AS TEXT) "
            f"WHEN 'null' THEN NULL ELSE {_MIXED} END"
        )
    if pa.types.is_binary(arrow_type):
        return "x''", (
            f"CASE {kind} WHEN 'blob' THEN {col} WHEN 'text' THEN CAST({col} AS BLOB) "
            f"WHEN 'null' THEN NULL ELSE {_MIXED} END"
        )
    return "0", f"CASE WHEN {kind} IN ('integer', 'null') THEN {col} ELSE {_MIXED} END"


def _columnar_select(
    spec: TableSpec, types: tuple[pa.DataType, ...], changes: tuple[int, int] | None = None
) -> str:
    """One read as one query: a witness row fixing each column's Arrow type (the driver takes
    types from the first rows it sees), then the rows, guarded. With `changes` (changelog
    sequence numbers after, up to), the keys logged in between joined back to the table: a key
    no longer there is a delete, its key columns from the log, `_fivetran_deleted` true."""
    table = quote(spec.table)
    witness, columns = [], []
    for name, arrow_type in zip(spec.columns, types, strict=True):
        value = quote(name) if changes is None else f"t.{quote(name)}"
        if changes is not None and name in spec.primary_key:
            value = f"coalesce({value}, {_logged_key(spec, name)})"
        literal, guarded = _guarded(value, arrow_type)
        witness.append(f"{literal} AS {quote(name)}")
        columns.append(guarded)
    if changes is None:
        return f"SELECT {', '.join(witness)} UNION ALL SELECT {', '.join(columns)} FROM {table}"
    found = f"t.{quote(spec.primary_key[0])} IS NOT NULL"
    keys = [f"t.{quote(k)}" for k in spec.primary_key]
    match = keys[0] if len(keys) == 1 else f"json_array({', '.join(keys)})"
    return (
        f"SELECT {', '.join(witness)}, 0 AS {DELETED} UNION ALL "
        f"SELECT {', '.join(columns)}, NOT ({found}) FROM (SELECT DISTINCT pk FROM {CHANGELOG} "
        f"WHERE seq > {int(changes[0])} AND seq <= {int(changes[1])} "
        f"AND tbl = {_literal(spec.table)}) AS c LEFT JOIN {table} AS t ON {match} = c.pk"
    )


def _logged_key(spec: TableSpec, name: str) -> str:
    """A key column's value as the changelog holds it (a JSON array for a composite key)."""
    if len(spec.primary_key) == 1:
        return "c.pk"
    return f"json_extract(c.pk, '$[{spec.primary_key.index(name)}]')"


class SqliteSource(Source):
    def __init__(self, config: dict[str, Any]) -> None:
        path = config.get("database")
        if not isinstance(path, str) or not path:
            raise DataPlaneError("config.database: the path of the SQLite file is required")
        self.path = Path(path).expanduser()
        self.schema = str(config.get("schema") or "main")

    def connect(self) -> sqlite3.Connection:
        """Open the existing file read-write; a missing file is an error, never created."""
        if not self.path.is_file():
            raise DataPlaneError(f"SQLite file not found: {self.path}")
        uri = f"file:{pathname2url(str(self.path.resolve()))}?mode=rw"
        try:
            conn = sqlite3.connect(
                uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise DataPlaneError(f"cannot open SQLite file {self.path}: {exc}") from exc
        return conn

    def test(self) -> list[SetupTest]:
        try:
            conn = self.connect()
        except DataPlaneError as exc:
            return [SetupTest("Connecting to the SQLite file", "FAILED", str(exc))]
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            writable = SetupTest("Checking change capture permissions", "PASSED")
        except sqlite3.Error as exc:
            writable = SetupTest(
                "Checking change capture permissions",
                "FAILED",
                f"change capture needs to write to {self.path}: {exc}",
            )
        finally:
            conn.close()
        return [SetupTest("Connecting to the SQLite file", "PASSED"), writable]

    def catalog(self) -> Catalog:
        conn = self.connect()
        try:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                    "AND name NOT LIKE '\\_fivetran\\_%' ESCAPE '\\' ORDER BY rowid"
                )
            ]
            tables = {}
            for name in names:
                info = conn.execute(f"PRAGMA table_info({quote(name)})").fetchall()
                tables[name] = TableInfo(
                    columns={
                        col[1]: ColumnInfo(type=col[2] or "TEXT", is_primary_key=col[5] > 0)
                        for col in info
                    }
                )
            return {self.schema: tables}
        except sqlite3.Error as exc:
            raise DataPlaneError(f"cannot read the catalog of {self.path}: {exc}") from exc
        finally:
            conn.close()

    def session(self) -> SqliteSession:
        return SqliteSession(self)


class SqliteSession(SourceSession):
    def __init__(self, source: SqliteSource) -> None:
        self.source = source
        self.conn = source.connect()
        self._types: dict[str, dict[str, pa.DataType]] = {}
        self._adbc: Any = None
        self._cursor: Any = None  # the ADBC cursor of a read not yet consumed

    def close(self) -> None:
        self._end_columnar()
        if self._adbc is not None:
            self._adbc.close()
            self._adbc = None
        self.conn.close()

    def _end_columnar(self) -> None:
        """Close the last columnar read's cursor and end its snapshot (ADBC refuses to close a
        connection with a statement open, and a read snapshot blocks installing triggers)."""
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
        if self._adbc is not None:
            self._adbc.rollback()

    def _columnar_connection(self) -> Any:
        """The ADBC connection for full reads (read-only), outside any transaction."""
        if self._adbc is None:
            import adbc_driver_sqlite.dbapi as adbc

            uri = f"file:{pathname2url(str(self.source.path.resolve()))}?mode=ro"
            try:
                self._adbc = adbc.connect(uri)
                with self._adbc.cursor() as cur:
                    cur.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            except adbc.Error as exc:
                raise DataPlaneError(f"cannot open SQLite file {self.source.path}: {exc}") from exc
        return self._adbc

    def _arrow_types(self, spec: TableSpec) -> tuple[pa.DataType, ...]:
        if spec.table not in self._types:
            info = self.conn.execute(f"PRAGMA table_info({quote(spec.table)})").fetchall()
            self._types[spec.table] = {
                col[1]: _ARROW[logical_type(col[2] or "TEXT").kind] for col in info
            }
        known = self._types[spec.table]
        missing = [c for c in spec.columns if c not in known]
        if missing:
            raise DataPlaneError(f"table {spec.table}: columns missing at the source: {missing}")
        return tuple(known[c] for c in spec.columns)

    def _key_expr(self, prefix: str, spec: TableSpec) -> str:
        cols = [f"{prefix}.{quote(c)}" for c in spec.primary_key]
        return cols[0] if len(cols) == 1 else f"json_array({', '.join(cols)})"

    def _triggers_installed(self, table: str) -> bool:
        names = {f"_fivetran_ct_{table}_{op}" for op in ("i", "u", "d")}
        found = self.conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
            f"AND name IN ({', '.join('?' * len(names))})",
            (table, *sorted(names)),
        ).fetchone()[0]
        return found == len(names)

    def _install_triggers(self, spec: TableSpec) -> None:
        tbl, lit = quote(spec.table), _literal(spec.table)
        new, old = self._key_expr("NEW", spec), self._key_expr("OLD", spec)
        log = f"INSERT INTO {CHANGELOG} (tbl, pk)"
        statements = [
            f"CREATE TABLE IF NOT EXISTS {CHANGELOG} "
            "(seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, pk BLOB)",
            f"CREATE TRIGGER IF NOT EXISTS {quote('_fivetran_ct_' + spec.table + '_i')} "
            f"AFTER INSERT ON {tbl} BEGIN {log} VALUES ({lit}, {new}); END",
            f"CREATE TRIGGER IF NOT EXISTS {quote('_fivetran_ct_' + spec.table + '_u')} "
            f"AFTER UPDATE ON {tbl} BEGIN {log} VALUES ({lit}, {new}); "
            f"{log} SELECT {lit}, {old} WHERE {old} IS NOT {new}; END",
            f"CREATE TRIGGER IF NOT EXISTS {quote('_fivetran_ct_' + spec.table + '_d')} "
            f"AFTER DELETE ON {tbl} BEGIN {log} VALUES ({lit}, {old}); END",
        ]
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            for statement in statements:
                self.conn.execute(statement)
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise DataPlaneError(
                f"cannot install change capture on {spec.table} in {self.source.path}: {exc}"
            ) from exc

    def _max_seq(self) -> int:
        if not self._changelog_exists():
            return 0
        return self.conn.execute(f"SELECT coalesce(max(seq), 0) FROM {CHANGELOG}").fetchone()[0]

    def read(self, spec: TableSpec, cursor: Any | None, *, by_rows: bool = False) -> TableRead:
        incremental = (
            cursor is not None and bool(spec.primary_key) and self._triggers_installed(spec.table)
        )
        self._end_columnar()
        if spec.primary_key and not incremental:
            self._install_triggers(spec)
        types = self._arrow_types(spec)
        if not by_rows:
            return self._columnar(spec, types, after=int(cursor["seq"]) if incremental else None)
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")
        # A read transaction: the cursor and the rows come from one snapshot of the file.
        self.conn.execute("BEGIN")
        try:
            seq = self._max_seq()
        except sqlite3.Error as exc:
            self.conn.execute("ROLLBACK")
            raise DataPlaneError(f"cannot read {spec.table}: {exc}") from exc
        if incremental:
            batches = self._changes(spec, types, int(cursor["seq"]), seq)
        else:
            batches = self._full(spec, types)
        return TableRead(batches=batches, complete=not incremental, cursor={"seq": seq})

    def _columnar(
        self, spec: TableSpec, types: tuple[pa.DataType, ...], *, after: int | None
    ) -> TableRead:
        """A read through ADBC, of the whole table or (`after`) the changes logged since; the
        changelog position is read in the same snapshot."""
        import adbc_driver_sqlite.dbapi as adbc

        conn = self._columnar_connection()
        has_log = self._changelog_exists()
        cur = self._cursor = conn.cursor()
        try:
            seq = 0
            if has_log:
                cur.execute(f"SELECT coalesce(max(seq), 0) FROM {CHANGELOG}")
                seq = int(cur.fetchone()[0])
            select = _columnar_select(spec, types, None if after is None else (after, seq))
            cur.execute(f"{select} LIMIT {_PROBE_ROWS + 1}")
            probe = cur.fetch_arrow_table()
        except adbc.Error as exc:
            self._end_columnar()
            raise ReadByRows(f"{spec.table}: {exc}") from exc
        row_bytes = probe.nbytes / probe.num_rows if probe.num_rows > 1 else None
        batch_rows = rows_for_bytes(row_bytes or estimated_row_bytes(types), budget=BATCH_BYTES)
        return TableRead(
            batches=self._columnar_batches(cur, select, batch_rows, spec),
            complete=after is None,
            cursor={"seq": seq},
        )

    def _columnar_batches(
        self, cur: Any, select: str, batch_rows: int, spec: TableSpec
    ) -> Iterator[pa.RecordBatch]:
        import adbc_driver_sqlite.dbapi as adbc

        try:
            cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
            cur.execute(select)
            witness = True
            for batch in cur.fetch_record_batch():
                if witness:
                    batch, witness = batch.slice(1), False
                if batch.num_rows:
                    yield batch
        except adbc.Error as exc:
            raise ReadByRows(f"{spec.table}: {exc}") from exc
        finally:
            self._end_columnar()

    def _changelog_exists(self) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (CHANGELOG,)
            ).fetchone()
            is not None
        )

    def _stream(
        self, sql: str, params: tuple[Any, ...], types: tuple[pa.DataType, ...]
    ) -> Iterator[list[tuple[Any, ...]]]:
        size = rows_for_bytes(estimated_row_bytes(types), budget=BATCH_BYTES)
        try:
            cur = self.conn.execute(sql, params)
            while rows := cur.fetchmany(size):
                yield rows
        except sqlite3.Error as exc:
            raise DataPlaneError(f"reading {self.source.path} failed: {exc}") from exc
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def _full(self, spec: TableSpec, types: tuple[pa.DataType, ...]) -> Iterator[pa.RecordBatch]:
        cols = ", ".join(quote(c) for c in spec.columns)
        for rows in self._stream(f"SELECT {cols} FROM {quote(spec.table)}", (), types):
            yield rows_to_batch(spec.columns, rows, types)

    def _changes(
        self, spec: TableSpec, types: tuple[pa.DataType, ...], after: int, upto: int
    ) -> Iterator[pa.RecordBatch]:
        cols = ", ".join(f"t.{quote(c)}" for c in spec.columns)
        present = f"t.{quote(spec.primary_key[0])} IS NOT NULL"
        sql = (
            f"SELECT c.pk, {present}, {cols} FROM (SELECT DISTINCT pk FROM {CHANGELOG} "
            "WHERE seq > ? AND seq <= ? AND tbl = ?) AS c "
            f"LEFT JOIN {quote(spec.table)} AS t ON {self._key_expr('t', spec)} = c.pk"
        )
        key_pos = [spec.columns.index(k) for k in spec.primary_key]
        names = (*spec.columns, DELETED)
        for rows in self._stream(sql, (after, upto, spec.table), types):
            out = []
            for pk, found, *values in rows:
                if not found:
                    keys = json.loads(pk) if len(key_pos) > 1 else [pk]
                    values = [None] * len(values)
                    for pos, key in zip(key_pos, keys, strict=True):
                        values[pos] = key
                out.append((*values, not found))
            yield rows_to_batch(names, out, (*types, pa.bool_()))
