"""Table keys equal dagster-fivetran 0.29's for the same tables, so a team moving over keeps its
assets' history and lineage.

dagster-fivetran pins another Dagster release, so it runs in its own virtualenv (`bench.peers`,
cached under the git-ignored `bench/.peer-venv`; built on first use, a minute or two), reads the
demo estate from the local Fivetran through its own API client, and prints its specs' keys.
"""

from __future__ import annotations

import pytest

from fivetran_assets_tests.conftest import API_KEY, API_SECRET
from fivetran_assets_tests.dagster.conftest import Demo

PEER_SPECS = r"""
import json, sys
from dagster_fivetran import FivetranWorkspace, load_fivetran_asset_specs
workspace = FivetranWorkspace(account_id="local", api_key=sys.argv[1], api_secret=sys.argv[2])
specs = load_fivetran_asset_specs(workspace)
print(json.dumps(sorted(spec.key.to_user_string() for spec in specs)))
"""


@pytest.mark.timeout(1200)  # building the peer's virtualenv the first time
def test_table_keys_equal_dagster_fivetrans(demo: Demo) -> None:
    from bench.peers import run_peer
    from fivetran_assets.dagster.estate_view import estate_view
    from fivetran_assets.dagster.specs import translate
    from fivetran_assets.snapshot.store import read_snapshot

    peer = run_peer(PEER_SPECS, API_KEY, API_SECRET, base_url=demo.server.base_url, timeout=600)
    theirs = set(peer.json())
    conns, _ = translate(estate_view(demo.estate), read_snapshot(demo.snapshot_path))
    ours = {key.to_user_string() for ca in conns for key in ca.tables}
    assert len(ours) == 16  # 4 departments x 4 enabled tables
    assert ours == theirs
