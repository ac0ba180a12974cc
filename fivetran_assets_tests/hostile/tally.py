"""Counting hostile inputs and how they were answered, for the figures the README quotes.

Every case is recorded with the status it got and the message a user would read; `Tally.report`
`table` renders one row per surface (local Fivetran, receiver, config) and a total;
`Tally.assert_clean` fails with the cases that were not answered 4xx with a clear message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

COLUMNS = ("surface", "tried", "4xx, clear message", "5xx", "tracebacks", "persisted invalid")


def is_traceback(text: str) -> bool:
    return "Traceback (most recent call last)" in text


@dataclass
class Tally:
    surface: str
    tried: int = 0
    clear: int = 0
    server_errors: int = 0
    tracebacks: int = 0
    persisted_invalid: int = 0
    unclear: list[str] = field(default_factory=list)

    def record(
        self, label: str, status: int, message: object, *, names: str | tuple[str, ...] = ()
    ) -> None:
        """One answer: 4xx with a message of some substance (saying each of `names`)."""
        self.tried += 1
        text = message if isinstance(message, str) else ""
        if status >= 500:
            self.server_errors += 1
        if is_traceback(text):
            self.tracebacks += 1
        good = 400 <= status < 500 and len(text) >= 12 and not is_traceback(text)
        if good:
            good = all(name in text for name in ((names,) if isinstance(names, str) else names))
        if good:
            self.clear += 1
        else:
            self.unclear.append(f"{label}: {status} {text[:160]!r}")

    def count_logged_tracebacks(self, records: list[logging.LogRecord]) -> None:
        self.tracebacks += sum(
            1 for r in records if r.exc_info is not None or is_traceback(r.getMessage())
        )

    def row(self) -> tuple[str, ...]:
        return (
            self.surface,
            str(self.tried),
            str(self.clear),
            str(self.server_errors),
            str(self.tracebacks),
            str(self.persisted_invalid),
        )

    def assert_clean(self) -> None:
        assert not self.unclear, "not answered 4xx with a clear message:\n" + "\n".join(
            self.unclear[:40]
        )
        assert (self.server_errors, self.tracebacks, self.persisted_invalid) == (0, 0, 0)


def table(tallies: list[Tally]) -> list[str]:
    """The tallies as text rows, with a total when there are several."""
    rows = [t.row() for t in tallies]
    if len(rows) > 1:
        sums = [str(sum(int(r[i]) for r in rows)) for i in range(1, len(COLUMNS))]
        rows.append(("total", *sums))
    widths = [max(len(r[i]) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    line = lambda row: " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))  # noqa: E731
    return [line(COLUMNS), "-+-".join("-" * w for w in widths), *map(line, rows)]
