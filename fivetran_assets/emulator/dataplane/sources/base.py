"""What every source offers the sync engine: setup tests, a catalog, and table reads.

A table read is a stream of Arrow record batches (never a whole table in memory) plus how to
find deletes: the stream is the complete table (rows not seen are deleted), or it carries
deleted keys flagged `_fivetran_deleted`, or a second stream lists every live key.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from fivetran_assets.emulator.dataplane.contract import Catalog, SetupTest

DELETED = "_fivetran_deleted"
BATCH_ROWS = 50_000


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
    def read(self, spec: TableSpec, cursor: Any | None) -> TableRead:
        """Rows of one table: all of them when `cursor` is None, else the changes since it."""

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
