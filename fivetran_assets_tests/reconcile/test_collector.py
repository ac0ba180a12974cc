"""The cycle collector's pause around a plan's reads: shared by overlapping readers, and the
collector left as it was found."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from fivetran_assets.reconcile.collector import collector_paused


@pytest.fixture(autouse=True)
def _restore_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    (gc.enable if enabled else gc.disable)()


def test_overlapping_pauses_end_with_the_last() -> None:
    gc.enable()
    first = collector_paused()
    first.__enter__()
    assert not gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_a_failing_block_switches_the_collector_back_on() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a read failed")
    assert gc.isenabled()
