"""The config's vocabulary: Fivetran's (from the client) and the project's own terms.

Values are taken from Fivetran's OpenAPI definition and documentation so that a typo in the config
is caught by `validate` rather than by a 400 from the API halfway through an apply.
"""

from __future__ import annotations

from enum import StrEnum

# Fivetran's own vocabulary is the client's; only the project's own terms are defined here.
from fivetran_assets.fivetran.client import DEFAULT_BASE_URL  # noqa: F401 (re-exported)
from fivetran_assets.fivetran.enums import (  # noqa: F401 (re-exported for the config model)
    SYNC_FREQUENCIES,
    SchemaChangeHandling,
    SyncMode,
    WebhookEvent,
)

DEFAULT_API_KEY_ENV = "FIVETRAN_API_KEY"
DEFAULT_API_SECRET_ENV = "FIVETRAN_API_SECRET"

TIME_ZONE_OFFSETS = tuple(str(h) if h <= 0 else f"+{h}" for h in range(-11, 13))

# Sources whose schema config has exactly one schema, whose name is known before capture:
# for them `schema.tables` is folded into `schemas.<name>` when the config is loaded.
SINGLE_SCHEMA_SOURCES = {"sqlite": "main"}


class ScheduledBy(StrEnum):
    """Who triggers syncs or runs: Fivetran's own schedule, or Dagster (schedule_type manual)."""

    FIVETRAN = "fivetran"
    DAGSTER = "dagster"


class TransformationMode(StrEnum):
    """The seed's scheduling modes for transformations."""

    INTEGRATED = "integrated"
    PARTIALLY_INTEGRATED = "partially_integrated"
    INDEPENDENT = "independent"


class Weekday(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


class Region(StrEnum):
    """Fivetran's data processing locations (destination `region`)."""

    GCP_US_EAST4 = "GCP_US_EAST4"
    GCP_US_WEST1 = "GCP_US_WEST1"
    GCP_US_CENTRAL1 = "GCP_US_CENTRAL1"
    GCP_EUROPE_WEST3 = "GCP_EUROPE_WEST3"
    GCP_AUSTRALIA_SOUTHEAST1 = "GCP_AUSTRALIA_SOUTHEAST1"
    GCP_NORTHAMERICA_NORTHEAST1 = "GCP_NORTHAMERICA_NORTHEAST1"
    GCP_EUROPE_WEST2 = "GCP_EUROPE_WEST2"
    GCP_ASIA_SOUTHEAST1 = "GCP_ASIA_SOUTHEAST1"
    GCP_ASIA_SOUTHEAST2 = "GCP_ASIA_SOUTHEAST2"
    GCP_ASIA_SOUTH1 = "GCP_ASIA_SOUTH1"
    GCP_ASIA_NORTHEAST1 = "GCP_ASIA_NORTHEAST1"
    AWS_US_EAST_1 = "AWS_US_EAST_1"
    AWS_US_EAST_2 = "AWS_US_EAST_2"
    AWS_US_WEST_2 = "AWS_US_WEST_2"
    AWS_AP_NORTHEAST_1 = "AWS_AP_NORTHEAST_1"
    AWS_AP_SOUTHEAST_1 = "AWS_AP_SOUTHEAST_1"
    AWS_AP_SOUTHEAST_2 = "AWS_AP_SOUTHEAST_2"
    AWS_EU_CENTRAL_1 = "AWS_EU_CENTRAL_1"
    AWS_EU_WEST_1 = "AWS_EU_WEST_1"
    AWS_EU_WEST_2 = "AWS_EU_WEST_2"
    AWS_AP_SOUTH_1 = "AWS_AP_SOUTH_1"
    AWS_CA_CENTRAL_1 = "AWS_CA_CENTRAL_1"
    AWS_US_GOV_WEST_1 = "AWS_US_GOV_WEST_1"
    AZURE_EASTUS2 = "AZURE_EASTUS2"
    AZURE_AUSTRALIAEAST = "AZURE_AUSTRALIAEAST"
    AZURE_UKSOUTH = "AZURE_UKSOUTH"
    AZURE_WESTEUROPE = "AZURE_WESTEUROPE"
    AZURE_CENTRALUS = "AZURE_CENTRALUS"
    AZURE_CANADACENTRAL = "AZURE_CANADACENTRAL"
    AZURE_UAENORTH = "AZURE_UAENORTH"
    AZURE_SOUTHEASTASIA = "AZURE_SOUTHEASTASIA"
    AZURE_EASTUS = "AZURE_EASTUS"
    AZURE_JAPANEAST = "AZURE_JAPANEAST"
    AZURE_CENTRALINDIA = "AZURE_CENTRALINDIA"
