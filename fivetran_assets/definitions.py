"""The one place the project's Dagster Definitions are assembled."""

import dagster as dg

defs = dg.Definitions()
