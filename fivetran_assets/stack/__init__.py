"""The demo/dev stack: the local Fivetran and the webhook receiver as background processes.

`fivetran-assets demo | dev | stop` (`cli.py`) are built from small pieces: paths and ports from
the environment (`settings`), the demo's generated secrets and the env vars they become
(`credentials`), busy-port checks (`ports`), detached processes with pid files, health checks and
graceful stop (`processes`), the services' command lines and the demo data (`services`), the
local Dagster instance home (`home`), and the demo's jobs run through Dagster (`runner`,
`pipeline`) with their closing summary (`summary`).
"""
