"""Problems found in the estate config, and the one exception that carries all of them.

A config is the users' first contact with the project, so every problem names the file, the line,
the key path (`groups[finance].connections[2].schema.tables.payroll.columns.ssn.hashed`), the
offending value and what was expected. Loading collects every problem it can find before raising,
so one run of `fivetran-assets validate` shows them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Location:
    """Where something was written: a file, and a 1-based line and column when known."""

    file: Path | None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        text = str(self.file) if self.file is not None else "<config>"
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config.

    `value` is the offending value as written in the config (references are shown unresolved, so
    a problem never holds a secret); `related` points at other places involved, such as the first
    definition of a duplicate name; `snippet` is the source line with a caret under the column
    (syntax errors).
    """

    message: str
    path: str = ""
    location: Location | None = None
    value: Any = UNSET
    expected: str | None = None
    related: tuple[tuple[str, Location], ...] = field(default_factory=tuple)
    snippet: str | None = None

    def describe(self) -> str:
        """The problem as plain text, on one or a few lines."""
        head = f"{self.location}: " if self.location is not None else ""
        where = f"{self.path}: " if self.path else ""
        lines = [f"{head}{where}{self.message}"]
        if self.value is not UNSET:
            lines.append(f"  got: {show_value(self.value)}")
        if self.expected:
            lines.append(f"  expected: {self.expected}")
        lines.extend(f"  {label}: {loc}" for label, loc in self.related)
        if self.snippet:
            lines.extend(f"    {line}" for line in self.snippet.splitlines())
        return "\n".join(lines)


class EstateError(Exception):
    """The config is invalid; `problems` lists everything found, in file and line order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sort_problems(problems))
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        body = "\n".join(p.describe() for p in self.problems)
        super().__init__(f"invalid estate config ({count} {noun}):\n{body}")


class MissingCredentialsError(EstateError):
    """The variables the account section names for the API key and secret are not set.

    Not a mistake in the config, so the message says only what to do: `set FIVETRAN_API_KEY and
    FIVETRAN_API_SECRET (or account.api_key_env/api_secret_env)`, with the config's names.
    """

    def __init__(self, problems: Iterable[Problem], *, variables: Sequence[str]) -> None:
        super().__init__(problems)
        keys = [p.path.removeprefix("account.") for p in self.problems]
        self.args = (f"set {' and '.join(variables)} (or account.{'/'.join(keys)})",)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Order problems as a reader meets them: by file, then line; unlocated ones last."""

    def key(problem: Problem) -> tuple[int, str, int, int, str]:
        loc = problem.location
        if loc is None:
            return (1, "", 0, 0, problem.path)
        return (0, str(loc.file or ""), loc.line or 0, loc.column or 0, problem.path)

    return sorted(problems, key=key)


def show_value(value: Any, *, limit: int = 80) -> str:
    """A short, single-line rendering of an offending value."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to a misspelt `word`, if one is close enough to be a likely typo."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """' (did you mean 'x'?)' or '' - appended to messages about unknown names."""
    match = suggest(word, candidates)
    return f" (did you mean '{match}'?)" if match else ""
