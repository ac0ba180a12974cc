"""The Dagster face under each injected fault: a sync materialization, a transformation run, the
polling sensor and the webhook sensor, on the demo estate with a real receiver.

- A run either succeeds with each asset materialized once, or fails with a clear `Failure`;
  either way the sync (or transformation run) was started exactly once: no duplicate.
- The polling sensor records a sync Dagster did not run exactly once, however many of its ticks
  the fault spoils: nothing lost, nothing twice.
- The webhook sensor: its deliveries are the faulted path (rules with method WEBHOOK on the
  receiver's path: refused, dropped before or after the receiver stored the event, answered too
  late); Fivetran's redeliveries bring every event, the receiver keeps one copy, and the sensor
  records the sync exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pytest

from fivetran_assets.dagster.build import build_fivetran_definitions
from fivetran_assets.dagster.sensors import build_polling_sensor
from fivetran_assets.dagster.webhook_sensor import build_webhook_sensor
from fivetran_assets.emulator.faults import DELIVERY_METHOD
from fivetran_assets.webhooks import EventName
from fivetran_assets_tests.dagster_webhooks.estate import Ticker, materializations
from fivetran_assets_tests.dagster_webhooks.live import Live, live_estate
from fivetran_assets_tests.faults.matrix import FAULTS, READ_TIMEOUT, Matrix
from fivetran_assets_tests.fixtures.local import LocalControls

TRANSFORM_IN_TEST = ("dropped after", "read timeout")
"""A transformation run is a real dbt run (seconds each): `make test` runs the two faults after
which the server has acted without the client knowing (where a duplicate run could come from);
`--campaign bench` (make bench) runs all five."""
AUTO = ("sales", "marketing")  # on Fivetran's schedule in the estate view the sensors watch
EXECUTED = (None, "delay", "drop_after")  # faults after which the server still acted


@dataclass
class Controls(LocalControls):
    live: Live

    @property
    def control_url(self) -> str:
        return self.live.server.base_url

    @property
    def control_auth(self) -> tuple[str, str]:
        return self.live.server.auth

    def arm(self, fault: str, path: str, method: str = "*", *, count: int | None = None) -> None:
        """Arm `fault` on `path`; with `count`, only its first rule, that many times."""
        self.clear_faults()
        self.clear_requests()
        rules = FAULTS[fault](path, method)
        for rule in rules if count is None else [{**rules[0], "count": count}]:
            self.fault(**rule)

    def applied(self) -> int:
        """How many requests or deliveries the armed faults hit."""
        return sum(rule["applied"] for rule in self._local("GET", "faults").json()["items"])

    def started(self, method: str, suffix: str) -> int:
        """Requests `method ...suffix` the server acted on and accepted (2xx, or no answer)."""
        return sum(
            1
            for e in self.requests()
            if e["method"] == method
            and e["path"].endswith(suffix)
            and e["fault"] in EXECUTED
            and (e["status"] is None or e["status"] < 300)
        )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_estate(tmp_path_factory.mktemp("faults"), fivetran_scheduled=AUTO) as estate:
        yield estate


@pytest.fixture
def controls(live: Live) -> Iterator[Controls]:
    live.schedule_by_fivetran(*AUTO, paused=True)  # quiet: only what the test starts runs
    live.wait_idle(*live.connection_ids)
    yield Controls(live)
    Controls(live).clear_faults()


def _resources(live: Live) -> dict[str, Any]:
    return live.resources(warehouse=False, read_timeout=READ_TIMEOUT, max_retries=6)


def _materialize_under(
    fault: str, live: Live, controls: Controls, keys: set[dg.AssetKey], path: str, action: str
) -> str:
    """Materialize `keys` with `fault` armed on `path`; the end state, checked.

    Success: each asset materialized once. Failure: a `Failure` that says why. Either way, the
    `POST ...{action}` that starts the sync or the run was acted on exactly once.
    """
    defs = build_fivetran_definitions(live.view, live.snapshot, resources=_resources(live))
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=keys)
    instance = dg.DagsterInstance.ephemeral()
    controls.arm(fault, path)
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    what = "sync" if action == "/sync" else "transformation run"
    started = controls.started("POST", action)
    assert started == 1, f"the {what} was started {started} times"
    if result.success:
        assert all(materializations(instance, key) == 1 for key in keys)
        return f"succeeded, 1 {what}"
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.message if failure.step_failure_data else ""
    assert message.strip(), "a failed run must say why"
    return f"failed clearly, 1 {what}"


@pytest.mark.parametrize("fault", FAULTS)
def test_sync_materialization_under_fault(
    fault: str, live: Live, controls: Controls, matrix: Matrix
) -> None:
    cid = live.connection_ids["engineering"]
    conns, _ = live.assets()
    (ca,) = [c for c in conns if c.connection_id == cid]
    path = f"/v1/connections/{cid}*"
    outcome = _materialize_under(fault, live, controls, set(ca.tables), path, "/sync")
    matrix.record("sync materialization", fault, outcome)


@pytest.mark.parametrize("fault", FAULTS)
def test_transformation_run_under_fault(
    fault: str, live: Live, controls: Controls, matrix: Matrix, request: pytest.FixtureRequest
) -> None:
    if request.config.getoption("campaign") == "test" and fault not in TRANSFORM_IN_TEST:
        matrix.record("transformation run", fault, "in make bench")
        pytest.skip("a dbt run per cell: make bench (--campaign bench) runs this one")
    for name, cid in live.connection_ids.items():  # the models read every department
        if live.client.get_connection(cid).succeeded_at is None:
            _fivetran_ran_a_sync(live, name)
    _, (ta,) = live.assets()
    path = f"/v1/transformations/{live.transformation_id}*"
    outcome = _materialize_under(fault, live, controls, set(ta.models), path, "/run")
    matrix.record("transformation run", fault, outcome)


def _fivetran_ran_a_sync(live: Live, name: str) -> str:
    """A sync Dagster did not start; returns when it has ended."""
    cid = live.connection_ids[name]
    live.client.update_connection(cid, paused=False, schedule_type="manual")
    before = live.client.get_connection(cid).succeeded_at
    live.client.sync_connection(cid)
    deadline = time.monotonic() + 30
    while live.client.get_connection(cid).succeeded_at == before:
        assert time.monotonic() < deadline, "the sync did not end"
        time.sleep(0.1)
    return cid


def _ticks_until_recorded(ticker: Ticker, key: dg.AssetKey, *, before: int) -> int:
    for tick in range(1, 41):
        ticker.tick()
        if materializations(ticker.instance, key) > before:
            return tick
        time.sleep(0.25)
    raise AssertionError(f"{key.to_user_string()} was never recorded")


@pytest.mark.parametrize("fault", FAULTS)
def test_polling_sensor_under_fault(
    fault: str, live: Live, controls: Controls, matrix: Matrix
) -> None:
    conns, _ = live.assets()
    sensor = build_polling_sensor(conns)
    assert sensor is not None
    ticker = Ticker(sensor, dg.DagsterInstance.ephemeral(), _resources(live))
    ticker.tick()  # the cursor now knows every sync so far
    cid = _fivetran_ran_a_sync(live, "sales")
    (ca,) = [c for c in conns if c.connection_id == cid]
    key = next(iter(ca.tables))
    before = materializations(ticker.instance, key)
    controls.arm(fault, "/v1/connections/*", "GET")
    ticks = _ticks_until_recorded(ticker, key, before=before)
    assert controls.applied(), "the sensor's reads were not faulted"
    controls.clear_faults()
    for _ in range(3):
        ticker.tick()
    assert materializations(ticker.instance, key) == before + 1, "recorded twice"
    matrix.record("polling sensor", fault, f"recorded once (tick {ticks}), none lost")


@pytest.mark.parametrize("fault", FAULTS)
def test_webhook_sensor_under_fault(
    fault: str, live: Live, controls: Controls, matrix: Matrix
) -> None:
    conns, transforms = live.assets()
    sensor = build_webhook_sensor(
        conns,
        transforms,
        event_log=live.receiver.log.url,
        request_integrated_runs=False,
        start_from_latest=True,  # events of the cells before are not this cell's
    )
    ticker = Ticker(sensor, dg.DagsterInstance.ephemeral(), _resources(live))
    ticker.tick()
    path = live.receiver.webhook_url.split("://", 1)[1].split("/", 1)[1]
    # Fivetran waits 1, 2, 4 ... minutes between attempts: two faulted attempts keep it short.
    controls.arm(fault, f"/{path}", DELIVERY_METHOD, count=2)
    cid = _fivetran_ran_a_sync(live, "marketing")
    (ca,) = [c for c in conns if c.connection_id == cid]
    key = next(iter(ca.tables))
    before = materializations(ticker.instance, key)
    ticks = _ticks_until_recorded(ticker, key, before=before)
    assert controls.applied() == 2, "the deliveries were not faulted"
    for _ in range(3):
        ticker.tick()
    assert materializations(ticker.instance, key) == before + 1, "recorded twice"
    sync_id = live.client.get_connection(cid)
    ends = [
        e
        for e in live.receiver.log.read_after(0, events=[EventName.SYNC_END], connection_ids=[cid])
        if e.received_at.timestamp() > time.time() - 120
    ]
    assert len({e.event.sync_id for e in ends}) == len(ends), f"a duplicate event: {sync_id}"
    matrix.record("webhook sensor", fault, f"recorded once (tick {ticks}), 1 event stored")
