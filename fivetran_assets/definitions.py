"""The one place the project's Dagster Definitions are assembled.

Assets, jobs, schedules, sensors and checks come from the estate config (`$FIVETRAN_ASSETS_CONFIG`
or `config/`) and the cached snapshot (`fivetran-assets refresh`); loading makes no API call.
Provisioning (the plan/apply job and the config sensor) is merged in from its own module.
"""

import dagster as dg

from fivetran_assets.dagster.build import load_fivetran_definitions
from fivetran_assets.dagster.provision import provision_definitions

defs = dg.Definitions.merge(load_fivetran_definitions(), provision_definitions())
