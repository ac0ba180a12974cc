"""The `sqlite` source: a SQLite file, read with the standard library's sqlite3.

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
    BATCH_ROWS,
    DELETED,
    Source,
    SourceSession,
    TableRead,
    TableSpec,
    rows_to_batch,
)
from fivetran_assets.emulator.dataplane.types import Kind, logical_type, quote

CHANGELOG = "_fivetran_changelog"
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

    def close(self) -> None:
        self.conn.close()

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
        exists = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (CHANGELOG,)
        ).fetchone()
        if not exists:
            return 0
        return self.conn.execute(f"SELECT coalesce(max(seq), 0) FROM {CHANGELOG}").fetchone()[0]

    def read(self, spec: TableSpec, cursor: Any | None) -> TableRead:
        incremental = (
            cursor is not None and bool(spec.primary_key) and self._triggers_installed(spec.table)
        )
        if spec.primary_key and not incremental:
            self._install_triggers(spec)
        types = self._arrow_types(spec)
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

    def _stream(self, sql: str, params: tuple[Any, ...]) -> Iterator[list[tuple[Any, ...]]]:
        try:
            cur = self.conn.execute(sql, params)
            while rows := cur.fetchmany(BATCH_ROWS):
                yield rows
        except sqlite3.Error as exc:
            raise DataPlaneError(f"reading {self.source.path} failed: {exc}") from exc
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def _full(self, spec: TableSpec, types: tuple[pa.DataType, ...]) -> Iterator[pa.RecordBatch]:
        cols = ", ".join(quote(c) for c in spec.columns)
        for rows in self._stream(f"SELECT {cols} FROM {quote(spec.table)}", ()):
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
        for rows in self._stream(sql, (after, upto, spec.table)):
            out = []
            for pk, found, *values in rows:
                if not found:
                    keys = json.loads(pk) if len(key_pos) > 1 else [pk]
                    values = [None] * len(values)
                    for pos, key in zip(key_pos, keys, strict=True):
                        values[pos] = key
                out.append((*values, not found))
            yield rows_to_batch(names, out, (*types, pa.bool_()))
