"""A Fivetran client for an estate's account section (no Dagster imports).

Shared by `plan`/`apply`, `refresh` and anything else that talks to the estate's Fivetran from a
shell: the base URL and credential variables come from the config, the budget and timeouts too.
"""

from __future__ import annotations

import os

from fivetran_assets.estate.estate import Estate
from fivetran_assets.estate.references import Environment
from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.fivetran.ratelimit import RateBudget
from fivetran_assets.fivetran.retry import RetryPolicy

# Set when the local Fivetran runs time-scaled (`emulator serve --time-scale N`), so the limiter
# scales with it.
TIME_SCALE_ENV = "FIVETRAN_TIME_SCALE"


def client_for(estate: Estate, environment: Environment | None = None) -> FivetranClient:
    """A client from the estate's account section (URL, credentials from env, budget, timeouts).

    `$FIVETRAN_TIME_SCALE` shortens the rate-limit windows for a time-scaled local Fivetran.
    """
    variables = dict(environment.variables) if environment is not None else None
    key, secret = estate.credentials(variables)
    account = estate.account
    budget = account.rate_budget
    scale = float(os.environ.get(TIME_SCALE_ENV, "1") or 1)
    return FivetranClient(
        key.reveal(),
        secret.reveal(),
        base_url=estate.base_url(variables),
        timeout=(account.connect_timeout, account.read_timeout),
        legacy_paths=account.legacy_paths,
        retry=RetryPolicy(),
        rate_budget=RateBudget(
            requests_per_hour=budget.requests_per_hour,
            creates_per_minute=budget.connection_creates_per_minute,
            creates_per_hour=budget.connection_creates_per_hour,
            time_scale=scale,
        ),
    )
