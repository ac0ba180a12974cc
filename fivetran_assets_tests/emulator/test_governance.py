"""External logging, approved certificates and fingerprints of the local Fivetran."""

from __future__ import annotations

from pathlib import Path

from fivetran_assets_tests.emulator.support import Api, make_connection

CERTIFICATE = """-----BEGIN CERTIFICATE-----
MIIBlDCCATugAwIBAgIUP5lv3VjLBmPzz3/4e1jKTXWQjCQwCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUZGIuc2FsZXMuZXhhbXBsZS5jb20wIBcNMjYxMTMwMTkxOTAx
WhgPMjEyNjExMDYxOTE5MDFaMB8xHTAbBgNVBAMMFGRiLnNhbGVzLmV4YW1wbGUu
Y29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEIsIqENH1Lv10S1EqIQTU9d/
/Ivvw3m/fuGfbBelFDpXb9y4/YbtKG7OP311St2hAMMjtDAiL+5zDNCLeBO9D6NT
MFEwHQYDVR0OBBYEFE39PBLIsOPll7qgp3WTXEwxcWvWMB8GA1UdIwQYMBaAFE39
PBLIsOPll7qgp3WTXEwxcWvWMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
RwAwRAIgLIENOKt5n0smLrqW+6VbgaTadUe+vPaGDt1PkVgi4KECIEttjnQuzNiB
PwfeDJAZvSrh3uZIGyVfnCa2Ly0+jlv5
-----END CERTIFICATE-----
"""
CERT_SHA256 = "bca12f402764d054c83ab0a0c93e79007fa900ffd84ed25d00350a2cfa1ef5dc"
FINGERPRINT = {
    "hash": "SHA256:jv3lQKHUM2DCRVQmR6n7Xd3q0kBRAEWxtuW5/jeIU7A",
    "public_key": (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKg8mXMvlkYqyCxGNo+ZSXzTFzCu3RmLHsFjgjw3kRKP"
    ),
}


def test_group_log_service_lifecycle(api: Api, group_id: str) -> None:
    body = {
        "group_id": group_id,
        "service": "datadog_log",
        "enabled": True,
        "config": {"api_key": "dd-secret-123", "region": "US5"},
        "run_setup_tests": True,
    }
    created = api.post("/v1/external-logging", body, expect=201)["data"]
    assert created["id"] == group_id and created["config"]["api_key"] == "******"
    assert created["config"]["region"] == "US5"
    assert [t["status"] for t in created["setup_tests"]] == ["PASSED", "SKIPPED"]
    assert created["status"]["setup_state"] == "connected"
    assert api.post("/v1/external-logging", body, expect=409)["code"] == "Conflict"
    missing = api.post(
        "/v1/external-logging",
        {"group_id": group_id, "service": "splunkLog", "config": {"host": "h"}},
        expect=400,
    )
    assert "config.token" in missing["message"]
    unknown = {"group_id": group_id, "service": "syslog", "config": {}}
    assert "service" in api.post("/v1/external-logging", unknown, expect=400)["message"]
    orphan = {**body, "group_id": "no_group"}
    assert api.post("/v1/external-logging", orphan, expect=404)["code"] == "NotFound_Group"

    path = f"/v1/external-logging/{group_id}"
    # a masked secret sent back keeps the stored one; a disabled service stays configured
    patched = api.patch(path, {"enabled": False, "config": {"api_key": "******"}})["data"]
    assert patched["enabled"] is False and patched["config"]["api_key"] == "******"
    tests = api.post(f"{path}/test", expect=200)["data"]["setup_tests"]
    assert tests[0]["status"] == "PASSED"
    listed = api.get("/v1/external-logging", expect=200)["data"]["items"]
    assert [(i["id"], i["enabled"]) for i in listed] == [(group_id, False)]
    assert "dd-secret-123" not in api.last.text
    api.delete(path, expect=200)
    assert api.get(path, expect=404)["code"] == "NotFound_LogService"


def test_account_log_service_and_group_deletion(api: Api, group_id: str) -> None:
    assert api.get("/v1/external-logging/account", expect=404)
    account = {"service": "cloudwatch", "config": {"region": "eu-west-1", "log_group_name": "ft"}}
    created = api.post("/v1/external-logging/account", account, expect=201)["data"]
    assert created["service"] == "cloudwatch"
    api.patch("/v1/external-logging/account", {"config": {"access_key_secret": "s3"}})
    shown = api.get("/v1/external-logging/account", expect=200)["data"]
    assert shown["config"]["access_key_secret"] == "******"
    assert api.post("/v1/external-logging/account/test", expect=200)["data"]["setup_tests"]
    api.delete("/v1/external-logging/account", expect=200)
    group_log = {"group_id": group_id, "service": "new_relic_log", "config": {"api_key": "k"}}
    api.post("/v1/external-logging", group_log, expect=201)
    api.delete(f"/v1/groups/{group_id}", expect=200)
    assert api.get("/v1/external-logging", expect=200)["data"]["items"] == []


def test_certificates_and_fingerprints(api: Api, group_id: str, source: Path) -> None:
    conn = make_connection(api, group_id, source, "certs", schedule_type="manual")
    for base in (f"/v1/connections/{conn['id']}", f"/v1/destinations/{group_id}"):
        cert = api.post(
            f"{base}/certificates", {"hash": "cert-1", "encoded_cert": CERTIFICATE}, expect=200
        )["data"]
        assert cert["name"] == "db.sales.example.com" and cert["sha256"] == CERT_SHA256
        assert cert["public_key"].startswith("MFkwEwYHKoZIzj0CAQYI")  # the EC key's SPKI
        bad = {"hash": "junk", "encoded_cert": "bm90IGEgY2VydGlmaWNhdGU="}
        assert "X.509" in api.post(f"{base}/certificates", bad, expect=400)["message"]
        assert [c["hash"] for c in api.get(f"{base}/certificates")["data"]["items"]] == ["cert-1"]
        assert api.get(f"{base}/certificates/cert-1", expect=200)["data"]["type"] == "X.509"

        fp = api.post(f"{base}/fingerprints", FINGERPRINT, expect=200)["data"]
        assert fp["public_key"] == FINGERPRINT["public_key"] and fp["validated_by"]
        missing = api.post(f"{base}/fingerprints", {"hash": "h"}, expect=400)
        assert "public_key" in missing["message"]
        fp_path = f"{base}/fingerprints/{FINGERPRINT['hash'].replace('/', '%2F')}"
        assert api.get(fp_path, expect=200)["data"]["hash"] == FINGERPRINT["hash"]
        api.delete(fp_path, expect=200)
        assert api.get(fp_path, expect=404)["code"] == "NotFound_Fingerprint"
        api.delete(f"{base}/certificates/cert-1", expect=200)
        assert api.get(f"{base}/certificates", expect=200)["data"]["items"] == []

    body = {"connection_id": conn["id"], "hash": "cert-2", "encoded_cert": CERTIFICATE}
    api.post("/v1/certificates", body, expect=200)
    assert api.get(f"/v1/connections/{conn['id']}/certificates/cert-2", expect=200)
    both = {**body, "destination_id": group_id}
    assert api.post("/v1/certificates", both, expect=400)["code"] == "InvalidInput"
    assert api.get("/v1/connections/nope/certificates", expect=404)["code"] == (
        "NotFound_Connection"
    )
    api.delete(f"/v1/connections/{conn['id']}", expect=200)
    api.post(f"/v1/connections/{conn['id']}/certificates", body, expect=404)
