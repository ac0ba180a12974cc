"""Advice on a valid estate: what is allowed but will not do what it seems to promise.

`validate` and `plan` show these; none stops an apply.

- A webhook subscribed to events that nothing its group declares can send (`dbt_run_*` or
  `transformation_run_*` in a group without transformations, connection events in a group
  without connections; `status` is deprecated and never sent).
- A transformation whose run ends no active webhook of its group announces: Dagster then waits
  for the runs it starts by polling (`GET /v1/transformations/{id}` on a back-off) and does
  not see the runs Fivetran starts on its own schedule. A success needs `dbt_run_succeeded` or
  `transformation_run_succeeded`, a failure `dbt_run_failed` or `transformation_run_failed`.
- Only `dbt_run_succeeded` / `dbt_run_failed` carry a run's per-model results and test verdicts
  (the models' `fivetran_dbt_tests` checks): subscribing only to `transformation_run_*` loses
  them.
"""

from __future__ import annotations

from dataclasses import dataclass

from fivetran_assets.estate.errors import Location
from fivetran_assets.estate.estate import Estate, Group
from fivetran_assets.estate.vocabulary import WebhookEvent

_TRANSFORMATION_EVENTS = frozenset(e for e in WebhookEvent if e.value.startswith(("dbt_", "trans")))
_SUCCESS = frozenset({WebhookEvent.DBT_RUN_SUCCEEDED, WebhookEvent.TRANSFORMATION_RUN_SUCCEEDED})
_FAILURE = frozenset({WebhookEvent.DBT_RUN_FAILED, WebhookEvent.TRANSFORMATION_RUN_FAILED})
_DBT_ENDS = frozenset({WebhookEvent.DBT_RUN_SUCCEEDED, WebhookEvent.DBT_RUN_FAILED})


@dataclass(frozen=True)
class Advice:
    """One piece of advice: where (key path and line) and what."""

    path: str
    message: str
    group: str
    name: str  # the webhook's URL or the transformation's name
    kind: str  # "webhook" | "transformation"
    location: Location | None = None


def _unsendable(group: Group, events: frozenset[WebhookEvent]) -> list[str]:
    reasons = []
    runs = sorted(e.value for e in events & _TRANSFORMATION_EVENTS)
    if runs and not group.transformations:
        reasons.append(f"{', '.join(runs)} (the group declares no transformation)")
    connection_events = sorted(
        e.value for e in events - _TRANSFORMATION_EVENTS if e is not WebhookEvent.STATUS
    )
    if connection_events and not group.connections:
        reasons.append(f"{', '.join(connection_events)} (the group declares no connection)")
    if WebhookEvent.STATUS in events:
        reasons.append("status (deprecated: Fivetran sends sync_end instead)")
    return reasons


def advise(estate: Estate) -> list[Advice]:
    """Every piece of advice for `estate`, in config order."""
    out: list[Advice] = []
    for group in estate.groups:
        subscribed: set[WebhookEvent] = set()
        for index, hook in enumerate(group.webhooks):
            events = frozenset(hook.events)
            if hook.active:
                subscribed |= events
            for reason in _unsendable(group, events):
                out.append(
                    Advice(
                        path=f"{group.path}.webhooks[{index}].events",
                        message=f"can never be sent: {reason}",
                        group=group.name,
                        name=hook.url,
                        kind="webhook",
                    )
                )
        for transformation in group.transformations:
            missing = [
                (label, suggest)
                for label, ends, suggest in (
                    ("success", _SUCCESS, WebhookEvent.DBT_RUN_SUCCEEDED),
                    ("failure", _FAILURE, WebhookEvent.DBT_RUN_FAILED),
                )
                if not ends & subscribed
            ]
            if missing:
                ends = " or ".join(label for label, _ in missing)
                message = (
                    f"no active webhook of group {group.name} announces the {ends} of its runs "
                    f"(subscribe one to {', '.join(s.value for _, s in missing)}): "
                    "Dagster polls for the runs it starts and does not see those Fivetran starts"
                )
            elif not subscribed >= _DBT_ENDS:
                message = (
                    "subscribe a webhook to dbt_run_succeeded and dbt_run_failed: only they carry "
                    "the run's per-model results and test verdicts (fivetran_dbt_tests)"
                )
            else:
                continue
            out.append(
                Advice(
                    path=transformation.path,
                    message=message,
                    group=group.name,
                    name=transformation.name,
                    kind="transformation",
                    location=transformation.location,
                )
            )
    return out
