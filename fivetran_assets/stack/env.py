"""`python -m fivetran_assets.stack.env`: the local stack's environment as `export` lines.

`plan`, `apply`, `refresh` or `dagster` typed in a shell must use the same base URL, generated
credentials, webhook URL and secret and demo folder as `make demo`; otherwise the plan shows
drift that is not there. `eval "$(.venv/bin/python -m fivetran_assets.stack.env)"` sets them.
The lines hold the secrets, so they are written only into a pipe or file (for `eval`), never
onto a terminal, where they would stay in the scrollback.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from typing import TextIO

from fivetran_assets.stack.credentials import load_or_create_credentials, stack_env
from fivetran_assets.stack.settings import StackSettings

EVAL_HINT = 'eval "$(.venv/bin/python -m fivetran_assets.stack.env)"'


def export_lines(env: Mapping[str, str]) -> str:
    """POSIX shell `export NAME=value` lines, values quoted for `eval`."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())


def main(out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if out.isatty():
        sys.stderr.write(
            f"These lines hold the local stack's secrets; load them into your shell with:\n"
            f"  {EVAL_HINT}\n"
        )
        return 2
    settings = StackSettings.from_env()
    out.write(export_lines(stack_env(settings, load_or_create_credentials(settings.state_dir))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
