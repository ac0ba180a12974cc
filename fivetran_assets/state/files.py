"""Local state files, written atomically under a name no other process uses.

A reader (another process, or this one after a crash) sees the old file or the new one, never
half of one, and two writers never share a temporary file: each writes `.<name>.<pid>.<random>`
beside the target, then renames it into place (or, `exclusive`, links it there only if nothing
is there yet, so the first of two racing writers wins and the other reads its file).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: str, *, mode: int = 0o600, exclusive: bool = False) -> bool:
    """Write `data` to `path` atomically; False when `exclusive` and `path` already existed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if not exclusive:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # gone already after a rename; the spare name after a link
