"""Webhook events of the local Fivetran: who hears an event, and the body they get.

Connection events use the body Fivetran sends, in its key order: ``event, created,
connector_type, connector_id, connector_name, sync_id, destination_group_id, data``
(``sync_id`` is null outside a sync). Transformation events (``transformation_run_*`` and,
for dbt Core, ``dbt_run_*``) have no connector, so they carry ``event, created,
destination_group_id, data``; `transform_events` builds their ``data``.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

from fivetran_assets.emulator.clock import Clock, iso
from fivetran_assets.emulator.store import Store


class Event(StrEnum):
    SYNC_START = "sync_start"
    SYNC_END = "sync_end"
    CONNECTION_SUCCESSFUL = "connection_successful"
    CONNECTION_FAILURE = "connection_failure"
    CREATE_CONNECTOR = "create_connector"
    PAUSE_CONNECTOR = "pause_connector"
    RESUME_CONNECTOR = "resume_connector"
    EDIT_CONNECTOR = "edit_connector"
    DELETE_CONNECTOR = "delete_connector"
    FORCE_UPDATE_CONNECTOR = "force_update_connector"
    RESYNC_CONNECTOR = "resync_connector"
    RESYNC_TABLE = "resync_table"
    DBT_RUN_START = "dbt_run_start"
    DBT_RUN_SUCCEEDED = "dbt_run_succeeded"
    DBT_RUN_FAILED = "dbt_run_failed"
    TRANSFORMATION_RUN_START = "transformation_run_start"
    TRANSFORMATION_RUN_SUCCEEDED = "transformation_run_succeeded"
    TRANSFORMATION_RUN_FAILED = "transformation_run_failed"
    STATUS = "status"


class Deliverer(Protocol):
    def deliver(
        self,
        url: str,
        secret: str,
        body: dict[str, Any],
        *,
        on_give_up: Callable[[], None] | None = None,
    ) -> None: ...


class Events:
    """Builds event bodies and hands them to the webhook sender for every subscriber."""

    def __init__(self, store: Store, clock: Clock, sender: Deliverer) -> None:
        self._store = store
        self._clock = clock
        self._sender = sender

    def connection(
        self,
        event: Event,
        conn: dict[str, Any],
        data: dict[str, Any] | None = None,
        *,
        sync_id: str | None = None,
    ) -> None:
        body = {
            "event": event.value,
            "created": iso(self._clock.now()),
            "connector_type": conn["service"],
            "connector_id": conn["id"],
            "connector_name": conn["schema"],
            "sync_id": sync_id,
            "destination_group_id": conn["group_id"],
            "data": data or {},
        }
        self._publish(event, conn["group_id"], body)

    def transformation(self, event: Event, group_id: str | None, data: dict[str, Any]) -> None:
        body = {
            "event": event.value,
            "created": iso(self._clock.now()),
            "destination_group_id": group_id,
            "data": data,
        }
        self._publish(event, group_id, body)

    def _publish(self, event: Event, group_id: str | None, body: dict[str, Any]) -> None:
        for hook in self._store.values("webhook"):
            if not hook["active"] or event.value not in hook["events"]:
                continue
            if hook["type"] == "group" and hook["group_id"] != group_id:
                continue
            self._sender.deliver(
                hook["url"], hook.get("_secret") or "", body, on_give_up=self._disabler(hook["id"])
            )

    def _disabler(self, webhook_id: str) -> Callable[[], None]:
        """Fivetran disables a webhook whose deliveries kept failing for 24 hours."""

        def disable() -> None:
            with self._store.lock:
                hook = self._store.get("webhook", webhook_id)
                if hook is not None and hook["active"]:
                    self._store.put("webhook", {**hook, "active": False})

        return disable
