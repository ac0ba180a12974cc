"""A sync's materializations say how many rows that sync wrote, beside the table's total.

Real syncs of one department on the local Fivetran: the first writes every row, a sync after
five inserts, three updates and two deletes writes exactly those, and a sync with nothing new
writes none, while the total stays the table's row count.
"""

from __future__ import annotations

import dagster as dg

from fivetran_assets.emulator.dataplane import mutate
from fivetran_assets_tests.dagster.conftest import Demo

KEYS = {
    "employees": dg.AssetKey(["sales_main", "employees"]),
    "expenses": dg.AssetKey(["sales_main", "expenses"]),
    "tickets": dg.AssetKey(["sales_main", "tickets"]),
}


def _sync_sales(demo: Demo) -> dict[str, tuple[int, int]]:
    """(rows synced, rows in table) per table, from one sync of the sales connection."""
    defs = demo.definitions()
    job = defs.get_implicit_global_asset_job_def().get_subset(asset_selection=set(KEYS.values()))
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    found = {}
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        table = event.materialization.asset_key.path[-1]
        found[table] = (meta["fivetran/rows_synced"].value, meta["dagster/row_count"].value)
    return found


def test_rows_synced_counts_only_what_each_sync_wrote(demo: Demo) -> None:
    first = _sync_sales(demo)
    assert all(synced == total > 0 for synced, total in first.values()), first

    source = demo.sources / "sales.sqlite"
    mutate.insert_employees(source, 5, seed=7)
    mutate.raise_salaries(source, [1, 2, 3])
    mutate.delete_rows(source, "expenses", [4, 5])
    second = _sync_sales(demo)
    assert second["employees"] == (8, first["employees"][1] + 5)
    assert second["expenses"] == (2, first["expenses"][1])  # soft-deleted rows are rewritten
    assert second["tickets"] == (0, first["tickets"][1])

    third = _sync_sales(demo)
    assert {table: synced for table, (synced, _) in third.items()} == dict.fromkeys(KEYS, 0)
