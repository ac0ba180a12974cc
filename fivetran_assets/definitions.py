"""The one place the project's Dagster Definitions are assembled: the `dg` defs folder.

`fivetran_assets/defs/` holds one `FivetranEstateComponent` (its `defs.yaml`) for the estate
under config/ (`$FIVETRAN_ASSETS_CONFIG`); its assets, jobs, schedules and sensors come from the
config and the component's state, with no API call (`dg utils refresh-defs-state`,
`fivetran-assets apply` or the `provision_fivetran` job refresh that state).
"""

import warnings
from pathlib import Path

import dagster as dg

from fivetran_assets.stack.env import complete_environ_for_project

# Dagster 1.13 rebuilds every sensor it attaches resources to with `owners=[]`, which raises the
# beta warning for a parameter nobody set, in every process that loads these definitions (code
# servers, run workers, `dagster dev`). Nothing to act on, so it stays out of terminals and logs.
# Set here, at the top of the module a code server imports: Dagster loads the component inside
# `catch_warnings` blocks, which would undo a filter set there.
warnings.filterwarnings(
    "ignore",
    message=r"Parameter `owners` of initializer `SensorDefinition\.__init__` is currently in beta",
    category=dg.BetaWarning,
)

# A `dagster` command typed in a new shell after `make demo` sets none of the stack's variables:
# take them from the stack recorded in .state/run/ (nothing happens without one, or in a shell
# that sets them), so its runs reach the local Fivetran.
complete_environ_for_project(Path(__file__).resolve().parent.parent)
defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
