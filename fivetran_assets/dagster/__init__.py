"""The Dagster face of the project: resources, assets, jobs, schedules and sensors."""

import warnings

from dagster import BetaWarning

# Dagster 1.13 rebuilds every sensor it attaches resources to with `owners=[]`, which raises the
# beta warning for a parameter nobody set, once in every process that loads the definitions (code
# servers, run workers, `dagster dev`). Nothing to act on, so it stays out of terminals and logs.
warnings.filterwarnings(
    "ignore",
    message=r"Parameter `owners` of initializer `SensorDefinition\.__init__` is currently in beta",
    category=BetaWarning,
)
