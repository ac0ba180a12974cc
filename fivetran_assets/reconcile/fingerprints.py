"""Fingerprints of the secrets apply has sent, so a rotated secret is noticed and resent.

Fivetran masks secrets on read, so the live estate cannot tell whether a secret changed. After
apply sends one it records an HMAC-SHA256 of the value keyed with a random per-project key,
under the project's state directory (`.state/` by default). The plan recomputes the HMAC of
the value the config now resolves to and compares: different or missing means "send it".
Neither file ever holds a plaintext; without the key a fingerprint cannot be tested against
guesses. Entries are keyed by the API base URL and the live resource id, so a resource that was
deleted and recreated elsewhere gets its secrets sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from pathlib import Path

KEY_FILE = "fingerprint.key"
STORE_FILE = "secret-fingerprints.json"


class FingerprintStore:
    """A small JSON map `<base_url> <resource id> <field path>` -> keyed hash, thread safe."""

    def __init__(self, state_dir: Path | str, *, base_url: str = "") -> None:
        self._dir = Path(state_dir)
        self._base_url = base_url.rstrip("/")
        self._lock = threading.Lock()
        self._key: bytes | None = None
        self._entries: dict[str, str] | None = None

    @property
    def path(self) -> Path:
        return self._dir / STORE_FILE

    def _load_key(self) -> bytes:
        if self._key is None:
            key_path = self._dir / KEY_FILE
            if key_path.exists():
                self._key = bytes.fromhex(key_path.read_text().strip())
            else:
                self._dir.mkdir(parents=True, exist_ok=True)
                key = secrets.token_bytes(32)
                fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(key.hex())
                self._key = key
        return self._key

    def _load(self) -> dict[str, str]:
        if self._entries is None:
            loaded: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}
            self._entries = loaded
        return self._entries

    def _entry_key(self, resource_id: str, path: str) -> str:
        return f"{self._base_url} {resource_id} {path}"

    def fingerprint(self, value: str) -> str:
        """The keyed hash of one secret value."""
        with self._lock:
            key = self._load_key()
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def matches(self, resource_id: str, path: str, value: str) -> bool | None:
        """True if `value` is what was last sent, False if it differs, None if never recorded."""
        digest = self.fingerprint(value)
        with self._lock:
            stored = self._load().get(self._entry_key(resource_id, path))
        if stored is None:
            return None
        return hmac.compare_digest(stored, digest)

    def record(self, resource_id: str, values: dict[str, str]) -> None:
        """Remember the secrets just sent to one resource (path -> value) and save atomically."""
        digests = {path: self.fingerprint(value) for path, value in values.items()}
        with self._lock:
            entries = self._load()
            for path, digest in digests.items():
                entries[self._entry_key(resource_id, path)] = digest
            self._save(entries)

    def forget(self, resource_id: str) -> None:
        """Drop every fingerprint of a deleted resource."""
        prefix = self._entry_key(resource_id, "")
        with self._lock:
            entries = self._load()
            for key in [k for k in entries if k.startswith(prefix)]:
                del entries[key]
            self._save(entries)

    def _save(self, entries: dict[str, str]) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, sort_keys=True, indent=1))
        tmp.replace(self.path)
