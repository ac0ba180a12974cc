"""`fivetran-assets webhooks ...`: run the webhook receiver."""

from __future__ import annotations

import click


@click.group()
def webhooks() -> None:
    """Receive Fivetran's signed webhooks into a durable event log."""
