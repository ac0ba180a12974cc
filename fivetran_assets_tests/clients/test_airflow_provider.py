"""The Airflow provider (`airflow-provider-fivetran-async` 2.4.0, unchanged) against the local
Fivetran: `FivetranHook.test_connection()` (it reads `GET /v1/users`), the connector and schema
reads, and the metadata its OpenLineage support joins (`get_metadata` tables and columns,
matched by `operator_utils._get_table_id` on source and destination names).

apache-airflow takes minutes to install, so this is opt-in: `make test-airflow` (`pytest --airflow`)
(the virtualenv is then built once under `.cache/clients/airflow` and reused).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fivetran_assets_tests.clients.api_host import (
    PeerError,
    api_host_proxy,
    client_environment,
    clients_venv,
    make_certificates,
)
from fivetran_assets_tests.emulator.support import Api, make_connection, make_estate, make_source


@pytest.fixture(autouse=True)
def _opted_in(request: pytest.FixtureRequest) -> None:
    if not request.config.getoption("--airflow"):
        pytest.skip("opt-in (apache-airflow is heavy): make test-airflow (pytest --airflow)")


_HOOK = """
import json, sys
from airflow.models.connection import Connection
from fivetran_provider_async.hooks import FivetranHook
from fivetran_provider_async.utils.operator_utils import _get_table_id

key, secret, connector = sys.argv[1:4]
conn = Connection(conn_id="fivetran", conn_type="Fivetran", login=key, password=secret)
hook = FivetranHook(fivetran_conn=conn, retry_limit=1, retry_delay=0.1)
ok, message = hook.test_connection()
connector_data = hook.get_connector(connector)
schemas = hook.get_connector_schemas(connector)
tables = hook.get_metadata(connector, "tables")
columns = hook.get_metadata(connector, "columns")
fields = {}
for schema in schemas["schemas"].values():
    for name, table in schema["tables"].items():
        for loc in ("source", "destination"):
            table_id = _get_table_id(name, table, tables, loc)
            fields[f"{loc}:{name}"] = [
                [c[f"name_in_{loc}"], c[f"type_in_{loc}"]]
                for c in columns["items"] if c["parent_id"] == table_id
            ]
groups = list(hook.get_connectors(connector_data["group_id"]))
print(json.dumps({"ok": ok, "message": message, "fields": fields,
                  "connectors": [c["id"] for c in groups]}))
"""


def test_hook_connection_check_and_lineage_metadata(emulator, tmp_path: Path) -> None:
    try:
        bin_dir = clients_venv("airflow", ("airflow-provider-fivetran-async==2.4.0",), timeout=1800)
    except PeerError as exc:
        pytest.skip(f"the Airflow provider cannot be installed here: {str(exc)[-300:]}")
    api = Api(emulator.base_url, emulator.auth)
    group_id = make_estate(api, tmp_path)
    source = make_source(tmp_path / "source.db")
    conn = make_connection(api, group_id, source, "hr", schedule_type="manual")
    api.patch(f"/v1/connections/{conn['id']}/schemas/main/tables/events", {"enabled": False})
    certificates = make_certificates(bin_dir / "python", tmp_path / "tls")
    with api_host_proxy((emulator.host, emulator.port), certificates) as proxy:
        env = client_environment({**proxy, "AIRFLOW_HOME": str(tmp_path / "airflow")})
        done = subprocess.run(
            [
                str(bin_dir / "python"),
                "-c",
                _HOOK,
                emulator.api_key,
                emulator.api_secret,
                conn["id"],
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ok"] is True, result["message"]
    assert result["connectors"] == [conn["id"]]  # `v1/groups/{id}/connectors/`: trailing slash
    assert result["fields"]["source:users"] == [
        ["id", "INTEGER"],
        ["name", "TEXT"],
        ["email", "TEXT"],
    ]
    assert result["fields"]["destination:users"] == [
        ["id", "BIGINT"],
        ["name", "VARCHAR"],
        ["email", "VARCHAR"],
    ]
    assert result["fields"]["source:events"] == [["kind", "TEXT"], ["at", "TEXT"]]  # blocked too
