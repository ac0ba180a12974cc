"""Adopt an existing Fivetran account: read it (read-only) and write the estate config for it.

`read.py` reads the live account through the client, group by group, so a group the API key
may not read (403) is reported and the rest imported; `records.py` turns live records into the
config's vocabulary; `templates.py` finds `for_each` templates and shared selections;
`secrets.py` names the secrets Fivetran never returns; `document.py` renders and writes the
YAML. No Dagster here: `fivetran-assets import` runs from a shell.
"""
