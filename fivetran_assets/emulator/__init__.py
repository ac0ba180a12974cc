"""The local Fivetran: a server that speaks Fivetran's REST API and really moves data.

It shares no code with the client in `fivetran_assets.fivetran` on purpose: it is checked
against Fivetran's own OpenAPI definition, the client is checked against it.
"""
