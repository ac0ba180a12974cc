"""Fivetran webhooks: signature check, receiver app and the durable event log.

Sensors and waits read the log through `EventLog` (`read_after`, `read_page`, `wait_after`,
`latest_id`); the receiver itself lives in `app` / `server` and is started by
`fivetran-assets webhooks serve`.
"""

from fivetran_assets.webhooks.events import EventName, SyncStatus, WebhookEvent, WebhookPayloadError
from fivetran_assets.webhooks.signature import SIGNATURE_HEADER, sign, verify
from fivetran_assets.webhooks.store import Appended, EventLog, EventPage, StoredEvent

__all__ = [
    "SIGNATURE_HEADER",
    "Appended",
    "EventLog",
    "EventName",
    "EventPage",
    "StoredEvent",
    "SyncStatus",
    "WebhookEvent",
    "WebhookPayloadError",
    "sign",
    "verify",
]
