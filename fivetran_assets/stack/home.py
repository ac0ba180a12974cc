"""The project's persistent local Dagster instance: `<project>/.dagster_home/dagster.yaml`.

`demo` and `dev` share it, so runs the demo made show up in `dagster dev` afterwards. Storage is
Dagster's default SQLite under the home; the run queue mirrors production's (one provisioning
run at a time) so local behaviour matches `deploy/dagster.yaml`. No default pool limit: runs
started outside the daemon (the demo's `dagster job execute`) would wait forever on a slot a
killed run left claimed. A dagster.yaml the user wrote (without our marker line) is left alone.
"""

from __future__ import annotations

from pathlib import Path

MARKER = "# Written by fivetran-assets (stack/home.py); remove this line to keep your edits."
PROVISION_TAG = "fivetran_assets/provision"

LOCAL_DAGSTER_YAML = f"""{MARKER}
# The local instance for `fivetran-assets demo` and `dev`: SQLite storage in this folder.
telemetry:
  enabled: false

concurrency:
  runs:
    max_concurrent_runs: 8
    tag_concurrency_limits:
      - key: {PROVISION_TAG}
        limit: 1

run_monitoring:
  enabled: true
  start_timeout_seconds: 180
"""


def ensure_dagster_home(home: Path) -> Path:
    """Create `home` and its dagster.yaml (rewritten only while it still carries our marker)."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or (
        config.read_text().startswith(MARKER) and config.read_text() != LOCAL_DAGSTER_YAML
    ):
        config.write_text(LOCAL_DAGSTER_YAML)
    return home
