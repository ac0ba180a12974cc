"""Run the peer, dagster-fivetran 0.29, for real, in its own virtualenv, against the local Fivetran.

dagster-fivetran 0.29 pins `dagster==1.13.27` while the project runs another 1.13 release, so
the two cannot share a Python environment. `ensure_peer_venv` creates `bench/.peer-venv` (never
committed) on first use and reuses it while its requirement list is unchanged; `run_peer` runs
a snippet of peer code there in a subprocess and reports its output, wall time and own peak RSS.

dagster-fivetran hard-codes `https://api.fivetran.com`; with `base_url` given, `run_peer`
first points `dagster_fivetran.resources.FIVETRAN_API_BASE` (read at call time) at it:

    peer = run_peer(CODE, "arg", base_url=server.base_url, timeout=600)
    figures = peer.json()  # the last line CODE printed, as JSON
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import run_measured

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = ROOT / "bench" / ".peer-venv"
# dagster-fivetran brings its pinned dagster (with requests, pydantic and pyyaml) itself.
PEER_REQUIREMENTS: tuple[str, ...] = ("dagster-fivetran==0.29.*",)
BASE_URL_ENV = "BENCH_PEER_FIVETRAN_BASE_URL"
PRELUDE = f"""\
import os as _os
import dagster_fivetran.resources as _resources
_resources.FIVETRAN_API_BASE = _os.environ[{BASE_URL_ENV!r}].rstrip("/")
"""


class PeerError(RuntimeError):
    """The peer environment could not be built, or the peer code failed (with its stderr)."""


@dataclass(frozen=True)
class PeerRun:
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float

    def json(self) -> Any:
        """The last non-empty line the peer code printed, parsed as JSON."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        if not lines:
            raise PeerError("the peer printed nothing; expected a JSON line")
        try:
            return json.loads(lines[-1])
        except json.JSONDecodeError as exc:
            raise PeerError(f"the peer's last line is not JSON: {lines[-1][:200]!r}") from exc


def peer_python(venv_dir: Path = PEER_VENV) -> Path:
    return venv_dir / "bin" / "python"


def ensure_peer_venv(
    *,
    requirements: Sequence[str] = PEER_REQUIREMENTS,
    venv_dir: Path = PEER_VENV,
    timeout: float = 1800,
) -> Path:
    """The peer venv's python, creating or updating the venv when its requirements changed.

    The stamp file records the requirement list the venv was built with; a build cut off before
    writing it is redone next time instead of being trusted half-installed.
    """
    stamp = venv_dir / ".requirements"
    wanted = "\n".join(sorted(requirements)) + "\n"
    python = peer_python(venv_dir)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        print(f"creating the peer environment {venv_dir} ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    stamp.unlink(missing_ok=True)
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    try:
        subprocess.run(
            [*command, *requirements],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.CalledProcessError as exc:
        raise PeerError(
            f"pip install {' '.join(requirements)} into {venv_dir} failed:\n{exc.stderr[-3000:]}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise PeerError(f"pip install into {venv_dir} took over {timeout:.0f} s") from exc
    stamp.write_text(wanted)
    return python


def run_peer(
    code: str,
    *args: str,
    base_url: str | None = None,
    timeout: float = 600,
    env: Mapping[str, str] | None = None,
    requirements: Sequence[str] = PEER_REQUIREMENTS,
) -> PeerRun:
    """Run `code` (as `python -c`) with `args` in the peer venv; raise PeerError if it fails.

    With `base_url`, dagster-fivetran talks to that server instead of api.fivetran.com.
    """
    python = ensure_peer_venv(requirements=requirements)
    child_env = {**os.environ, **(env or {})}
    child_env.pop("PYTHONPATH", None)  # the project's packages must not leak into the peer
    if base_url is not None:
        code = PRELUDE + code
        child_env[BASE_URL_ENV] = base_url
    try:
        measured = run_measured(
            [str(python), "-c", code, *args], timeout=timeout, env=child_env, cwd=ROOT
        )
    except subprocess.TimeoutExpired as exc:
        raise PeerError(f"the peer run took over {timeout:.0f} s") from exc
    if measured.returncode != 0:
        raise PeerError(
            f"the peer exited with status {measured.returncode}:\n{measured.stderr[-3000:]}"
        )
    return PeerRun(
        stdout=measured.stdout,
        stderr=measured.stderr,
        seconds=measured.seconds,
        peak_rss_mb=measured.peak_rss_mb,
    )


def main() -> int:
    """`python -m bench.peers`: build the peer environment now and print what it holds."""
    python = ensure_peer_venv()
    version = subprocess.run(
        [str(python), "-c", "import dagster, dagster_fivetran as f; print(dagster.__version__,"
         " f.__version__)"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout.strip()  # fmt: skip
    print(f"{python}: dagster, dagster-fivetran {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
