"""The one place the project's Dagster Definitions are assembled: the `dg` defs folder.

`fivetran_assets/defs/` holds one `FivetranEstateComponent` (its `defs.yaml`) for the estate
under config/ (`$FIVETRAN_ASSETS_CONFIG`); its assets, jobs, schedules and sensors come from the
config and the component's state, with no API call (`dg utils refresh-defs-state`,
`fivetran-assets apply` or the `provision_fivetran` job refresh that state).
"""

from pathlib import Path

import dagster as dg

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
