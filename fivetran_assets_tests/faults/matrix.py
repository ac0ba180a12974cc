"""The fault matrix: which faults the local Fivetran injects, and the table of how each part of
the project ended under each of them.

A fault is a list of `/_local/faults` rules over a path glob: a 429 storm with `Retry-After`, a
burst of 5xx, connections dropped before the server acts (nothing happened) or after it acted
(the ambiguous case: did my create happen?), and answers slower than the client's read timeout
(acted on, but the client gave up). Each is bounded, as real bad days are, so every part must
end in the correct state: converged, succeeded or clearly failed, no duplicate, no lost event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

READ_TIMEOUT = 2.0
"""Seconds: the read timeout of the clients the matrix runs, shorter than a delayed answer."""

Rules = Callable[[str, str], list[dict[str, Any]]]


def _storm(path: str, method: str) -> list[dict[str, Any]]:
    return [dict(kind="status", status=429, retry_after=1, path=path, method=method, count=8)]


def _burst(path: str, method: str) -> list[dict[str, Any]]:
    return [
        dict(kind="status", status=503, path=path, method=method, count=3),
        dict(kind="status", status=500, path=path, method=method, count=2),
    ]


def _dropped_before(path: str, method: str) -> list[dict[str, Any]]:
    return [dict(kind="drop_before", path=path, method=method, count=3)]


def _dropped_after(path: str, method: str) -> list[dict[str, Any]]:
    return [dict(kind="drop_after", path=path, method=method, count=3)]


def _read_timeout(path: str, method: str) -> list[dict[str, Any]]:
    return [dict(kind="delay", seconds=READ_TIMEOUT + 1.5, path=path, method=method, count=2)]


FAULTS: dict[str, Rules] = {
    "429 storm": _storm,
    "5xx burst": _burst,
    "dropped before": _dropped_before,
    "dropped after": _dropped_after,
    "read timeout": _read_timeout,
}


@dataclass
class Matrix:
    """Cells recorded by the tests: (part, fault) -> the end state, printed after the session."""

    cells: dict[tuple[str, str], str] = field(default_factory=dict)

    def record(self, part: str, fault: str, outcome: str) -> None:
        self.cells[(part, fault)] = outcome

    def table(self) -> list[str]:
        if not self.cells:
            return []
        parts = list(dict.fromkeys(part for part, _ in self.cells))
        faults = [f for f in FAULTS if any((p, f) in self.cells for p in parts)]
        head = ["part", *faults]
        rows = [[p, *(self.cells.get((p, f), "-") for f in faults)] for p in parts]
        widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
        line = lambda row: " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))  # noqa: E731
        return [line(head), "-+-".join("-" * w for w in widths), *map(line, rows)]
