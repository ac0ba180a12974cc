"""Overlap reading the source with writing the destination, with bounded memory.

A producer thread pulls batches from the source (sqlite3 and psycopg release the GIL while the
database works) and transforms them, while the caller's thread writes the previous batch to the
destination. At most `depth` batches wait in between, so memory stays bounded whatever the table
size. Cancellation is checked between batches.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from fivetran_assets.emulator.dataplane.contract import Cancelled, DataPlaneError

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(
    batches: Iterator[Any],
    transform: Callable[[Any], Any],
    *,
    cancelled: Cancelled,
    depth: int = 2,
) -> Iterator[Any]:
    """Yield `transform(b)` for each batch, computed ahead in a thread."""
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(transform(batch)):
                    return
            put(_DONE)
        except BaseException as exc:
            put(_Failure(exc))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="dataplane-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            if cancelled():
                raise DataPlaneError("sync canceled")
            try:
                item = slots.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        worker.join()
