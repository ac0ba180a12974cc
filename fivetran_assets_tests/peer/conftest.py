"""The live demo estate (the Dagster tests' fixture), for comparing keys with dagster-fivetran."""

from fivetran_assets_tests.dagster.conftest import demo  # noqa: F401  (the fixture)
