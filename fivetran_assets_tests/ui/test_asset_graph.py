"""The asset graph in a real browser: connection tables and models, with the edges between them.

GraphQL says what the code location defines (which tables feed which models); the browser must
draw those edges: the global lineage page and one model's lineage page are read as SVG.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fivetran_assets_tests.ui.dagster_ui import graph_edges, graphql, open_page

WORKSPACE_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
ASSETS_QUERY = """
{ assetNodes {
    assetKey { path } groupName opNames dependencyKeys { path } dependedByKeys { path } } }
"""
Key = tuple[str, ...]


@pytest.fixture(scope="module")
def asset_nodes(dagster_webserver: str) -> dict[Key, dict[str, Any]]:
    """Every asset node of the loaded code location, by key (after checking it loaded)."""
    workspace = graphql(dagster_webserver, WORKSPACE_QUERY)["workspaceOrError"]
    assert workspace["__typename"] == "Workspace", workspace
    for entry in workspace["locationEntries"]:
        loaded = entry["locationOrLoadError"]
        assert loaded["__typename"] == "RepositoryLocation", (entry["name"], loaded)
    nodes = graphql(dagster_webserver, ASSETS_QUERY)["assetNodes"]
    return {tuple(node["assetKey"]["path"]): node for node in nodes}


def _is_table(node: dict[str, Any]) -> bool:
    return any(op.startswith("fivetran_sync__") for op in node["opNames"])


def _is_model(node: dict[str, Any]) -> bool:
    return any(op.startswith("fivetran_transform__") for op in node["opNames"])


def names(node: dict[str, Any]) -> tuple[str, str]:
    """How the graph may label an asset's box: its name, or its (collapsed) group's."""
    return node["assetKey"]["path"][-1], node["groupName"]


def _keys(refs: list[dict[str, Any]]) -> list[Key]:
    return [tuple(ref["path"]) for ref in refs]


def test_definitions_hold_connection_tables_feeding_models(
    asset_nodes: dict[Key, dict[str, Any]],
) -> None:
    tables = {key for key, node in asset_nodes.items() if _is_table(node)}
    models = {key for key, node in asset_nodes.items() if _is_model(node)}
    assert len(tables) >= 16, sorted(tables)  # 4 departments x 4 tables
    assert len(models) >= 4, sorted(models)
    fed = {dep for key in models for dep in _keys(asset_nodes[key]["dependencyKeys"])}
    assert fed & tables, "no model reads a connection table"


def test_the_global_lineage_graph_draws_edges_from_tables_to_models(
    dagster_webserver: str,
    asset_nodes: dict[Key, dict[str, Any]],
    page: Any,
    screenshot: Callable[[str], Path],
) -> None:
    """The drawn edges are real dependencies, and some run from a connection table to a model.

    Each connection and each transformation is its own asset group, so the global graph may
    draw groups (collapsed) or assets: an edge is real when it joins two assets, or two groups,
    that a dependency joins.
    """
    defined = {
        (names(asset_nodes[dep]), names(node))
        for key, node in asset_nodes.items()
        for dep in _keys(node["dependencyKeys"])
    }
    defined = {(u, d) for ups, downs in defined for u in ups for d in downs}
    table_names = {n for node in asset_nodes.values() if _is_table(node) for n in names(node)}
    model_names = {n for node in asset_nodes.values() if _is_model(node) for n in names(node)}

    open_page(page, f"{dagster_webserver}/asset-groups")
    page.get_by_text("Global asset lineage").first.wait_for()
    drawn = graph_edges(page, {n for node in asset_nodes.values() for n in names(node)})
    path = screenshot("asset-graph")

    assert drawn, "the lineage graph draws no edge between two asset nodes"
    assert set(drawn) <= defined, set(drawn) - defined
    assert any(up in table_names and down in model_names for up, down in drawn), drawn
    assert path.stat().st_size > 10_000


def test_a_models_lineage_page_draws_every_source_table_edge(
    dagster_webserver: str,
    asset_nodes: dict[Key, dict[str, Any]],
    page: Any,
    screenshot: Callable[[str], Path],
) -> None:
    """A staging model read from every department: one edge per department table, and one on."""
    model, node = next(
        (key, node)
        for key, node in sorted(asset_nodes.items())
        if _is_model(node)
        and len(node["dependencyKeys"]) > 1
        and all(_is_table(asset_nodes[dep]) for dep in _keys(node["dependencyKeys"]))
        and node["dependedByKeys"]
    )
    expected = Counter((dep[-1], model[-1]) for dep in _keys(node["dependencyKeys"]))
    expected.update((model[-1], child[-1]) for child in _keys(node["dependedByKeys"]))

    open_page(page, f"{dagster_webserver}/assets/{'/'.join(model)}?view=lineage")
    drawn = graph_edges(page, {key[-1] for key in asset_nodes})
    screenshot("model-lineage")

    assert Counter(drawn) == expected
