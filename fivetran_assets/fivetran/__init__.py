"""The Fivetran REST API client: typed errors, typed records, pagination, retries, rate limits.

No Dagster imports here: `plan` and `apply` run from a shell or CI.
"""
