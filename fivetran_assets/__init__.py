"""fivetran-assets: a Fivetran estate as code, as Dagster assets.

`fivetran_assets.FivetranEstateComponent` and `fivetran_assets.FivetranEstateTranslator` are
imported on first use, so the `fivetran-assets` command does not pay for importing Dagster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "FivetranEstateComponent": "fivetran_assets.dagster.component",
    "FivetranEstateTranslator": "fivetran_assets.dagster.translator",
    "FivetranTableProps": "fivetran_assets.dagster.translator",
    "FivetranModelProps": "fivetran_assets.dagster.translator",
    "KeyShape": "fivetran_assets.dagster.translator",
}
__all__ = [
    "FivetranEstateComponent",
    "FivetranEstateTranslator",
    "FivetranModelProps",
    "FivetranTableProps",
    "KeyShape",
    "__version__",
]

if TYPE_CHECKING:
    from fivetran_assets.dagster.component import FivetranEstateComponent
    from fivetran_assets.dagster.translator import (
        FivetranEstateTranslator,
        FivetranModelProps,
        FivetranTableProps,
        KeyShape,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fivetran_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The lazy names too, so `dg` finds the component when it lists this module's objects."""
    return sorted({*globals(), *_LAZY})
