"""What the live estate holds, cached for the Dagster definitions (no Dagster imports).

The snapshot records, per connection, the tables and columns Fivetran lands and, per
transformation, the dbt models and their lineage; `write_snapshot` reads them through the API,
the warehouse and `dbt parse` (apply and `fivetran-assets refresh` call it), `read_snapshot`
loads them with no API call. Layering: fivetran <- estate <- snapshot <- reconcile <- dagster.
"""
