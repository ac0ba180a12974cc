"""In process: a component with `LOCAL_FILESYSTEM` state, `key_prefix` and a `translation`
(the first release's key shape, a templated tag) has no assets until its `refresh_fivetran_state`
job stored the state, then has them, shaped and tagged as configured, the source tables upstream
prefixed like the tables."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from fivetran_assets_tests.component.conftest import PACKAGE, make_project
from fivetran_assets_tests.dagster.conftest import Demo


def test_the_refresh_job_stores_local_state_that_the_next_load_translates(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster.components.core.component_tree import ComponentTree

    root = make_project(
        tmp_path,
        {
            "config": "config",
            "key_prefix": "fivetran",
            "automation": False,
            "translation": {
                "key_shape": "group_schema_table",
                "tags": {"team": "{{ props.group }}"},
            },
            "defs_state": {"management_type": "LOCAL_FILESYSTEM"},
        },
    )
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("FIVETRAN_ASSETS_CONFIG", raising=False)

    def load() -> dg.Definitions:
        return ComponentTree.for_project(root).build_defs()

    with dg.instance_for_test() as instance:
        before = load()
        assert not before.resolve_all_asset_keys()
        assert not before.schedules  # automation: false
        result = before.resolve_job_def("refresh_fivetran_state").execute_in_process(
            instance=instance
        )
        assert result.success
    assert list((root / PACKAGE / "defs").rglob(".local_defs_state/*/state"))

    graph = load().resolve_asset_graph()
    key = dg.AssetKey(["fivetran", "departments", "sales_main", "employees"])
    model = dg.AssetKey(["fivetran", "departments", "analytics", "stg_employees"])
    assert {key, model} <= graph.get_all_asset_keys()
    assert graph.get(key).tags["team"] == "departments"
    assert key in graph.get(model).parent_keys  # lineage follows the translated keys
    # the source table upstream takes the component's key_prefix too, column lineage with it
    source = dg.AssetKey(
        ["fivetran", "fivetran_source", "departments", "sales", "main", "employees"]
    )
    assert graph.get(key).parent_keys == {source}
    lineage = graph.get(key).metadata["dagster/column_lineage"].deps_by_column
    assert {dep.asset_key for deps in lineage.values() for dep in deps} == {source}
    assert not graph.get(source).is_materializable
    assert graph.get(source).metadata["dagster/table_name"] == "main.employees"
    assert graph.get(source).metadata["dagster/column_schema"].columns
    # every asset and check points at the defs.yaml that declares it, once (Dagster's reference)
    defs_yaml = str(root / PACKAGE / "defs" / "fivetran" / "defs.yaml")
    (check,) = [c for c in graph.asset_check_keys if c.asset_key == key]
    for metadata in (
        *(graph.get(k).metadata for k in (key, model, source)),
        graph.get_check_spec(check).metadata,
    ):
        (ref,) = metadata["dagster/code_references"].code_references
        assert (ref.file_path, ref.line_number) == (defs_yaml, 1)
