"""What every source offers the sync engine: setup tests, a catalog, and table reads.

A table read is a stream of Arrow record batches (never a whole table in memory) plus how to
find deletes: the stream is the complete table (rows not seen are deleted), or it carries
deleted keys flagged `_fivetran_deleted`, or a second stream lists every live key.

Batches are sized by bytes (`BATCH_BYTES` of Arrow data), not rows: a 100-column table gets
batches as small in memory as a 10-column one. Sources read columnar (ADBC) where they can; a
read that meets values no single Arrow type holds (SQLite's dynamic typing) raises
`ReadByRows`, and the engine reads that table again with `by_rows=True`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from fivetran_assets.emulator.dataplane.contract import Catalog, DataPlaneError, SetupTest

DELETED = "_fivetran_deleted"
# Small enough that a few batches in flight (read ahead, transformed, in the warehouse's hands)
# stay a small part of a sync's memory, large enough that per-batch costs vanish: measured on
# 1,000,000 rows, 4 MB syncs as fast as 16 MB at 60 MB less peak RSS (bench.sync_throughput).
BATCH_BYTES = 4 * 2**20
_FIXED_WIDTH_BYTES = 8
_TEXT_BYTES = 32  # a guess for a text value before any is seen


class ReadByRows(DataPlaneError):
    """A columnar read found values of several types in one column; read the table by rows."""


def rows_for_bytes(row_bytes: float, *, budget: int = BATCH_BYTES, ceiling: int = 1_000_000) -> int:
    """How many rows of `row_bytes` each fit a batch of `budget` bytes (at least one)."""
    return max(1, min(ceiling, int(budget // max(row_bytes, 1.0))))


def _type_bytes(arrow_type: pa.DataType | None) -> int:
    if arrow_type is None:
        return _TEXT_BYTES
    try:
        return max(1, arrow_type.bit_width // 8)
    except ValueError:  # variable width: strings, binary, nested
        return _TEXT_BYTES


def estimated_row_bytes(types: tuple[pa.DataType | None, ...]) -> float:
    """Bytes per row of a batch of `types` before any is read (unknown types count as text)."""
    return float(sum(_type_bytes(t) for t in types) or _FIXED_WIDTH_BYTES)


@dataclass(frozen=True)
class TableSpec:
    """What to read: the source columns enabled for sync, and the primary key (maybe empty)."""

    schema: str
    table: str
    columns: tuple[str, ...]
    primary_key: tuple[str, ...]


@dataclass
class TableRead:
    """One table's rows for this sync.

    `batches` hold `columns` (and, for incremental reads, a boolean `_fivetran_deleted` that is
    true for keys deleted at the source). `complete` means every live row is in `batches`.
    `live_keys`, when set, streams every primary key still present at the source. `cursor` is
    saved after the destination committed, and passed back on the next sync.
    """

    batches: Iterator[pa.RecordBatch]
    complete: bool
    cursor: Any
    live_keys: Callable[[], Iterator[pa.RecordBatch]] | None = None


class SourceSession(ABC):
    """An open source connection used for one sync."""

    @abstractmethod
    def read(self, spec: TableSpec, cursor: Any | None, *, by_rows: bool = False) -> TableRead:
        """Rows of one table: all of them when `cursor` is None, else the changes since it.

        `by_rows` asks for the row-at-a-time read that tolerates mixed value types (after
        `ReadByRows`); a source that is always typed may ignore it.
        """

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> SourceSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Source(ABC):
    @abstractmethod
    def test(self) -> list[SetupTest]: ...

    @abstractmethod
    def catalog(self) -> Catalog: ...

    @abstractmethod
    def session(self) -> SourceSession: ...


def rows_to_batch(
    names: tuple[str, ...], rows: list[tuple[Any, ...]], types: tuple[pa.DataType | None, ...]
) -> pa.RecordBatch:
    """Turn fetched row tuples into a record batch; a column whose values do not fit its
    expected Arrow type (SQLite's dynamic typing) falls back to text and is cast downstream."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = []
    for values, arrow_type in zip(columns, types, strict=True):
        try:
            arrays.append(pa.array(values, type=arrow_type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arrays.append(pa.array([None if v is None else str(v) for v in values], pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=list(names))
