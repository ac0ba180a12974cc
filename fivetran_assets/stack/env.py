"""The local stack's environment for commands typed in another shell.

`plan`, `apply`, `refresh` or `dagster` typed in a shell must use the same base URL, generated
credentials, webhook URL and secret and demo folder as `make demo`; otherwise the plan shows
drift that is not there. Three ways, each only when the shell sets none of the base URL and
credential variables and the config's base URL then points at the local Fivetran recorded in
`.state/run/`:

- `plan`, `apply` and `refresh` complete the shell's variables themselves
  (`command_environment`);
- the code location does the same when it loads (`complete_environ`), so the runs `dagster`
  commands start reach the stack;
- `eval "$(.venv/bin/python -m fivetran_assets.stack.env)"` exports them, DAGSTER_HOME too,
  which a `dagster` command reads before any of the project's code runs. The lines hold the
  secrets, so they are written only into a pipe or file (for `eval`), never onto a terminal,
  where they would stay in the scrollback.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any, TextIO

from fivetran_assets.estate.errors import EstateError
from fivetran_assets.stack.credentials import (
    CREDENTIALS_FILE,
    load_or_create_credentials,
    stack_env,
)
from fivetran_assets.stack.settings import BASE_URL_ENV, StackSettings, read_record

CONFIG_ENV = "FIVETRAN_ASSETS_CONFIG"  # where the definitions read the estate from
LOCAL_STACK_ENV = "FIVETRAN_ASSETS_LOCAL_STACK"  # `off`: never take the recorded stack's values
_OFF = frozenset({"off", "0", "false", "no"})
EVAL_HINT = 'eval "$(.venv/bin/python -m fivetran_assets.stack.env)"'


def export_lines(env: Mapping[str, str]) -> str:
    """POSIX shell `export NAME=value` lines, values quoted for `eval`."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())


def local_stack_variables(
    estate: Any, environ: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    """`environ` (default os.environ) completed with the local stack recorded in the estate's
    project, or None when that does not apply.

    It applies when a stack was recorded there (`.state/run/stack.json`, with its credentials),
    the shell sets none of FIVETRAN_BASE_URL and the config's credential variables, and the
    config's base URL then resolves to the local Fivetran: a config aimed at another Fivetran
    never receives the local credentials. The variables the shell does set are kept.
    FIVETRAN_ASSETS_LOCAL_STACK=off turns it off (the test suite does).
    """
    env = dict(os.environ if environ is None else environ)
    root = estate.root
    account = estate.account
    if env.get(LOCAL_STACK_ENV, "").strip().lower() in _OFF:
        return None
    if any(env.get(name) for name in (BASE_URL_ENV, account.api_key_env, account.api_secret_env)):
        return None
    if not read_record(root) or not (root / ".state" / CREDENTIALS_FILE).is_file():
        return None
    settings = StackSettings.from_env(project_root=root, environ=env)
    creds = load_or_create_credentials(settings.state_dir)
    local = {
        **stack_env(settings, creds),
        account.api_key_env: creds.api_key,
        account.api_secret_env: creds.api_secret,
    }
    completed = {**local, **env}
    try:
        aimed_here = estate.base_url(completed).rstrip("/") == settings.emulator_url
    except EstateError:
        return None
    return completed if aimed_here else None


def command_environment(estate: Any, *, err: TextIO | None = None) -> Any:
    """The Environment a shell command (`plan`, `apply`, `refresh`) resolves `estate` in: the
    shell's variables, completed from the local stack when `local_stack_variables` applies (then
    a line on `err`, default stderr, says so)."""
    variables = local_stack_variables(estate)
    if variables is None:
        return estate.environment()
    (err or sys.stderr).write(
        f"Using the local stack at {variables[BASE_URL_ENV]} (recorded in "
        f"{estate.root / '.state' / 'run'}; set {BASE_URL_ENV} to aim elsewhere)\n"
    )
    return estate.environment(variables)


def complete_environ(estate: Any, environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Set, in `environ` (default os.environ), the variables `local_stack_variables` adds for
    `estate`, leaving every variable already set alone; the names set.

    For the code a `dagster` command loads in a new shell: resources read the base URL, the
    credentials and the webhook secret from the environment when a run starts (`dg.EnvVar`),
    and run workers inherit their code server's environment. DAGSTER_HOME is left alone.
    """
    target = os.environ if environ is None else environ
    variables = local_stack_variables(estate, dict(target))
    # DAGSTER_HOME picks the instance, which a process has chosen before loading any code.
    added = [name for name in (variables or {}) if name not in target and name != "DAGSTER_HOME"]
    for name in added:
        target[name] = (variables or {})[name]
    return added


def complete_environ_for_project(root: Path, *, config: str | None = None) -> list[str]:
    """`complete_environ` for the estate at `config` ($FIVETRAN_ASSETS_CONFIG, else `config/`
    under `root`), at no cost unless a local stack was recorded in `root`; a config that does
    not load is left for the definitions to report."""
    if not read_record(root):
        return []
    from fivetran_assets.estate import load_estate

    try:
        estate = load_estate(root / (config or os.environ.get(CONFIG_ENV) or "config"))
    except EstateError:
        return []
    return complete_environ(estate)


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
