"""The one way this project builds a Fivetran client: from the estate's account section.

`build_client(ClientSettings)` is used by every path: the CLI (`client_for(estate)`), the Dagster
`FivetranResource` (whose fields default from the same account section) and so the
`provision_fivetran` job. Each gets the base URL, timeouts, retries and the whole budget
(requests per hour and the connection-create caps), paced by one limiter per account that every
process of the deployment shares through the state database (`state.shared.StateLocation`:
`$FIVETRAN_ASSETS_RATE_STATE`, else `account.rate_state`, else `state.sqlite` in the state
folder). No Dagster imports.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fivetran_assets.estate.estate import Estate
from fivetran_assets.estate.references import Environment, Secret, resolve
from fivetran_assets.fivetran.client import FivetranClient, resolve_base_url
from fivetran_assets.fivetran.ratelimit import RateBudget, account_fingerprint
from fivetran_assets.fivetran.retry import RetryPolicy
from fivetran_assets.state.database import DatabaseURL
from fivetran_assets.state.ratelimit import shared_rate_limiter
from fivetran_assets.state.shared import RATE_STATE_ENV, StateLocation, state_folder

# Set when the local Fivetran runs time-scaled (`emulator serve --time-scale N`), so the limiter
# scales with it.
TIME_SCALE_ENV = "FIVETRAN_TIME_SCALE"


@dataclass(frozen=True)
class ClientSettings:
    """Everything a client is built from. `state` None paces this process alone (a client
    built by hand, outside any project)."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    base_url: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    legacy_paths: bool = False
    max_retries: int = 5
    requests_per_hour: int = 20_000
    connection_creates_per_minute: int = 20
    connection_creates_per_hour: int = 100
    time_scale: float = 1.0
    state: StateLocation | None = None

    @property
    def budget(self) -> RateBudget:
        return RateBudget(
            requests_per_hour=self.requests_per_hour,
            creates_per_minute=self.connection_creates_per_minute,
            creates_per_hour=self.connection_creates_per_hour,
            time_scale=self.time_scale,
        )


def build_client(settings: ClientSettings) -> FivetranClient:
    """A client paced by the account's shared budget (see the module docstring)."""
    url = resolve_base_url(settings.base_url)
    limiter = None
    if settings.state is not None:
        limiter = shared_rate_limiter(
            settings.state.shared(), account_fingerprint(url, settings.api_key), settings.budget
        )
    return FivetranClient(
        settings.api_key,
        settings.api_secret,
        base_url=url,
        timeout=(settings.connect_timeout, settings.read_timeout),
        legacy_paths=settings.legacy_paths,
        retry=RetryPolicy(max_retries=settings.max_retries),
        rate_budget=settings.budget,
        rate_limiter=limiter,
    )


def time_scale(environ: Mapping[str, str] | None = None) -> float:
    """`$FIVETRAN_TIME_SCALE` (a time-scaled local Fivetran shortens the rate windows), else 1."""
    env = os.environ if environ is None else environ
    return float(env.get(TIME_SCALE_ENV) or 1)


def state_location(
    root: Path | None,
    rate_state: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    folder: Path | None = None,
) -> StateLocation:
    """The deployment's shared state: `$FIVETRAN_ASSETS_RATE_STATE`, else `rate_state` (the
    account section's value, references resolved here), else SQLite in the state folder
    (`folder`, else the rule of `state.shared.state_folder`)."""
    env = dict(os.environ if environ is None else environ)
    folder = folder or state_folder(root, env)
    explicit = (env.get(RATE_STATE_ENV) or "").strip()
    if not explicit and rate_state:
        value = resolve(rate_state, Environment(variables=env, root=root or Path.cwd()),
                        where="account.rate_state")  # fmt: skip
        explicit = value.reveal() if isinstance(value, Secret) else str(value)
    return StateLocation(folder, DatabaseURL.parse(explicit, base=root) if explicit else None)


def estate_state(estate: Estate, environment: Environment | None = None) -> StateLocation:
    """`state_location` for an estate: its root and its `account.rate_state`."""
    variables = dict(environment.variables) if environment is not None else None
    return state_location(estate.root, estate.account.rate_state, variables)


def client_settings(estate: Estate, environment: Environment | None = None) -> ClientSettings:
    """The estate's account section as client settings (credentials from the environment)."""
    variables = dict(environment.variables) if environment is not None else None
    key, secret = estate.credentials(variables)
    account = estate.account
    budget = account.rate_budget
    return ClientSettings(
        key.reveal(),
        secret.reveal(),
        base_url=estate.base_url(variables),
        connect_timeout=account.connect_timeout,
        read_timeout=account.read_timeout,
        legacy_paths=account.legacy_paths,
        requests_per_hour=budget.requests_per_hour,
        connection_creates_per_minute=budget.connection_creates_per_minute,
        connection_creates_per_hour=budget.connection_creates_per_hour,
        time_scale=time_scale(variables),
        state=estate_state(estate, environment),
    )


def client_for(estate: Estate, environment: Environment | None = None) -> FivetranClient:
    """A client from the estate's account section: `build_client(client_settings(...))`."""
    return build_client(client_settings(estate, environment))
