"""The local Fivetran is careful with what it guards: test controls need the credentials, the
state file is private, and authentication follows RFC 7617 (the scheme is case-insensitive)."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import requests

from fivetran_assets.emulator.server import EmulatorServer


def test_local_controls_require_the_api_key_and_secret(emulator) -> None:
    url = emulator.base_url
    controls = [
        ("POST", "/_local/reset"),
        ("GET", "/_local/clock"),
        ("POST", "/_local/clock"),
        ("GET", "/_local/faults"),
        ("DELETE", "/_local/faults"),
        ("GET", "/_local/requests"),
        ("GET", "/_local/rate-limits"),
        ("POST", "/_local/connections/x/next-sync"),
    ]
    for method, path in controls:
        for auth in (None, (emulator.api_key, "wrong")):
            answer = requests.request(method, url + path, auth=auth, timeout=10)
            assert answer.status_code == 401, (method, path, auth)
            assert answer.json()["code"] == "AuthFailed"
    assert requests.get(url + "/_local/clock", auth=emulator.auth, timeout=10).status_code == 200


def test_auth_scheme_is_case_insensitive(emulator) -> None:
    token = base64.b64encode(f"{emulator.api_key}:{emulator.api_secret}".encode()).decode()
    for scheme in ("Basic", "basic", "BASIC", "bAsIc"):
        headers = {"Authorization": f"{scheme} {token}"}
        answer = requests.get(emulator.base_url + "/v1/groups", headers=headers, timeout=10)
        assert answer.status_code == 200, scheme
    wrong = {"Authorization": f"Bearer {token}"}
    assert (
        requests.get(emulator.base_url + "/v1/groups", headers=wrong, timeout=10).status_code == 401
    )


def test_state_files_are_private(tmp_path: Path) -> None:
    state = tmp_path / "fresh" / "emulator"
    with EmulatorServer(state_dir=state) as server:
        requests.post(
            server.base_url + "/v1/groups", json={"name": "g"}, auth=server.auth, timeout=10
        ).raise_for_status()
        files = sorted(state.glob("state.sqlite*"))
        assert {f.name for f in files} >= {"state.sqlite", "state.sqlite-wal"}
        for file in files:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_an_existing_world_readable_state_file_is_tightened(tmp_path: Path) -> None:
    state = tmp_path / "emulator"
    state.mkdir()
    (state / "state.sqlite").touch(mode=0o644)
    (state / "state.sqlite").chmod(0o644)
    with EmulatorServer(state_dir=state):
        assert stat.S_IMODE((state / "state.sqlite").stat().st_mode) == 0o600
