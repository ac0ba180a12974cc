"""Fidelity fixes outside clients found: trailing slashes, literal segments, secret masking."""

from __future__ import annotations

from pathlib import Path

import requests

from fivetran_assets_tests.emulator.support import Api


def test_trailing_slash_is_served_directly_for_every_method(api: Api, source: Path) -> None:
    created = api.post("/v1/groups/", {"name": "slashed"}, expect=201)["data"]
    assert api.last.history == []  # no redirect
    one = f"/v1/groups/{created['id']}/"
    assert api.get(one, expect=200)["data"]["name"] == "slashed"
    assert api.patch(one, {"name": "slashed2"}, expect=200)["data"]["name"] == "slashed2"
    assert api.get(f"/v1/groups/{created['id']}/connectors/", expect=200)["data"]["items"] == []
    raw = requests.get(
        api.base_url + "/v1/groups/", auth=api.session.auth, allow_redirects=False, timeout=10
    )
    assert raw.status_code == 200
    api.delete(one, expect=200)


def test_unserved_paths_are_not_captured_by_parameters(api: Api) -> None:
    assert api.get("/v1/transformations/package-metadata", expect=200)["code"] == "Success"
    refused = api.delete("/v1/transformations/package-metadata", expect=405)
    assert refused["code"] == "MethodNotAllowed"
    wrong = api.post("/v1/transformations/package-metadata/run", expect=404)
    assert wrong["message"].startswith("No such endpoint")
    assert api.get("/v1/users/someone/nothing-here", expect=404)["code"] == "NotFound"
    assert api.get("/v1/external-logging/account", expect=404)["code"] == "NotFound_LogService"


def test_secret_named_keys_are_masked_for_any_service(
    api: Api, group_id: str, source: Path
) -> None:
    body = {
        "group_id": group_id,
        "service": "sqlite",
        "config": {
            "database": str(source),
            "schema_prefix": "masked",
            "password": "hunter2",
            "auth": {"client_secret": "cs-1", "client_id": "visible"},
            "ssh_private_key": "-----BEGIN KEY-----",
            "api_token": "tok",
        },
    }
    conn = api.post("/v1/connections", body, expect=201)["data"]
    config = conn["config"]
    assert config["password"] == config["ssh_private_key"] == config["api_token"] == "******"
    assert config["auth"] == {"client_secret": "******", "client_id": "visible"}
    for answer in (
        api.get(f"/v1/connections/{conn['id']}"),
        api.get("/v1/connections"),
        api.patch(f"/v1/connections/{conn['id']}", {"config": {"password": "******"}}),
    ):
        assert "hunter2" not in str(answer) and "cs-1" not in str(answer)
    # the masked value sent back kept the stored secret: the source still connects
    tested = api.post(f"/v1/connections/{conn['id']}/test", expect=200)["data"]
    assert tested["status"]["setup_state"] == "connected"
