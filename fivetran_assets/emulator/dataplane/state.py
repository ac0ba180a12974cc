"""Per-connection sync state (cursors and the columns each table was last read with).

Saved after each table's destination transaction committed, so a crash between the two at
worst re-applies changes, which the merge makes harmless (unchanged rows are not rewritten).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class SyncState:
    def __init__(self, path: Path, source_identity: str) -> None:
        self.path = path
        self.source_identity = source_identity
        data: dict[str, Any] = {}
        if path.is_file():
            data = json.loads(path.read_text())
        # Cursors of another source (the connection was re-pointed) are meaningless here.
        same = data.get("source") == source_identity
        self.tables: dict[str, dict[str, Any]] = data.get("tables", {}) if same else {}

    @classmethod
    def for_connection(cls, state_dir: Path, connection_id: str, source: str) -> SyncState:
        return cls(Path(state_dir) / f"sync-state-{connection_id}.json", source)

    def get(self, schema: str, table: str) -> dict[str, Any] | None:
        return self.tables.get(f"{schema}.{table}")

    def put(self, schema: str, table: str, cursor: Any, columns: list[str]) -> None:
        self.tables[f"{schema}.{table}"] = {"cursor": cursor, "columns": columns}
        self._save()

    def replace(self, tables: dict[str, dict[str, Any]]) -> None:
        """Set every table's saved cursor at once (the API's `PATCH .../state`)."""
        self.tables = dict(tables)
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"source": self.source_identity, "tables": self.tables}))
        os.replace(tmp, self.path)
