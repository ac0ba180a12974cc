"""State files written by several processes at once: never torn, never a shared temp name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fivetran_assets.state.files import write_atomic

WRITER = """
import json, os, sys
from pathlib import Path
from fivetran_assets.state.files import write_atomic
for n in range(300):
    write_atomic(Path(sys.argv[1]), json.dumps({"pid": os.getpid(), "n": n, "pad": "x" * 4096}))
"""


def test_processes_writing_one_file_at_once_never_collide(tmp_path: Path) -> None:
    target = tmp_path / "state" / "shared.json"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    while any(w.poll() is None for w in writers):
        if target.exists():
            assert len(json.loads(target.read_text())["pad"]) == 4096  # never half a file
    assert [w.wait() for w in writers] == [0, 0, 0], [w.stderr.read() for w in writers]
    assert json.loads(target.read_text())["n"] == 299
    assert [p.name for p in target.parent.iterdir()] == ["shared.json"]
    assert target.stat().st_mode & 0o777 == 0o600


def test_exclusive_keeps_the_first_writers_file(tmp_path: Path) -> None:
    target = tmp_path / "credentials.json"
    assert write_atomic(target, "first", exclusive=True)
    assert not write_atomic(target, "second", exclusive=True)
    assert target.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["credentials.json"]
