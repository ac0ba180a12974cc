"""A deployment with no shared disk: every process in its own empty folder, sharing only the
installed package, its own copy of the config, and PostgreSQL.

Started as separate processes: PostgreSQL (the tests' server), the local Fivetran, two webhook
receivers on one PostgreSQL event log, `dagster code-server start`, `dagster-webserver` and
`dagster-daemon`, each Dagster process on its own instance folder made from
`deploy/dagster.yaml`. Through the webserver's GraphQL API the test launches
`provision_fivetran` (webhook to receiver A), reloads the code location, and launches
`pipeline`. Then it points the webhook at receiver B and lets the local Fivetran sync the
Fivetran-scheduled connection on its own. It checks: both runs succeed; the webhook sensor (run
by the daemon, in the code server) records that sync from the event B stored; no event is
stored twice; the local Fivetran answered no request 429, though every process drew on the
account's budget.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from fivetran_assets.emulator.dataplane.seed import seed_demo
from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets_tests.fixtures.postgres import PostgresServer
from fivetran_assets_tests.production.deployment import (
    ASSETS,
    Service,
    answers,
    cli,
    dagster_home,
    estate_config,
    free_port,
    graphql,
    launch,
    materializations,
    reload_location,
    tool,
    wait_for_location,
    workspace,
)

KEY, SECRET = "deploy_key", "deploy_secret"
WEBHOOK_SECRET = "no-shared-disk-webhook-secret"
TIME_SCALE = 60  # a Fivetran minute is a second: the Fivetran-scheduled sync comes every 5 s


@dataclass
class Deployment:
    services: dict[str, Service]
    webserver: str
    emulator: str
    event_log: str
    receivers: tuple[str, str]
    provision: str
    pipeline: str

    def client(self) -> FivetranClient:
        return FivetranClient(KEY, SECRET, base_url=self.emulator, rate_budget=None)

    def events(self, *args: str) -> list[dict]:
        """`fivetran-assets webhooks events --json`, as an operator would run it."""
        done = subprocess.run(
            cli("webhooks", "events", "--db", self.event_log, "--json", "--limit", "1000", *args),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
def deployment(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("no-shared-disk")
    pg = postgres_server
    postgres_server.create_database("deployment")
    postgres_server.create_database("warehouse")
    shared = pg.url("deployment")  # Dagster's storage, the event log and the rate state
    ports = {name: free_port() for name in ("emulator", "a", "b", "code", "web")}
    emulator_url = f"http://127.0.0.1:{ports['emulator']}"
    receiver_urls = (f"http://127.0.0.1:{ports['a']}", f"http://127.0.0.1:{ports['b']}")
    sources = root / "emulator" / "sources"  # the source databases, only the emulator reads
    seed_demo(sources, departments=4, rows=20)

    dagster_env = {
        "DAGSTER_PG_HOST": pg.host,
        "DAGSTER_PG_PORT": str(pg.port),
        "DAGSTER_PG_USER": pg.user,
        "DAGSTER_PG_PASSWORD": "unused-trust-auth",
        "DAGSTER_PG_DB": "deployment",
        "FIVETRAN_ASSETS_EVENT_LOG": shared,
        "FIVETRAN_ASSETS_RATE_STATE": shared,
    }

    def dagster_process(name: str, argv: list[str], **env: str) -> Service:
        folder = root / name
        return Service(name, argv, folder, {**dagster_env, **env,
                                            "DAGSTER_HOME": str(dagster_home(folder))})  # fmt: skip

    code_folder = root / "code"
    code_env = {
        "FIVETRAN_API_KEY": KEY,
        "FIVETRAN_API_SECRET": SECRET,
        "FIVETRAN_BASE_URL": emulator_url,
        "FIVETRAN_TIME_SCALE": str(TIME_SCALE),
        "FIVETRAN_WEBHOOK_URL": receiver_urls[0] + "/fivetran/webhook",
        "FIVETRAN_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "FIVETRAN_ASSETS_CONFIG": str(estate_config(code_folder, warehouse=pg.config("warehouse"))),
        "SOURCES_DIR": str(sources),
        "WAREHOUSE_PASSWORD": "unused-trust-auth",
    }
    emulator_argv = cli("emulator", "serve", "--port", str(ports["emulator"]), "--state", "state")
    emulator_argv += ["--api-key", KEY, "--api-secret", SECRET, "--time-scale", str(TIME_SCALE)]
    services = {
        "emulator": Service(
            "emulator",
            emulator_argv,
            root / "emulator",
            ready=answers(emulator_url + "/_local/faults", auth=(KEY, SECRET)),
        )
    }
    for side in ("a", "b"):
        services[f"receiver_{side}"] = Service(
            f"receiver_{side}",
            cli("webhooks", "serve", "--port", str(ports[side]), "--access-log"),
            root / f"receiver_{side}",
            {"FIVETRAN_ASSETS_EVENT_LOG": shared, "FIVETRAN_WEBHOOK_SECRET": WEBHOOK_SECRET},
            ready=answers(f"http://127.0.0.1:{ports[side]}/healthz"),
        )
    grpc = ["-h", "127.0.0.1", "-p", str(ports["code"]), "-m", "fivetran_assets.definitions"]
    services["code"] = dagster_process(
        "code",
        tool("dagster", "code-server", "start", *grpc, "--location-name", "fivetran_assets"),
        **code_env,
    )
    web_workspace = str(workspace(root / "webserver", ports["code"]))
    services["webserver"] = dagster_process(
        "webserver",
        tool("dagster-webserver", "-h", "127.0.0.1", "-p", str(ports["web"]), "-w", web_workspace),
    )
    daemon_workspace = str(workspace(root / "daemon", ports["code"]))
    services["daemon"] = dagster_process(
        "daemon", tool("dagster-daemon", "run", "-w", daemon_workspace)
    )
    web = f"http://127.0.0.1:{ports['web']}"
    services["webserver"].ready = answers(web + "/server_info")
    try:
        for service in services.values():
            service.start()
        for service in services.values():
            service.wait_ready()
        wait_for_location(web)
        provision = launch(web, "provision_fivetran")
        reload_location(web)
        pipeline = launch(web, "pipeline") if provision == "SUCCESS" else "NOT RUN"
        yield Deployment(services, web, emulator_url, shared, receiver_urls, provision, pipeline)
    finally:
        for service in reversed(list(services.values())):
            service.stop()


def test_provisioning_and_the_pipeline_succeed_through_graphql(deployment: Deployment) -> None:
    logs = {name: s.tail() for name, s in deployment.services.items() if name in ("code", "daemon")}
    assert (deployment.provision, deployment.pipeline) == ("SUCCESS", "SUCCESS"), logs
    keys = [
        node["assetKey"]["path"] for node in graphql(deployment.webserver, ASSETS)["assetNodes"]
    ]
    assert ["sales_main", "employees"] in keys and ["finance_main", "employees"] in keys
    recorded = materializations(deployment.webserver, ["sales_main", "employees"])
    assert recorded and recorded[0]["run_id"], recorded  # materialized by the pipeline run


def test_the_webhook_sensor_records_a_fivetran_run_sync_delivered_to_the_other_receiver(
    deployment: Deployment,
) -> None:
    client = deployment.client()
    finance = next(c for c in client.list_connections() if c.schema == "finance")
    (hook,) = client.list_webhooks()
    client.update_webhook(hook.id, url=deployment.receivers[1] + "/fivetran/webhook")
    switched = time.time()
    deadline = time.monotonic() + 90
    event = recorded = None
    while time.monotonic() < deadline and recorded is None:
        after = [e for e in deployment.events("--event", "sync_end", "--connection", finance.id)
                 if _epoch(e["received_at"]) > switched + 1]  # fmt: skip
        if after:
            event = after[-1]
            found = materializations(deployment.webserver, ["finance_main", "employees"])
            recorded = next(
                (m for m in found if m.get("fivetran/sync_id") == event["sync_id"]), None
            )
        time.sleep(1)
    assert event is not None, "no Fivetran-run sync of finance reached receiver B"
    assert recorded is not None, deployment.services["code"].tail()
    assert recorded["run_id"] == ""  # recorded by the sensor, not by a run
    assert recorded["fivetran/recorded_by"] == "webhook sensor"
    assert recorded["fivetran/webhook_event_id"] == event["id"]
    b_log = deployment.services["receiver_b"].log.read_text()
    assert '"POST /fivetran/webhook HTTP/1.1" 200' in b_log


def test_no_event_is_stored_twice(deployment: Deployment) -> None:
    events = deployment.events()
    identities = [(e["event"], e["connection_id"], e["sync_id"], e["created"]) for e in events]
    assert events and len(identities) == len(set(identities))
    assert len({e["id"] for e in events}) == len(events)


def test_no_request_was_answered_429_on_one_shared_budget(deployment: Deployment) -> None:
    import psycopg

    answer = httpx.get(deployment.emulator + "/_local/requests", auth=(KEY, SECRET), timeout=30)
    entries = answer.json()["items"]
    assert entries, "the local Fivetran saw no request"
    assert [e for e in entries if e["status"] == 429] == []
    with psycopg.connect(deployment.event_log) as conn:  # the rate state lives there too
        accounts = conn.execute(
            "SELECT count(DISTINCT account) FROM fivetran_assets.rate_counts"
        ).fetchone()
    assert accounts == (1,)  # the run workers and the sensors drew on one budget


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
