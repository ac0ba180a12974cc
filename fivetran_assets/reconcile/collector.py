"""Python's cycle collector held off while a plan's reads run.

A plan of 10,000 connections keeps every answer it parses (about a hundred objects per schema
config) until the diff, so the young generations keep filling with objects that will live, and
CPython rescans the growing heap again and again: measured, 2-3 s of a 20 s plan, each pass
holding the GIL that the 32 read workers share to send and parse. The reads make little cyclic
garbage (about seven objects a call, from `requests`), which the first collection after the
pause frees. The switch is process-wide, so overlapping readers share one pause, and the
collector is switched back on only if it was on before the first of them began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Automatic garbage collection off for the block (reference counting still frees)."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
