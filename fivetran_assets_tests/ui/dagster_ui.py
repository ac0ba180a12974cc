"""Reading Dagster's UI: its GraphQL endpoint, its pages, and the edges its lineage graphs draw.

The lineage graphs are SVG: each asset node is a `<foreignObject>` box holding the asset's name
(and each expanded asset group a bigger box around its assets),
each edge a `<path marker-end=...>` from the right side of its upstream node to the left side of
its downstream one. `graph_edges` reads both from the live page and joins them by geometry, so a
test sees the edges actually drawn, not the names listed in the sidebar.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

# Edge ends stop a few pixels short of the node (the arrow head); boxes are 320 px wide.
_EDGE_SLACK = 12.0
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")

_READ_GRAPH = """
() => {
  const svg = [...document.querySelectorAll('svg')].find(
    (s) => s.querySelector(':scope > foreignObject'));
  if (!svg) return {nodes: [], edges: []};
  const nodes = [...svg.querySelectorAll(':scope > foreignObject')].map((box) => ({
    x: Number(box.getAttribute('x')), y: Number(box.getAttribute('y')),
    width: Number(box.getAttribute('width')), height: Number(box.getAttribute('height')),
    name: box.querySelector('[data-tooltip]')?.getAttribute('data-tooltip')
      ?? [...box.querySelectorAll('*')].find(
        (el) => !el.children.length && el.textContent.trim())?.textContent.trim() ?? null,
  }));
  const edges = [...new Set([...svg.querySelectorAll(':scope > path[marker-end]')]
    .map((path) => path.getAttribute('d')))];
  return {nodes, edges};
}
"""


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST a query to the webserver's `/graphql`; fail on transport or GraphQL errors."""
    response = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
    )
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def open_page(page: Any, url: str) -> None:
    """Go to `url` and wait for its data (the `page` fixture keeps Dagster's dialog away)."""
    page.goto(url)
    page.wait_for_load_state("networkidle")


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    width: float
    height: float
    name: str | None

    def holds_y(self, y: float) -> bool:
        return self.y <= y <= self.y + self.height


def _node_at(boxes: list[_Box], x: float, y: float, *, side: str) -> _Box | None:
    """The named node whose right (`side="right"`) or left side the point `(x, y)` touches;
    the innermost one when an asset sits in its (expanded) group's box."""
    for box in sorted(boxes, key=lambda b: b.width * b.height):
        edge_x = box.x + box.width if side == "right" else box.x
        if box.name and box.holds_y(y) and abs(edge_x - x) <= _EDGE_SLACK:
            return box
    return None


def _full_name(label: str, names: Iterable[str]) -> str:
    """The one name a drawn label stands for: small nodes show `headco…_department` for
    `headcount_by_department`; a label matching no name, or several, stays as drawn."""
    if "…" not in label:
        return label
    head, _, tail = label.partition("…")
    found = [n for n in names if n.startswith(head) and n.endswith(tail)]
    return found[0] if len(set(found)) == 1 else label


def graph_edges(page: Any, names: Iterable[str] = ()) -> list[tuple[str, str]]:
    """`(upstream name, downstream name)` for every edge drawn between two named nodes, with
    truncated labels read back as the one of `names` they stand for.

    Waits until the graph has drawn at least one node and one edge.
    """
    names = list(names)
    page.wait_for_selector("svg > foreignObject", state="attached")
    page.wait_for_selector("svg > path[marker-end]", state="attached")
    drawn = page.evaluate(_READ_GRAPH)
    boxes = [_Box(**node) for node in drawn["nodes"]]
    edges: list[tuple[str, str]] = []
    for path in drawn["edges"]:
        numbers = [float(n) for n in _NUMBER.findall(path)]
        if len(numbers) < 4:
            continue
        source = _node_at(boxes, numbers[0], numbers[1], side="right")
        target = _node_at(boxes, numbers[-2], numbers[-1], side="left")
        if source and target and source.name and target.name:
            edges.append((_full_name(source.name, names), _full_name(target.name, names)))
    return edges


@dataclass(frozen=True)
class DrawnNode:
    """A box the graph draws: an asset or a collapsed group (`name`), and the expanded group
    box it sits in (`within`, None at the top level)."""

    name: str
    within: str | None


def graph_nodes(page: Any, names: Iterable[str] = ()) -> list[DrawnNode]:
    """Every named box drawn, truncated labels read back as the one of `names` they stand for."""
    names = list(names)
    page.wait_for_selector("svg > foreignObject", state="attached")
    boxes = [_Box(**node) for node in page.evaluate(_READ_GRAPH)["nodes"] if node["name"]]

    def inside(inner: _Box, outer: _Box) -> bool:
        return (
            outer is not inner
            and outer.x <= inner.x
            and inner.x + inner.width <= outer.x + outer.width
            and outer.holds_y(inner.y)
            and outer.holds_y(inner.y + inner.height)
        )

    drawn = []
    for box in boxes:
        around = [b for b in boxes if inside(box, b)]
        group = min(around, key=lambda b: b.width * b.height) if around else None
        drawn.append(
            DrawnNode(
                _full_name(box.name or "", names),
                _full_name(group.name or "", names) if group else None,
            )
        )
    return drawn
