"""The Dagster face of the project: resources, assets, jobs, schedules and sensors."""
