"""The estate config model: load, validate and interpolate `config/` (no Dagster imports).

    estate = load_estate("config")          # raises EstateError with every problem
    for connection in estate.connections():  # templates expanded, selections merged
        config = resolve(connection.config, estate.environment(), where=connection.path)
        body = reveal(config)                 # plaintext only here, to send to Fivetran

Names are imported lazily so that `fivetran-assets --help` does not pay for pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "errors": ("EstateError", "Location", "Problem"),
    "estate": ("Connection", "Estate", "Group", "Selection", "Summary", "Transformation"),
    "loader": ("check_estate", "load_estate"),
    "models": (
        "Account",
        "ColumnRule",
        "DagsterSettings",
        "Destination",
        "Schedule",
        "SchemaRule",
        "Step",
        "TableRule",
        "TransformationProject",
        "Webhook",
    ),
    "references": (
        "MASK",
        "Environment",
        "Secret",
        "fingerprint",
        "has_reference",
        "is_secret",
        "mask",
        "resolve",
        "reveal",
    ),
    "vocabulary": (
        "ScheduledBy",
        "SchemaChangeHandling",
        "SyncMode",
        "TransformationMode",
        "WebhookEvent",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = [
    "MASK",
    "Account",
    "ColumnRule",
    "Connection",
    "DagsterSettings",
    "Destination",
    "Environment",
    "Estate",
    "EstateError",
    "Group",
    "Location",
    "Problem",
    "Schedule",
    "ScheduledBy",
    "SchemaChangeHandling",
    "SchemaRule",
    "Secret",
    "Selection",
    "Step",
    "Summary",
    "SyncMode",
    "TableRule",
    "Transformation",
    "TransformationMode",
    "TransformationProject",
    "Webhook",
    "WebhookEvent",
    "check_estate",
    "fingerprint",
    "has_reference",
    "is_secret",
    "load_estate",
    "mask",
    "resolve",
    "reveal",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from fivetran_assets.estate.errors import EstateError, Location, Problem
    from fivetran_assets.estate.estate import (
        Connection,
        Estate,
        Group,
        Selection,
        Summary,
        Transformation,
    )
    from fivetran_assets.estate.loader import check_estate, load_estate
    from fivetran_assets.estate.models import (
        Account,
        ColumnRule,
        DagsterSettings,
        Destination,
        Schedule,
        SchemaRule,
        Step,
        TableRule,
        TransformationProject,
        Webhook,
    )
    from fivetran_assets.estate.references import (
        MASK,
        Environment,
        Secret,
        fingerprint,
        has_reference,
        is_secret,
        mask,
        resolve,
        reveal,
    )
    from fivetran_assets.estate.vocabulary import (
        ScheduledBy,
        SchemaChangeHandling,
        SyncMode,
        TransformationMode,
        WebhookEvent,
    )
