"""A bounded fuzz run of the local Fivetran against Fivetran's OpenAPI definition (schemathesis).

Every operation of the definition is called with generated requests, valid ones (positive: with
the ids of a small real estate, so they reach the routes' logic) and invalid ones (negative: wrong
types, missing fields, random ids). Each answer must not be a server error and must match the
definition's response schema, the definition's known slips aside (`openapi.SLIPS`, applied by
`openapi.definition()`: one place, each with its reason). Deletes run last so the estate stays
reachable. `make test` runs a small derandomized campaign (the same requests every run); `make
bench` runs `--campaign bench`: more examples, fresh randomness.
"""

from __future__ import annotations

import collections
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from fivetran_assets.emulator.server import EmulatorServer
from fivetran_assets_tests.emulator.openapi import SLIPS, definition
from fivetran_assets_tests.emulator.support import Api, make_connection, make_estate, make_source


@dataclass(frozen=True)
class Campaign:
    examples: int  # per operation and generation mode
    derandomize: bool


CAMPAIGNS = {"test": Campaign(examples=5, derandomize=True), "bench": Campaign(50, False)}


@dataclass
class Findings:
    requests: int = 0
    server_errors: int = 0
    by_class: collections.Counter[str] = field(default_factory=collections.Counter)
    violations: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def record(self, case: Any, response: Any) -> None:
        self.requests += 1
        self.by_class[f"{response.status_code // 100}xx"] += 1
        self.server_errors += response.status_code >= 500
        try:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
        except FailureGroup as group:
            for failure in group.exceptions:
                key = (f"{case.method} {case.operation.path}", type(failure).__name__)
                self.violations[key] += 1
                self.examples.setdefault(
                    key, f"{response.status_code} {failure.title}: {response.text[:300]}"
                )


@pytest.fixture
def server(unlimited_emulator: EmulatorServer) -> EmulatorServer:
    return unlimited_emulator


def _estate(server: EmulatorServer, tmp: Path) -> dict[str, str]:
    """Real objects whose ids the positive cases use; a transformation project that points at
    no project, so a fuzzed run fails fast instead of running dbt."""
    api = Api(server.base_url, server.auth)
    group = make_estate(api, tmp)
    conn = make_connection(api, group, make_source(tmp / "src.db"), "fuzzed")
    hook = {"url": "https://example.com/h", "events": ["sync_end"], "active": False}
    webhook = api.post(f"/v1/webhooks/group/{group}", hook)["data"]["id"]
    project = api.post(
        "/v1/transformation-projects",
        {"group_id": group, "project_config": {"git_remote_url": str(tmp / "no-project")}},
    )["data"]["id"]
    return {
        "groupId": group,
        "destinationId": group,
        "connectionId": conn["id"],
        "schemaName": "main",
        "schema": "main",
        "tableName": "users",
        "table": "users",
        "columnName": "name",
        "webhookId": webhook,
        "projectId": project,
        "service": "sqlite",
    }


def _fuzz(operation: Any, mode: GenerationMode, fixed: dict[str, str], run: dict) -> None:
    campaign: Campaign = run["campaign"]
    findings: Findings = run["findings"]
    strategy = operation.as_strategy(
        generation_mode=mode, path_parameters=fixed if mode is GenerationMode.POSITIVE else None
    )

    @settings(
        max_examples=campaign.examples,
        deadline=None,
        database=None,
        derandomize=campaign.derandomize,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def call(case: Any) -> None:
        response = case.call(base_url=run["base_url"], session=run["session"], timeout=30)
        findings.record(case, response)

    with contextlib.suppress(Unsatisfiable):  # nothing invalid to say (no parameters, no body)
        call()


@pytest.mark.timeout(1800)  # the bench campaign; make test's takes under a minute
def test_fuzz_the_local_fivetran_against_the_definition(
    server: EmulatorServer, tmp_path: Path, request: pytest.FixtureRequest, capsys
) -> None:
    campaign = CAMPAIGNS[request.config.getoption("campaign")]
    ids = _estate(server, tmp_path)
    schema = schemathesis.openapi.from_dict(definition())
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    session = requests.Session()
    session.auth = server.auth
    findings = Findings()
    run = {"campaign": campaign, "findings": findings, "base_url": server.base_url}
    run["session"] = session
    started = time.monotonic()
    for operation in operations:
        names = {parameter.name for parameter in operation.path_parameters}
        fixed = {name: value for name, value in ids.items() if name in names}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, fixed, run)
    seconds = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\nfuzz ({request.config.getoption('campaign')}): {len(operations)} operations, "
            f"{findings.requests} requests in {seconds:.0f} s "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(findings.by_class.items()))}); "
            f"server errors: {findings.server_errors}; schema violations: "
            f"{sum(findings.violations.values())}; known slips of the definition: {len(SLIPS)}"
        )
    problems = [f"{n} x {k}: {findings.examples[k]}" for k, n in findings.violations.items()]
    assert findings.requests > 5 * len(operations)
    assert findings.server_errors == 0, "\n".join(problems)
    assert not findings.violations, "\n".join(problems)
