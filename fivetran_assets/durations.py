"""Durations on the command line: `90s`, `15m`, `2h`, `7d`, `1w`, sums such as `1h30m`, or
plain seconds (`0`, `600`). Used by `webhooks events --since` and `apply --lock-timeout`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import click

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """The duration `text` names; a ValueError says what is wrong."""
    compact = text.strip().lower().replace(" ", "")
    if _SECONDS.fullmatch(compact):
        return timedelta(seconds=float(compact))
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(
            f"{text!r} is not a duration: use a number and a unit (s, m, h, d, w), e.g. 30m, "
            "2h, 1h30m, 7d, or plain seconds"
        )
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


class Duration(click.ParamType):
    """A click parameter type for `parse_duration`."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
