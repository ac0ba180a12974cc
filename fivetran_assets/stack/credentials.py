"""The demo's local secrets, generated once and kept in `.state/`, and the env vars they make.

The local Fivetran, the receiver, the reconciler and Dagster must agree on an API key, an API
secret and a webhook signing secret. Generating them once per checkout (not hard-coding them)
keeps the demo honest about secrets: they travel only through environment variables, the file
is private to the user, and nothing here prints more than a masked prefix.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from fivetran_assets.stack.settings import BASE_URL_ENV, StackSettings
from fivetran_assets.state.files import write_atomic

CREDENTIALS_FILE = "credentials.json"


class CredentialsError(RuntimeError):
    """The credentials file exists but cannot be used."""


def mask(value: str) -> str:
    """Enough of a secret to tell two apart, never enough to use it."""
    return f"{value[:4]}…" if len(value) > 8 else "…"


@dataclass(frozen=True)
class Credentials:
    api_key: str
    api_secret: str = field(repr=False)
    webhook_secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(api_key={mask(self.api_key)!r}, api_secret='…', webhook_secret='…')"

    @classmethod
    def generate(cls) -> Credentials:
        return cls(
            api_key=secrets.token_hex(8),
            api_secret=secrets.token_urlsafe(24),
            webhook_secret=secrets.token_urlsafe(24),
        )


def load_or_create_credentials(state_dir: Path) -> Credentials:
    """The credentials in `state_dir/credentials.json`, created (mode 0600) when missing."""
    path = state_dir / CREDENTIALS_FILE
    if path.exists():
        try:
            data = json.loads(path.read_text())
            return Credentials(
                api_key=str(data["api_key"]),
                api_secret=str(data["api_secret"]),
                webhook_secret=str(data["webhook_secret"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CredentialsError(
                f"{path}: unreadable demo credentials ({type(exc).__name__}); delete the file "
                "to generate new ones (then run `fivetran-assets stop` and start again)"
            ) from None
    creds = Credentials.generate()
    body = json.dumps(
        {
            "api_key": creds.api_key,
            "api_secret": creds.api_secret,
            "webhook_secret": creds.webhook_secret,
        }
    )
    if not write_atomic(path, body, exclusive=True):
        return load_or_create_credentials(state_dir)  # another process made them first
    return creds


def stack_env(settings: StackSettings, creds: Credentials) -> dict[str, str]:
    """The environment variables the config, the CLI and Dagster read, for the local stack."""
    return {
        BASE_URL_ENV: settings.emulator_url,
        "FIVETRAN_API_KEY": creds.api_key,
        "FIVETRAN_API_SECRET": creds.api_secret,
        "FIVETRAN_ASSETS_DEMO_DIR": str(settings.demo_path),
        "FIVETRAN_WEBHOOK_URL": settings.webhook_url,
        "FIVETRAN_WEBHOOK_SECRET": creds.webhook_secret,
        # Where the receiver stores events, so the assets wait on `sync_end` instead of polling.
        "FIVETRAN_ASSETS_EVENT_LOG": str(settings.webhook_db),
        "DAGSTER_HOME": str(settings.dagster_home),
    }
