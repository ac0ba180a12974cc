"""fivetran-assets: a Fivetran estate as code, as Dagster assets."""

__version__ = "0.1.0"
