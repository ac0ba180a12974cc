"""Destinations (one per group; the destination id is the group id) and webhooks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from fivetran_assets.fivetran.enums import WebhookEvent
from fivetran_assets.fivetran.models import Destination, Webhook, WebhookTestResult
from fivetran_assets.fivetran.resources.base import ResourceBase, body_of, seg


class DestinationsMixin(ResourceBase):
    def create_destination(
        self,
        group_id: str,
        service: str,
        *,
        region: str | None = None,
        time_zone_offset: str | None = None,
        config: Mapping[str, Any] | None = None,
        run_setup_tests: bool | None = None,
        trust_certificates: bool | None = None,
        trust_fingerprints: bool | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Destination:
        """`POST /v1/destinations`."""
        body = body_of(
            extra,
            group_id=group_id,
            service=service,
            region=region,
            time_zone_offset=time_zone_offset,
            config=config,
            run_setup_tests=run_setup_tests,
            trust_certificates=trust_certificates,
            trust_fingerprints=trust_fingerprints,
        )
        data = self._http.data("POST", "/v1/destinations", body=body, versioned=True)
        return Destination.from_api(data)

    def list_destinations(self) -> Iterator[Destination]:
        """`GET /v1/destinations`, every page."""
        items = self._http.paginate("/v1/destinations", versioned=True)
        return (Destination.from_api(item) for item in items)

    def get_destination(self, destination_id: str) -> Destination:
        """`GET /v1/destinations/{destinationId}`."""
        path = f"/v1/destinations/{seg(destination_id)}"
        return Destination.from_api(self._http.data("GET", path, versioned=True))

    def update_destination(
        self,
        destination_id: str,
        *,
        region: str | None = None,
        time_zone_offset: str | None = None,
        config: Mapping[str, Any] | None = None,
        run_setup_tests: bool | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Destination:
        """`PATCH /v1/destinations/{destinationId}`."""
        body = body_of(
            extra,
            region=region,
            time_zone_offset=time_zone_offset,
            config=config,
            run_setup_tests=run_setup_tests,
        )
        path = f"/v1/destinations/{seg(destination_id)}"
        return Destination.from_api(self._http.data("PATCH", path, body=body, versioned=True))

    def delete_destination(self, destination_id: str) -> None:
        """`DELETE /v1/destinations/{destinationId}`."""
        self._http.request("DELETE", f"/v1/destinations/{seg(destination_id)}", versioned=True)

    def test_destination(
        self,
        destination_id: str,
        *,
        trust_certificates: bool | None = None,
        trust_fingerprints: bool | None = None,
    ) -> Destination:
        """`POST /v1/destinations/{destinationId}/test`: run setup tests; results on the record."""
        body = body_of(
            None, trust_certificates=trust_certificates, trust_fingerprints=trust_fingerprints
        )
        path = f"/v1/destinations/{seg(destination_id)}/test"
        return Destination.from_api(self._http.data("POST", path, body=body, versioned=True))


class WebhooksMixin(ResourceBase):
    def create_account_webhook(
        self,
        url: str,
        events: Sequence[WebhookEvent | str],
        *,
        secret: str | None = None,
        active: bool = True,
    ) -> Webhook:
        """`POST /v1/webhooks/account`: events of every group."""
        body = body_of(None, url=url, events=list(events), active=active, secret=secret)
        return Webhook.from_api(self._http.data("POST", "/v1/webhooks/account", body=body))

    def create_group_webhook(
        self,
        group_id: str,
        url: str,
        events: Sequence[WebhookEvent | str],
        *,
        secret: str | None = None,
        active: bool = True,
    ) -> Webhook:
        """`POST /v1/webhooks/group/{groupId}`: events of one group."""
        body = body_of(None, url=url, events=list(events), active=active, secret=secret)
        path = f"/v1/webhooks/group/{seg(group_id)}"
        return Webhook.from_api(self._http.data("POST", path, body=body))

    def list_webhooks(self) -> Iterator[Webhook]:
        """`GET /v1/webhooks`, every page (account and group webhooks)."""
        return (Webhook.from_api(item) for item in self._http.paginate("/v1/webhooks"))

    def get_webhook(self, webhook_id: str) -> Webhook:
        """`GET /v1/webhooks/{webhookId}`."""
        return Webhook.from_api(self._http.data("GET", f"/v1/webhooks/{seg(webhook_id)}"))

    def update_webhook(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        events: Sequence[WebhookEvent | str] | None = None,
        active: bool | None = None,
        secret: str | None = None,
    ) -> Webhook:
        """`PATCH /v1/webhooks/{webhookId}`."""
        body = body_of(
            None,
            url=url,
            events=list(events) if events is not None else None,
            active=active,
            secret=secret,
        )
        path = f"/v1/webhooks/{seg(webhook_id)}"
        return Webhook.from_api(self._http.data("PATCH", path, body=body))

    def delete_webhook(self, webhook_id: str) -> None:
        """`DELETE /v1/webhooks/{webhookId}`."""
        self._http.request("DELETE", f"/v1/webhooks/{seg(webhook_id)}")

    def test_webhook(
        self, webhook_id: str, *, event: WebhookEvent | str = WebhookEvent.SYNC_END
    ) -> WebhookTestResult:
        """`POST /v1/webhooks/{webhookId}/test`: Fivetran sends a sample `event` to the URL."""
        path = f"/v1/webhooks/{seg(webhook_id)}/test"
        data = self._http.data("POST", path, body={"event": event})
        return WebhookTestResult.from_api(data)
