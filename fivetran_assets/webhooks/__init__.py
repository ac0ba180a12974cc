"""Fivetran webhooks: signature check, receiver app and the durable event log.

Sensors and waits read the log through `EventLog(url)` (`read_after`, `read_page`, `wait_after`,
`latest_id`), SQLite or PostgreSQL; the receiver itself lives in `app` / `server` and is started
by `fivetran-assets webhooks serve`; `fivetran-assets webhooks events` lists what is stored.
"""

from fivetran_assets.webhooks.events import EventName, SyncStatus, WebhookEvent, WebhookPayloadError
from fivetran_assets.webhooks.signature import SIGNATURE_HEADER, sign, verify
from fivetran_assets.webhooks.store import (
    Appended,
    EventLog,
    EventLogLocation,
    EventPage,
    EventRejected,
    StoredEvent,
)

__all__ = [
    "SIGNATURE_HEADER",
    "Appended",
    "EventLog",
    "EventLogLocation",
    "EventName",
    "EventPage",
    "EventRejected",
    "StoredEvent",
    "SyncStatus",
    "WebhookEvent",
    "WebhookPayloadError",
    "sign",
    "verify",
]
