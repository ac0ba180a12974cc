"""Secret references: resolution, errors naming variable and place, masking, fingerprints."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

from fivetran_assets.estate import (
    MASK,
    Environment,
    EstateError,
    Secret,
    fingerprint,
    has_reference,
    is_secret,
    load_estate,
    mask,
    resolve,
    reveal,
)

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_env_default_and_file_references_resolve(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("-----KEY-----\n")
    environment = Environment(variables={"DIR": "/data", "PW": "hunter2"}, root=tmp_path)
    value = {
        "path": "${env:DIR}/warehouse.duckdb",
        "fallback": "${env:MISSING:-.state/demo}/x",
        "password": "${env:PW}",
        "key": "${file:key.pem}",
        "literal": "cost is $${not_a_reference}",
        "plain": "sqlite",
        "port": 5432,
        "list": ["${env:PW}", "x"],
    }
    resolved = resolve(value, environment, where="groups[g].destination.config")
    assert isinstance(resolved["path"], Secret)
    assert reveal(resolved) == {
        "path": "/data/warehouse.duckdb",
        "fallback": ".state/demo/x",
        "password": "hunter2",
        "key": "-----KEY-----",
        "literal": "cost is ${not_a_reference}",
        "plain": "sqlite",
        "port": 5432,
        "list": ["hunter2", "x"],
    }
    assert mask(resolved)["password"] == "${env:PW}"
    assert mask(resolved)["plain"] == "sqlite"
    assert is_secret(resolved["password"]) and is_secret("${env:PW}")
    assert not is_secret("sqlite") and not has_reference("$${env:X}")


def test_missing_references_name_the_variable_and_every_place_used(tmp_path: Path) -> None:
    environment = Environment(variables={}, root=tmp_path)
    with pytest.raises(EstateError) as caught:
        resolve(
            {"user": "${env:DB_USER}", "password": "${env:DB_PASSWORD}", "cert": "${file:no.pem}"},
            environment,
            where="groups[finance].connections[2].config",
        )
    problems = {p.path: p.message for p in caught.value.problems}
    assert problems["groups[finance].connections[2].config.user"] == (
        "environment variable DB_USER is not set"
    )
    assert "DB_PASSWORD" in problems["groups[finance].connections[2].config.password"]
    assert "no.pem" in problems["groups[finance].connections[2].config.cert"]


def test_secret_never_shows_its_value(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("hunter2", "${env:PW}")
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret])):
        assert "hunter2" not in text
    assert str(secret) == MASK
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("secret is %s / %r", secret, {"pw": secret})
    assert "hunter2" not in caplog.text
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert secret.reveal() == "hunter2"
    assert secret == Secret("hunter2", "${env:OTHER}")
    assert secret != Secret("hunter3", "${env:PW}")


def test_fingerprints_are_stable_keyed_and_not_the_value() -> None:
    secret = Secret("hunter2", "${env:PW}")
    first = secret.fingerprint(b"key-one")
    assert first == Secret("hunter2", "x").fingerprint(b"key-one")
    assert first == fingerprint("hunter2", b"key-one")
    assert first != secret.fingerprint(b"key-two")
    assert first != Secret("hunter3", "x").fingerprint(b"key-one")
    assert "hunter2" not in first and len(first) == 64


def test_demo_estate_resolves_in_an_environment() -> None:
    estate = load_estate(CONFIG)
    assert estate.base_url({}) == "http://127.0.0.1:8765"
    assert estate.base_url({"FIVETRAN_BASE_URL": "https://h:1"}) == "https://h:1"
    with pytest.raises(EstateError, match="http:// is only allowed to this machine"):
        estate.base_url({"FIVETRAN_BASE_URL": "http://h:1"})  # credentials in clear text
    missing = estate.check_environment({})
    assert {p.path for p in missing} == {
        "groups[departments].webhooks[0].secret",
        "account.api_key_env",
        "account.api_secret_env",
    }
    variables = {
        "FIVETRAN_API_KEY": "k",
        "FIVETRAN_API_SECRET": "s3cret",
        "FIVETRAN_WEBHOOK_SECRET": "w",
        "FIVETRAN_ASSETS_DEMO_DIR": "/tmp/demo",
    }
    assert estate.check_environment(variables) == []
    key, secret = estate.credentials(variables)
    assert (key.reveal(), secret.reveal()) == ("k", "s3cret")
    assert "s3cret" not in repr((key, secret))
    connection = estate.connection("departments", "sales")
    config = resolve(connection.config, estate.environment(variables), where=connection.path)
    assert reveal(config) == {"database": "/tmp/demo/sources/sales.sqlite"}
    with pytest.raises(EstateError, match="FIVETRAN_API_SECRET"):
        estate.credentials({"FIVETRAN_API_KEY": "k"})
