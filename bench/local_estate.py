"""What the provisioning benchmarks share: a local Fivetran in its own process, and the estate.

`Server` runs `fivetran-assets emulator serve` as a child process (so its CPU is not ours), with
Fivetran's documented rate limits unless told otherwise, and a delay added to every `/v1` call
to stand for the network. `write_estate` writes G groups x 5 SQLite connections sharing one
schema selection; `reconciler` builds the project's own reconciler for it; `plan_floor` is what
no client can beat: calls x latency / read workers.
"""

from __future__ import annotations

import math
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fivetran_assets.emulator.dataplane.seed import department_names  # noqa: E402
from fivetran_assets.estate import load_estate  # noqa: E402
from fivetran_assets.fivetran.client import FivetranClient  # noqa: E402
from fivetran_assets.fivetran.ratelimit import RateBudget, account_fingerprint  # noqa: E402
from fivetran_assets.reconcile.service import Reconciler  # noqa: E402
from fivetran_assets.state.ratelimit import shared_rate_limiter  # noqa: E402
from fivetran_assets.state.shared import StateLocation  # noqa: E402

KEY, SECRET = "bench_key", "bench_secret"
PER_GROUP = 5
LISTINGS = 6  # groups, destinations, webhooks, connections, projects, transformations
# Added (in real seconds) to each window of the client's rate limiter: a request that a loaded
# machine delivers late must still leave its window before the token it freed is spent again.
MARGIN_SECONDS = 0.3

SELECTION = {
    "schema_change_handling": "ALLOW_COLUMNS",
    "tables": {
        "employees": {"columns": {"email": {"hashed": True}, "ssn": {"enabled": False}}},
        "payroll": {"enabled": False},
    },
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`fivetran-assets emulator serve` in its own process, with latency injected on /v1."""

    def __init__(
        self,
        state: Path,
        time_scale: float,
        latency: float,
        *,
        rate_limits: bool = True,
        port: int | None = None,
    ) -> None:
        self.port = port or _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        command = [
            str(Path(sys.executable).with_name("fivetran-assets")), "emulator", "serve",
            "--port", str(self.port), "--state", str(state), "--api-key", KEY,
            "--api-secret", SECRET, "--time-scale", str(time_scale),
            *([] if rate_limits else ["--no-rate-limits"]),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            self._wait_until_up()
            if latency > 0:
                rule = {"kind": "delay", "path": "/v1/*", "seconds": latency, "count": -1}
                answer = requests.post(
                    self.base_url + "/_local/faults", json=rule, auth=(KEY, SECRET), timeout=5
                )
                answer.raise_for_status()
        except BaseException:
            self.stop()
            raise

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.base_url + "/_local/faults", auth=(KEY, SECRET), timeout=1)
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the local Fivetran did not start") from None
                time.sleep(0.1)

    def requests_since(self, index: int = 0) -> tuple[list[dict], int]:
        answer = requests.get(
            self.base_url + "/_local/requests",
            params={"since": index},
            auth=(KEY, SECRET),
            timeout=60,
        ).json()
        return answer["items"], answer["next_index"]

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_estate(path: Path, groups: int, base_url: str) -> None:
    """G groups x 5 SQLite connections (one `for_each` template per group), sharing a selection."""
    names = department_names(PER_GROUP)
    data = {
        "account": {
            "base_url": base_url,
            "api_key_env": "BENCH_KEY",
            "api_secret_env": "BENCH_SECRET",
        },
        "selections": {"department_default": SELECTION},
        "groups": [
            {
                "name": f"bench_{g:04d}",
                "destination": {
                    "service": "duckdb",
                    "config": {"path": f"${{env:BENCH_DIR}}/warehouse/bench_{g:04d}.duckdb"},
                },
                "connections": [
                    {
                        "service": "sqlite",
                        "config": {"database": "${env:BENCH_DIR}/sources/{name}.sqlite"},
                        "scheduled_by": "dagster",
                        "schema": {"use": "department_default"},
                        "for_each": [{"name": n} for n in names],
                    }
                ],
            }
            for g in range(groups)
        ],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def bench_env(work: Path) -> dict[str, str]:
    return {"BENCH_KEY": KEY, "BENCH_SECRET": SECRET, "BENCH_DIR": str(work)}


def reconciler(
    estate_path: Path,
    server: Server,
    work: Path,
    *,
    time_scale: float,
    workers: int,
    read_workers: int,
    state: str = "state",
    paced: bool = True,
) -> Reconciler:
    """The project's reconciler for the estate, its client paced as the CLI's is: by the
    deployment's shared limiter (`state.ratelimit`, SQLite in `work`), scaled to `time_scale`,
    with the wider margin. Not paced: for setting up an estate on a server without limits."""
    estate = load_estate(estate_path, root=ROOT)
    limiter = None
    if paced:
        budget = RateBudget(time_scale=time_scale, margin_seconds=MARGIN_SECONDS)
        account = account_fingerprint(server.base_url, KEY)
        limiter = shared_rate_limiter(StateLocation(work / state).shared(), account, budget)
    client = FivetranClient(
        KEY, SECRET, base_url=server.base_url, rate_budget=None, rate_limiter=limiter
    )
    return Reconciler(
        estate, client, environment=estate.environment(bench_env(work)), state_dir=work / state,
        workers=workers, read_workers=read_workers, refresh_snapshot=False,
    )  # fmt: skip


def minimum_plan_calls(connections: int, groups: int) -> int:
    """One call per listing page (1,000 items a page) plus one schema read per connection."""
    pages = 2 * math.ceil(groups / 1000) + math.ceil(connections / 1000) + 3  # groups, dests
    return pages + connections


def plan_floor(calls: int, latency: float, read_workers: int) -> float:
    """No plan can be faster: its calls, each at least `latency`, on `read_workers` at once."""
    return calls * latency / read_workers


def rate_limited(log: list[dict]) -> int:
    """How many of the logged calls the local Fivetran answered 429."""
    return sum(1 for entry in log if entry.get("status") == 429)
