"""The project's Definitions load."""

import dagster as dg

from fivetran_assets.definitions import defs


def test_definitions_load() -> None:
    assert isinstance(defs, dg.Definitions)
    defs.get_repository_def()
