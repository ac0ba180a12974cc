"""The hostile-input figures: each surface's tally, printed as one table in the session summary
(tried / answered 4xx with a clear message / 5xx / tracebacks / persisted invalid data)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fivetran_assets_tests.hostile.tally import Tally, table

_TALLIES: list[Tally] = []


@pytest.fixture
def make_tally() -> Callable[[str], Tally]:
    """`make_tally(surface)`: a tally that the session summary will show."""

    def make(surface: str) -> Tally:
        made = Tally(surface)
        _TALLIES.append(made)
        return made

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _TALLIES:
        terminalreporter.section("hostile inputs: how each was answered")
        for line in table(_TALLIES):
            terminalreporter.write_line(line)
