"""What every destination offers the sync engine, and the SQL both warehouses share.

A `TableWriter` is one destination table for one sync. The engine either loads a new table
(`load_new_table`: it appears whole or not at all) or stages the batches and then, inside
`transaction()`, widens the table and merges the staged rows with Fivetran's soft-delete
semantics. How staging stays atomic and memory-bounded is each warehouse's business (see the
subclasses); the merge SQL (UPDATE ... FROM, NOT EXISTS) lives here, and a warehouse may write
its changed rows its own way (`upsert`: DuckDB deletes and appends them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from fivetran_assets.emulator.dataplane.contract import SetupTest
from fivetran_assets.emulator.dataplane.types import BOOLEAN, TIMESTAMP, LogicalType, quote

SYNCED = "_fivetran_synced"
DELETED = "_fivetran_deleted"
ROW_ID = "_fivetran_id"


@dataclass(frozen=True)
class Column:
    name: str  # destination name
    type: LogicalType


@dataclass(frozen=True)
class MergeResult:
    upserted: int
    deleted: int


SYSTEM_COLUMNS = (Column(DELETED, BOOLEAN), Column(SYNCED, TIMESTAMP))


def schema_runs(
    batches: Iterable[pa.RecordBatch],
) -> Iterator[tuple[pa.Schema, Iterator[pa.RecordBatch]]]:
    """Consecutive batches of one schema, as (schema, batches): each run is one Arrow stream a
    warehouse can ingest in one statement. Columnar reads make a single run; row reads that
    fell back to text for a column start a new one. Consume each run before the next."""
    source = iter(batches)
    pending = next(source, None)
    while pending is not None:
        schema = pending.schema

        def run(schema: pa.Schema = schema) -> Iterator[pa.RecordBatch]:
            nonlocal pending
            while pending is not None and pending.schema.equals(schema):
                yield pending
                pending = next(source, None)

        yield schema, run()


class BatchRelay:
    """Hands batches to a warehouse's Arrow stream reader, counting rows and keeping the error
    the batches raised: drivers report a failure inside the stream as their own error, without
    the original exception (a cancellation, a source failure, `ReadByRows`)."""

    def __init__(self, batches: Iterator[pa.RecordBatch]) -> None:
        self._batches = batches
        self.rows = 0
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self._batches:
                self.rows += batch.num_rows
                yield batch
        except BaseException as exc:
            self.error = exc
            raise

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error


class TableWriter(ABC):
    """One destination table; `stage_table` and `keys_table` name the staging tables."""

    stage_table: str
    keys_table: str

    def __init__(self, schema: str, table: str) -> None:
        self.schema = schema
        self.table = table
        self.target = f"{quote(schema)}.{quote(table)}"

    @abstractmethod
    def existing_columns(self) -> list[str] | None:
        """The table's column names, or None when the table does not exist."""

    @abstractmethod
    def sql_type(self, lt: LogicalType) -> str: ...

    @abstractmethod
    def execute(self, sql: str) -> int:
        """Run one statement; return the number of rows it changed."""

    @abstractmethod
    def load(
        self,
        table: str,
        columns: list[Column],
        batches: Iterator[pa.RecordBatch],
        *,
        defaults: dict[str, str] | None = None,
    ) -> int:
        """Append batches to `table`'s `columns`, cast to their types. A column missing from a
        batch takes its SQL expression from `defaults` (system columns). Returns rows loaded."""

    @abstractmethod
    def create_staging(self, name: str, columns: list[Column]) -> None:
        """Create (replacing) a staging table."""

    @abstractmethod
    def load_new_table(
        self, columns: list[Column], batches: Iterator[pa.RecordBatch], now: datetime
    ) -> int:
        """First sync of a table with a primary key: create it with every row, atomically."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """The block in which the table is created or widened and the stage merged."""

    def columns_sql(self, columns: list[Column]) -> str:
        return ", ".join(f"{quote(c.name)} {self.sql_type(c.type)}" for c in columns)

    def create(self, columns: list[Column]) -> None:
        """Create the table with `columns` and Fivetran's system columns."""
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}")
        self.execute(
            f"CREATE TABLE {self.target} ({self.columns_sql([*columns, *SYSTEM_COLUMNS])})"
        )

    def add_columns(self, columns: list[Column]) -> None:
        for column in columns:
            self.execute(
                f"ALTER TABLE {self.target} ADD COLUMN {quote(column.name)} "
                f"{self.sql_type(column.type)}"
            )

    def system_defaults(self, now: datetime) -> dict[str, str]:
        return {DELETED: "false", SYNCED: self.timestamp(now)}

    def stage(self, columns: list[Column], batches: Iterator[pa.RecordBatch]) -> None:
        staged = [*columns, Column(DELETED, BOOLEAN)]
        self.create_staging(self.stage_table, staged)
        self.load(self.stage_table, staged, batches, defaults={DELETED: "false"})

    def stage_keys(self, keys: list[Column], batches: Iterator[pa.RecordBatch]) -> None:
        self.create_staging(self.keys_table, keys)
        self.load(self.keys_table, keys, batches)

    def timestamp(self, now: datetime) -> str:
        return f"CAST('{now.isoformat(sep=' ')}' AS {self.sql_type(TIMESTAMP)})"

    def merge(
        self,
        columns: list[Column],
        keys: list[str],
        now: datetime,
        *,
        complete: bool,
        live_keys: bool,
        distinct: bool,
    ) -> MergeResult:
        """Apply the staged rows: update changed rows, insert new ones, soft-delete.

        Rows whose values did not change keep their `_fivetran_synced`. Deletes come from
        staged rows flagged deleted, from absence in a complete stage, or from absence in
        the staged live keys.
        """
        ts = self.timestamp(now)
        stage = self.stage_table
        match = same_key_sql(keys)
        source = f"(SELECT DISTINCT * FROM {stage})" if distinct else stage
        upserted = self.upsert(columns, keys, source, ts)
        mark = f"UPDATE {self.target} AS d SET {DELETED} = true, {SYNCED} = {ts}"
        deleted = self.execute(
            f"{mark} FROM {stage} AS s WHERE {match} AND s.{DELETED} AND NOT d.{DELETED}"
        )
        if complete or live_keys:
            present = stage if complete else self.keys_table
            deleted += self.execute(
                f"{mark} WHERE NOT d.{DELETED} AND NOT EXISTS "
                f"(SELECT 1 FROM {present} AS s WHERE {match})"
            )
        return MergeResult(upserted=upserted, deleted=deleted)

    def upsert(self, columns: list[Column], keys: list[str], source: str, ts: str) -> int:
        """Write the staged live rows (`source`, a table or subquery aliased `s`) that are new
        or differ from the target (a soft-deleted row differs), stamped `ts`; return how many.
        Here an UPDATE of the changed rows, then an INSERT of the new ones."""
        match = same_key_sql(keys)
        values = [c.name for c in columns if c.name not in keys]
        sets = ", ".join(
            [f"{quote(v)} = s.{quote(v)}" for v in values]
            + [f"{DELETED} = false", f"{SYNCED} = {ts}"]
        )
        upserted = self.execute(
            f"UPDATE {self.target} AS d SET {sets} FROM {source} AS s "
            f"WHERE {match} AND NOT s.{DELETED} AND ({changed_sql(values)})"
        )
        new = f"NOT EXISTS (SELECT 1 FROM {self.target} AS d WHERE {match})"
        return upserted + self.insert_live(columns, source, ts, where=f"NOT s.{DELETED} AND {new}")

    def insert_live(self, columns: list[Column], source: str, ts: str, *, where: str = "") -> int:
        """Append rows of `source` (aliased `s`) as live rows synced at `ts`."""
        names = ", ".join(quote(c.name) for c in columns)
        picked = ", ".join(f"s.{quote(c.name)}" for c in columns)
        return self.execute(
            f"INSERT INTO {self.target} ({names}, {DELETED}, {SYNCED}) "
            f"SELECT {picked}, false, {ts} FROM {source} AS s"
            + (f" WHERE {where}" if where else "")
        )


def same_key_sql(keys: list[str]) -> str:
    """Target row `d` and staged row `s` have the same key."""
    return " AND ".join(f"d.{quote(k)} = s.{quote(k)}" for k in keys)


def changed_sql(values: list[str]) -> str:
    """Target row `d` differs from the staged row `s` in a value column or is soft-deleted."""
    return " OR ".join(
        [f"d.{quote(v)} IS DISTINCT FROM s.{quote(v)}" for v in values] + [f"d.{DELETED}"]
    )


class Destination(ABC):
    @abstractmethod
    def test(self) -> list[SetupTest]: ...

    @abstractmethod
    def table_writer(self, schema: str, table: str) -> AbstractContextManager[TableWriter]:
        """The table under this destination's writer lock. If the block raises, nothing of
        this sync is left in the table (no half-written table)."""

    @property
    @abstractmethod
    def lock_key(self) -> str: ...
