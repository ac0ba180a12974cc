"""The fault matrix's table: filled by the tests of this folder, printed in the session summary."""

from __future__ import annotations

import pytest

from fivetran_assets_tests.faults.matrix import Matrix

_MATRIX = Matrix()


@pytest.fixture
def matrix() -> Matrix:
    return _MATRIX


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = _MATRIX.table()
    if lines:
        terminalreporter.section("fault matrix: the end state of each part under each fault")
        for line in lines:
            terminalreporter.write_line(line)
