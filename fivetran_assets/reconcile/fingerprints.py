"""Fingerprints of the secrets apply has sent, so a rotated secret is noticed and resent.

Fivetran masks secrets on read, so the live estate cannot tell whether a secret changed. After
apply sends one it records an HMAC-SHA256 of the value keyed with a random per-deployment key.
The plan recomputes the HMAC of the value the config now resolves to and compares: different or
missing means "send it". No plaintext is ever stored; without the key a fingerprint cannot be
tested against guesses. Entries are keyed by the API base URL and the live resource id, so a
resource that was deleted and recreated elsewhere gets its secrets sent again.

They live in the shared state (`state.shared`), not in a file: a CI job running `apply` and a
run worker of `provision_fivetran` in another container must agree on what was sent, or each
would see the other's secrets as "not recorded" and send them again on every run. A project
that kept them in `.state/` (`fingerprint.key`, `secret-fingerprints.json`) has them imported
into its state database the first time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from pathlib import Path

from fivetran_assets.state.database import Database
from fivetran_assets.state.shared import SharedState

KEY_NAME = "fingerprint_key"
LEGACY_KEY_FILE = "fingerprint.key"
LEGACY_STORE_FILE = "secret-fingerprints.json"


class FingerprintStore:
    """Keyed hashes of sent secrets for one API base URL, read once and written through."""

    def __init__(
        self, state: SharedState, *, base_url: str = "", legacy_dir: Path | None = None
    ) -> None:
        self._state = state
        self._scope = base_url.rstrip("/")
        self._legacy_dir = legacy_dir
        self._lock = threading.Lock()
        self._key: bytes | None = None
        self._entries: dict[tuple[str, str], str] | None = None

    def _load(self) -> tuple[bytes, dict[tuple[str, str], str]]:
        with self._lock:
            if self._key is None or self._entries is None:
                self._key, self._entries = self._state.run(self._read)
            return self._key, self._entries

    def _read(self, db: Database) -> tuple[bytes, dict[tuple[str, str], str]]:
        with db.transaction():
            db.lock("fivetran_assets:fingerprints")
            key = db.scalar("SELECT value FROM state_keys WHERE name = ?", (KEY_NAME,))
            if key is None:
                key = self._import_legacy(db) or secrets.token_bytes(32).hex()
                db.execute("INSERT INTO state_keys (name, value) VALUES (?, ?)", (KEY_NAME, key))
            rows = db.query(
                "SELECT resource_id, path, digest FROM secret_fingerprints WHERE scope = ?",
                (self._scope,),
            )
        return bytes.fromhex(key), {(rid, path): digest for rid, path, digest in rows}

    def _import_legacy(self, db: Database) -> str | None:
        """The key (and entries) a first-wave project kept in its state folder, if any."""
        if self._legacy_dir is None or not (self._legacy_dir / LEGACY_KEY_FILE).is_file():
            return None
        key = (self._legacy_dir / LEGACY_KEY_FILE).read_text().strip()
        store = self._legacy_dir / LEGACY_STORE_FILE
        entries = json.loads(store.read_text()) if store.is_file() else {}
        rows = []
        for name, digest in entries.items():
            scope, resource_id, path = name.split(" ", 2)
            rows.append((scope, resource_id, path, digest))
        db.executemany(
            "INSERT INTO secret_fingerprints (scope, resource_id, path, digest)"
            " VALUES (?, ?, ?, ?)",
            rows,
        )
        return key

    def fingerprint(self, value: str) -> str:
        """The keyed hash of one secret value."""
        key, _ = self._load()
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def matches(self, resource_id: str, path: str, value: str) -> bool | None:
        """True if `value` is what was last sent, False if it differs, None if never recorded."""
        digest = self.fingerprint(value)
        _, entries = self._load()
        with self._lock:
            stored = entries.get((resource_id, path))
        if stored is None:
            return None
        return hmac.compare_digest(stored, digest)

    def record(self, resource_id: str, values: dict[str, str]) -> None:
        """Remember the secrets just sent to one resource (path -> value)."""
        if not values:
            return
        digests = {path: self.fingerprint(value) for path, value in values.items()}
        _, entries = self._load()

        def write(db: Database) -> None:
            with db.transaction():
                for path, digest in digests.items():
                    params = (self._scope, resource_id, path)
                    db.execute(
                        "DELETE FROM secret_fingerprints WHERE scope = ? AND resource_id = ?"
                        " AND path = ?",
                        params,
                    )
                    db.execute(
                        "INSERT INTO secret_fingerprints (scope, resource_id, path, digest)"
                        " VALUES (?, ?, ?, ?)",
                        (*params, digest),
                    )

        self._state.run(write)
        with self._lock:
            entries.update({(resource_id, path): d for path, d in digests.items()})

    def forget(self, resource_id: str) -> None:
        """Drop every fingerprint of a deleted resource."""
        _, entries = self._load()

        def delete(db: Database) -> None:
            with db.transaction():
                db.execute(
                    "DELETE FROM secret_fingerprints WHERE scope = ? AND resource_id = ?",
                    (self._scope, resource_id),
                )

        self._state.run(delete)
        with self._lock:
            for key in [k for k in entries if k[0] == resource_id]:
                del entries[key]
