"""Names for the secrets an import cannot read back, and the `<out>.env.example` listing them.

Fivetran masks every credential on read (`******`), so each becomes `${env:NAME}` with a name
made from where it is used: `<GROUP>_<connection>_<KEY>` for a connection (in a template
`<GROUP>_{name}_<KEY>`, so each item gets its own variable), `<GROUP>_DESTINATION_<KEY>`,
`<GROUP>_WEBHOOK_SECRET` and `<GROUP>_DBT_<VARIABLE>` for a dbt environment variable (one
already starting with `DBT_` keeps its name). The names depend only on the account's names,
so importing again gives the same ones and an environment filled once keeps working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.estate.references import MASK, looks_secret

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_]")


def is_secret_leaf(key: str, value: Any) -> bool:
    """Whether a read config value is a credential: masked by Fivetran, or named like one."""
    if value == MASK:
        return True
    return isinstance(value, str) and bool(value) and looks_secret(key)


def name_part(text: str, *, upper: bool = True) -> str:
    """`tunnel.password` -> `TUNNEL_PASSWORD`: a piece of an environment variable name."""
    part = _NOT_IN_NAME.sub("_", text)
    return part.upper() if upper else part


def key_part(path: str) -> str:
    """A dotted config path as part of a variable name: `tunnel.password` -> `TUNNEL_PASSWORD`."""
    return name_part(path.replace(".", "_"))


def reference(name: str) -> str:
    return f"${{env:{name}}}"


@dataclass
class Secrets:
    """Every generated variable name with where it is used, in the order they were made."""

    uses: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, where: str) -> str:
        """Record a variable (used at `where`) and return its reference."""
        self.uses.setdefault(name, []).append(where)
        return reference(name)

    def example(self, config_name: str) -> str:
        """The text of `<out>.env.example`: each name, where it is used, and no value."""
        lines = [
            f"# Secrets of {config_name}: Fivetran never returns them, so set each one before",
            "# `fivetran-assets apply`. Until then `plan` reports them as not verifiable.",
        ]
        for name, uses in self.uses.items():
            lines += ["", *(f"# {where}" for where in uses), f"{name}="]
        return "\n".join(lines) + "\n"
