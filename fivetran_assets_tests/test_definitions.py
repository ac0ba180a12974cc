"""The project's Definitions load, and the snapshot -> specs translation holds its promises."""

import json
from pathlib import Path

import dagster as dg
import pytest

from fivetran_assets.dagster.build import (
    DefsOptions,
    build_fivetran_definitions,
    load_fivetran_definitions,
)
from fivetran_assets.dagster.estate_view import ConnectionView, EstateView, ScheduledBy
from fivetran_assets.definitions import defs
from fivetran_assets.snapshot.store import (
    ColumnSnapshot,
    ConnectionSnapshot,
    Snapshot,
    SnapshotError,
    TableSnapshot,
    read_snapshot,
    save_snapshot,
)

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_load() -> None:
    assert isinstance(defs, dg.Definitions)
    repo = defs.get_repository_def()
    assert {"sync_all", "transform_all", "pipeline"} <= {j.name for j in repo.get_all_jobs()}


def _table(schema: str, table: str) -> TableSnapshot:
    return TableSnapshot(
        "main",
        table,
        schema,
        table,
        (ColumnSnapshot("id", "INTEGER", primary_key=True), ColumnSnapshot("email", None, True)),
    )


def test_snapshot_round_trip_and_config_load(tmp_path: Path) -> None:
    snap = Snapshot(
        written_at="2026-01-01T00:00:00.000000Z",
        connections=(
            ConnectionSnapshot(
                "departments", "sales", "c_sales", "sqlite", (_table("sales_main", "employees"),)
            ),
        ),
    )
    path = save_snapshot(snap, tmp_path / "s.json")
    assert read_snapshot(path) == snap
    loaded = load_fivetran_definitions(ROOT / "config", path).get_repository_def()
    key = dg.AssetKey(["sales_main", "employees"])
    assert key in loaded.asset_graph.get_all_asset_keys()
    assert read_snapshot(tmp_path / "missing.json") is None


def _two_groups(prefix: dict[str, tuple[str, ...]] | None = None) -> tuple[EstateView, Snapshot]:
    view = EstateView(
        connections=tuple(
            ConnectionView(
                group=g,
                name="sales",
                service="sqlite",
                destination_service="duckdb",
                scheduled_by=ScheduledBy.FIVETRAN,
                key_prefix=(prefix or {}).get(g, ()),
            )
            for g in ("emea", "amer")
        )
    )
    snap = Snapshot(
        written_at="x",
        connections=tuple(
            ConnectionSnapshot(g, "sales", f"id_{g}", "sqlite", (_table("sales_main", "t"),))
            for g in ("emea", "amer")
        ),
    )
    return view, snap


def test_two_groups_landing_one_table_name_is_an_error_naming_both_until_prefixed() -> None:
    from fivetran_assets.dagster.specs import DuplicateAssetKeyError
    from fivetran_assets.dagster.translator import FivetranEstateTranslator, KeyShape

    with pytest.raises(DuplicateAssetKeyError) as info:
        build_fivetran_definitions(*_two_groups())
    message = str(info.value)
    assert "sales_main/t" in message and "group emea" in message and "group amer" in message
    assert "key_prefix" in message

    repo = build_fivetran_definitions(*_two_groups({"amer": ("amer",)})).get_repository_def()
    keys = repo.asset_graph.get_all_asset_keys()
    assert {dg.AssetKey(["sales_main", "t"]), dg.AssetKey(["amer", "sales_main", "t"])} <= keys
    assert {"group_emea", "group_amer"} <= {j.name for j in repo.get_all_jobs()}
    synced = [k for k in keys if repo.asset_graph.get(k).is_materializable]  # not the sources
    assert {repo.asset_graph.get(k).group_name for k in synced} == {"emea__sales", "amer__sales"}

    legacy = FivetranEstateTranslator(key_shape=KeyShape.GROUP_SCHEMA_TABLE)
    options = DefsOptions(translator=legacy)
    old = build_fivetran_definitions(*_two_groups(), options=options).get_repository_def()
    assert {dg.AssetKey(["emea", "sales_main", "t"]), dg.AssetKey(["amer", "sales_main", "t"])} <= (
        old.asset_graph.get_all_asset_keys()
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON at line 1"),
        (json.dumps({"format": "fivetran-assets-snapshot", "version": 99}), "version 99"),
        (json.dumps({"format": "other"}), "not a fivetran-assets-snapshot"),
        (
            json.dumps(
                {
                    "format": "fivetran-assets-snapshot",
                    "version": 1,
                    "written_at": "x",
                    "connections": [{"group": "g"}],
                }
            ),
            "malformed snapshot",
        ),
    ],
)
def test_bad_snapshots_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SnapshotError, match=message) as info:
        read_snapshot(path)
    assert str(path) in str(info.value)


def test_integrated_transformation_runs_once_all_its_tables_updated() -> None:
    from fivetran_assets.dagster.estate_view import TransformationView
    from fivetran_assets.snapshot.store import ModelSnapshot, TransformationSnapshot

    view = EstateView(
        connections=tuple(
            ConnectionView(group="g", name=n, service="sqlite", destination_service="duckdb")
            for n in ("a", "b")
        ),
        transformations=(TransformationView(group="g", name="models", connections=("a", "b")),),
    )
    snap = Snapshot(
        written_at="x",
        connections=tuple(
            ConnectionSnapshot("g", n, f"id_{n}", "sqlite", (_table(f"{n}_main", "t"),))
            for n in ("a", "b")
        ),
        transformations=(
            TransformationSnapshot(
                "g",
                "models",
                "tr",
                (ModelSnapshot("m", "analytics", "model.p.m", (("a_main", "t"), ("b_main", "t"))),),
            ),
        ),
    )
    defs = build_fivetran_definitions(view, snap)
    instance = dg.DagsterInstance.ephemeral()
    model = dg.AssetKey(["m"])

    def requested(cursor=None):
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        return result.get_num_requested(model), result.cursor

    count, cursor = requested()
    assert count == 0
    instance.report_runless_asset_event(dg.AssetMaterialization(dg.AssetKey(["a_main", "t"])))
    count, cursor = requested(cursor)
    assert count == 0  # only one of its two connections synced
    instance.report_runless_asset_event(dg.AssetMaterialization(dg.AssetKey(["b_main", "t"])))
    count, cursor = requested(cursor)
    assert count == 1
    count, cursor = requested(cursor)
    assert count == 0  # requested once, not on every tick


def test_credentials_stay_out_of_reprs() -> None:
    from fivetran_assets.dagster.resources import DestinationResource, FivetranResource
    from fivetran_assets.snapshot.warehouse import warehouse_for

    shown = " ".join(
        repr(x)
        for x in (
            FivetranResource(api_key="KEY-123", api_secret="SECRET-456"),
            DestinationResource(kind="postgres", dsn="host=h password=PW-789"),
            warehouse_for("postgres_warehouse", {"host": "h", "password": "PW-789"}),
        )
    )
    assert not any(s in shown for s in ("KEY-123", "SECRET-456", "PW-789"))
