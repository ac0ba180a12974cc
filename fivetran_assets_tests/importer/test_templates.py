"""Templates found by the importer expand to exactly the connections it read (no API needed)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from fivetran_assets.estate import load_estate
from fivetran_assets.estate.estate import Estate
from fivetran_assets.estate.references import Environment, resolve, reveal
from fivetran_assets.importer.compose import GroupDoc, Imported
from fivetran_assets.importer.document import render, write_files
from fivetran_assets.importer.records import MASKED, ConnectionRecord
from fivetran_assets.importer.templates import connection_entries, shared_selections
from fivetran_assets.reconcile.values import flatten

SEL_A = {"schema_change_handling": "ALLOW_COLUMNS", "tables": {"payroll": {"enabled": False}}}
SEL_B = {"schema_change_handling": "BLOCK_ALL", "schemas": {"main": {"enabled": False}}}
SEL_ONCE = {"schema_change_handling": "ALLOW_ALL", "tables": {"t": {"sync_mode": "HISTORY"}}}


def record(name: str, leaves: dict[str, Any], **kw: Any) -> ConnectionRecord:
    return ConnectionRecord(
        group="Ops",
        name=name,
        service=kw.pop("service", "sqlite"),
        leaves=leaves,
        fields=kw.pop("fields", {"sync_frequency": 360}),
        selection=kw.pop("selection", SEL_A),
        known=kw.pop("known", True),
    )


RECORDS = [
    record(
        "alpha",
        {
            "database": "/data/alpha/alpha.db",
            "host": "db-7.internal",
            "port": 5432,
            "password": MASKED,
            "client_id": MASKED,
            "note": "literal ${x} and {braces}",
            "tunnel.user": "tunnel",
        },
        fields={"sync_frequency": 60, "paused": True},
    ),
    record(
        "beta",
        {
            "database": "/data/beta/beta.db",
            "host": "db-3.internal",
            "port": 5432,
            "password": MASKED,
            "client_id": "cid-b",
            "note": "literal ${x} and {braces}",
        },
        fields={"sync_frequency": 60, "scheduled_by": "dagster"},
        selection=SEL_B,
    ),
    record(
        "gamma",
        {
            "database": "/data/gamma/gamma.db",
            "host": "{odd}",
            "port": 6543,
            "password": MASKED,
            "client_id": "cid-g",
            "note": "literal ${x} and {braces}",
        },
        fields={"sync_frequency": 1440, "daily_sync_time": "04:00"},
        selection=SEL_ONCE,
    ),
    record(
        "delta",
        {
            "database": "/data/delta/delta.db",
            "host": "db-1.internal",
            "port": 5432,
            "password": MASKED,
            "client_id": "cid-d",
            "note": "literal ${x} and {braces}",
        },
        fields={"sync_frequency": 60},
    ),
    record(
        "zeta",
        {
            "database": "/data/zeta/zeta.db",
            "host": "db-9.internal",
            "port": 5432,
            "password": MASKED,
            "client_id": "cid-z",
            "note": "literal ${x} and {braces}",
        },
        selection=None,
    ),
    record("epsilon", {"database": "/data/epsilon/epsilon.db"}, service="mystery", known=False),
]


def load(records: list[ConnectionRecord], tmp: Path, *, templates: bool) -> tuple[Estate, str]:
    imported = Imported(base_url="https://api.fivetran.com")
    imported.selections = shared_selections(records)
    imported.groups.append(
        GroupDoc(
            name="Ops",
            destination={"service": "duckdb", "config": {"path": "/w.duckdb"}},
            connections=connection_entries(
                records, imported.selections, imported.secrets, templates=templates
            ),
        )
    )
    text = render(imported, env_example="x.env.example")
    path = tmp / f"{'templates' if templates else 'plain'}.yaml"
    write_files({path: text})
    return load_estate(path, root=tmp), text


def comparable(estate: Estate) -> dict[str, Any]:
    return {c.name: replace(c, path="", location=None) for c in estate.connections()}


def test_templates_expand_to_the_same_connections_as_plain_entries(tmp_path: Path) -> None:
    plain, _ = load(RECORDS, tmp_path, templates=False)
    templated, text = load(RECORDS, tmp_path, templates=True)
    assert comparable(templated) == comparable(plain)
    doc = yaml.safe_load(text)
    mystery, template = doc["groups"][0]["connections"]
    assert len(template["for_each"]) == 5 and "for_each" not in mystery
    assert template["config"]["database"] == "/data/{name}/{name}.db"
    assert template["config"]["password"] == "${env:OPS_{name}_PASSWORD}"
    assert template["config"]["port"] == 5432  # the most common value; gamma overrides it
    assert template["config"]["host"] == "{host}"  # no pattern, no majority: a variable
    assert template["sync_frequency"] == 60 and template["schema"] == {"use": "ops"}
    items = {i["name"]: i for i in template["for_each"]}
    assert items["gamma"]["schema"] == {"use": None, **SEL_ONCE}
    assert items["beta"]["schema"] == {"use": None, **SEL_B}
    assert items["gamma"]["host"] == "{odd}"
    assert items["gamma"]["config"] == {"port": 6543, "client_id": "cid-g"}
    assert items["zeta"]["schema"] is None and items["zeta"]["sync_frequency"] == 360
    assert items["delta"] == {
        "name": "delta",
        "host": "db-1.internal",
        "config": {"client_id": "cid-d"},
    }
    assert items["alpha"]["config"] == {
        "client_id": "${env:OPS_alpha_CLIENT_ID}",
        "tunnel": {"user": "tunnel"},
    }
    assert items["beta"]["config"] == {"client_id": "cid-b"}
    assert "Fivetran does not describe service 'mystery'" in text


def test_plain_entries_reproduce_what_was_read(tmp_path: Path) -> None:
    estate, _ = load(RECORDS, tmp_path, templates=False)
    names = {f"OPS_{r.name}_{k}": "s3cret" for r in RECORDS for k in ("PASSWORD", "CLIENT_ID")}
    environment = Environment(variables=names, root=tmp_path)
    assert sorted(c.name for c in estate.connections()) == sorted(r.name for r in RECORDS)
    for read in RECORDS:
        written = estate.connection("Ops", read.name)
        config = reveal(resolve(dict(written.config), environment, where=written.path))
        flat = flatten(config)
        expected = {p: "s3cret" if v is MASKED else v for p, v in read.leaves.items()}
        assert flat == expected
        assert written.sync_frequency == read.fields.get("sync_frequency")
        assert written.paused == bool(read.fields.get("paused"))
        assert written.scheduled_by.value == read.fields.get("scheduled_by", "fivetran")


def test_an_interrupted_write_leaves_no_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    with pytest.raises(TypeError):
        write_files({first: "groups: []\n", second: None})  # type: ignore[dict-item]
    assert list(tmp_path.iterdir()) == []
