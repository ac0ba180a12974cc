"""The local Fivetran's state: an in-memory index of every object, written through to SQLite.

GETs must be fast (>= 1,000/s) and state must survive a restart, so reads come from plain dicts
and every mutation is written to one SQLite file (WAL) before the lock is released. One lock
guards both, which makes check-then-insert sequences (unique schema names, unique ids) atomic
under concurrent requests and sync workers.

The file holds the estate's secrets, so it (and SQLite's -wal/-shm files, which copy its mode) is
private to its owner: 0600 (a folder it creates is 0700). Bodies are stored as UTF-8 text, which
refuses a lone surrogate before anything is written; state written before that rule is repaired on
load.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fivetran_assets.emulator.ids import new_id
from fivetran_assets.json_policy import clean_text

log = logging.getLogger(__name__)

UNIQUE_KEYS = {"connection": ("group_id", "schema"), "user": ("_email",)}
"""Per kind, the fields that identify an object besides its id (looked up without a scan)."""
KINDS = (
    "group",
    "destination",
    "connection",
    "schema_config",
    "webhook",
    "transformation_project",
    "transformation",
    "user",
    "team",
    "membership",
    "log_service",
    "certificate",
    "fingerprint",
)


class Store:
    """Objects by kind and id; ``lock`` must be held for any read-modify-write sequence."""

    def __init__(self, path: Path) -> None:
        _private_file(path)
        self.lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS objects (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "kind TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, UNIQUE (kind, id))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT)")
        self._objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self._seq: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
        # creation order per kind: sorted sequence numbers and the ids beside them (pagination)
        self._order: dict[str, tuple[list[int], list[str]]] = {k: ([], []) for k in KINDS}
        self._unique: dict[str, dict[tuple, str]] = {kind: {} for kind in UNIQUE_KEYS}
        self._ids: set[str] = set()
        # Secondary indexes (`index`): per kind, each key function and its live id -> key dict.
        self._indexes: dict[str, list[tuple[Callable[[dict[str, Any]], Any], dict[str, Any]]]] = {}
        rows = self._db.execute("SELECT seq, kind, body FROM objects ORDER BY seq").fetchall()
        for seq, kind, body in rows:
            obj = json.loads(body)
            if "\\ud" in body:  # an escaped surrogate: maybe a lone one, stored before the rule
                obj = self._repair(kind, obj)
            self._remember(kind, seq, obj)

    def _repair(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """`obj` with lone surrogates replaced by U+FFFD, rewritten in place if it changed."""
        fixed = _clean(obj)
        if fixed != obj:
            log.warning("repaired invalid text in stored %s %s", kind, fixed.get("id"))
            self._db.execute(
                "UPDATE objects SET body = ? WHERE kind = ? AND id = ?",
                (_dumps(fixed), kind, fixed["id"]),
            )
        return fixed

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def setting(self, key: str, default: str) -> str:
        """A persistent account-level value (account id, ...), created on first read."""
        with self.lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            if row:
                return row[0]
            self._db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (key, default))
            return default

    def new_id(self) -> str:
        """A Fivetran-style id unused by any object of any kind (reserved until restart)."""
        with self.lock:
            oid = new_id(self._ids.__contains__)
            self._ids.add(oid)
            return oid

    def get(self, kind: str, oid: str) -> dict[str, Any] | None:
        return self._objects[kind].get(oid)

    def values(self, kind: str) -> list[dict[str, Any]]:
        return list(self._objects[kind].values())

    def index(self, kind: str, key: Callable[[dict[str, Any]], Any]) -> Mapping[str, Any]:
        """A live index of ``kind``: id -> ``key(obj)`` for every object whose key is not None,
        kept current by every write. Read it under ``lock`` (writers change it in place).

        For loops that would otherwise scan every object on every turn (the scheduler's, over
        10,000 connections ten times a second, when only a few can ever be due)."""
        entries: dict[str, Any] = {}
        with self.lock:
            for oid, obj in self._objects[kind].items():
                value = key(obj)
                if value is not None:
                    entries[oid] = value
            self._indexes.setdefault(kind, []).append((key, entries))
        return entries

    def find(self, kind: str, key: tuple) -> dict[str, Any] | None:
        """The object whose ``UNIQUE_KEYS[kind]`` fields equal ``key``."""
        oid = self._unique[kind].get(key)
        return None if oid is None else self._objects[kind].get(oid)

    def page(
        self,
        kind: str,
        start: int,
        limit: int,
        keep: Callable[[dict[str, Any]], bool] | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Up to ``limit`` objects (those ``keep`` accepts) in creation order from sequence
        number ``start``, and the sequence number the next page starts at (None at the end)."""
        out: list[dict[str, Any]] = []
        with self.lock:
            seqs, ids = self._order[kind]
            objects = self._objects[kind]
            for index in range(bisect.bisect_left(seqs, start), len(ids)):
                obj = objects[ids[index]]
                if keep is not None and not keep(obj):
                    continue
                if len(out) == limit:
                    return out, seqs[index]
                out.append(obj)
        return out, None

    def _remember(self, kind: str, seq: int, obj: dict[str, Any]) -> None:
        oid = obj["id"]
        if oid not in self._seq[kind]:
            seqs, ids = self._order[kind]
            seqs.append(seq)
            ids.append(oid)
        self._objects[kind][oid] = obj
        self._seq[kind][oid] = seq
        self._ids.add(oid)
        if kind in UNIQUE_KEYS:
            self._unique[kind][tuple(obj.get(f) for f in UNIQUE_KEYS[kind])] = oid
        for key, entries in self._indexes.get(kind, ()):
            value = key(obj)
            if value is None:
                entries.pop(oid, None)
            else:
                entries[oid] = value

    def _forget(self, kind: str, oid: str) -> dict[str, Any] | None:
        seq = self._seq[kind].pop(oid, None)
        if seq is not None:
            seqs, ids = self._order[kind]
            index = bisect.bisect_left(seqs, seq)
            del seqs[index], ids[index]
        obj = self._objects[kind].pop(oid, None)
        if obj is not None and kind in UNIQUE_KEYS:
            self._unique[kind].pop(tuple(obj.get(f) for f in UNIQUE_KEYS[kind]), None)
        for _, entries in self._indexes.get(kind, ()):
            entries.pop(oid, None)
        return obj

    def put(self, kind: str, obj: dict[str, Any]) -> None:
        """Insert or replace ``obj`` (keyed by ``obj['id']``) in memory and on disk.

        UnicodeEncodeError (nothing stored) if it holds text that is not valid Unicode.
        """
        body = _dumps(obj)
        with self.lock:
            oid = obj["id"]
            cursor = self._db.execute(
                "INSERT INTO objects (kind, id, body) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body RETURNING seq",
                (kind, oid, body),
            )
            seq = cursor.fetchone()[0]
            old = self._objects[kind].get(oid)
            if old is not None and kind in UNIQUE_KEYS:
                self._unique[kind].pop(tuple(old.get(f) for f in UNIQUE_KEYS[kind]), None)
            self._remember(kind, seq, obj)

    def delete(self, kind: str, oid: str) -> dict[str, Any] | None:
        with self.lock:
            self._db.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, oid))
            return self._forget(kind, oid)

    def clear(self) -> None:
        """Empty the estate (account settings stay)."""
        with self.lock:
            self._db.execute("DELETE FROM objects")
            for kind in KINDS:
                self._objects[kind].clear()
                self._seq[kind].clear()
                self._order[kind] = ([], [])
            for index in self._unique.values():
                index.clear()
            for indexes in self._indexes.values():
                for _, entries in indexes:
                    entries.clear()
            self._ids.clear()


def _dumps(obj: dict[str, Any]) -> str:
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    text.encode("utf-8")  # refuse lone surrogates here, not on every later read
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _private_file(path: Path) -> None:
    """Create the file 0600 (a new folder 0700), tightening the files if they already exist."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            os.chmod(candidate, 0o600)
