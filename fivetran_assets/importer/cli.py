"""`fivetran-assets import`: write the config of the live account, read-only.

The account is reached as `plan` reaches it: `$FIVETRAN_BASE_URL` (default Fivetran's API),
credentials in `$FIVETRAN_API_KEY` / `$FIVETRAN_API_SECRET`, the default rate budget. Exit 0
when everything was imported, 2 when part of the account could not be read (the rest is
written), 1 on error (nothing is written).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import click

EXIT_PARTIAL = 2
DEFAULT_OUT = "config/imported.yaml"


def _client() -> Any:
    """A client for the account in the environment, built as for any estate's account."""
    from fivetran_assets.estate.connect import client_for
    from fivetran_assets.estate.estate import Estate
    from fivetran_assets.estate.models import Account, DagsterSettings
    from fivetran_assets.estate.vocabulary import DEFAULT_BASE_URL
    from fivetran_assets.importer.document import BASE_URL_ENV

    account = Account(base_url=f"${{env:{BASE_URL_ENV}:-{DEFAULT_BASE_URL}}}")
    estate = Estate(account=account, dagster=DagsterSettings(), groups=(), root=Path.cwd())
    return client_for(estate)


def _check(text: str) -> None:
    """The written config must load: a problem here is a bug in the importer, not the account."""
    from fivetran_assets.estate.loader import check_estate

    with tempfile.TemporaryDirectory(prefix="fivetran-import-") as folder:
        path = Path(folder) / "imported.yaml"
        path.write_text(text, encoding="utf-8")
        _, problems = check_estate(path, root=Path.cwd())
    if problems:
        listed = "\n".join(f"  {p.path}: {p.message}" for p in problems[:20])
        raise click.ClickException(
            f"the imported config does not validate (nothing written; please report it):\n{listed}"
        )


def _summary(imported: Any, out: Path, env_example: Path) -> list[str]:
    from fivetran_assets.importer.compose import RESOURCE_KINDS
    from fivetran_assets.importer.document import plural

    counts = imported.counts()
    core = RESOURCE_KINDS[:6]  # always named; access and governance when there are some
    kinds = ", ".join(
        plural(counts[kind], kind[:-1]) for kind in RESOURCE_KINDS if kind in core or counts[kind]
    )
    lines = [
        f"Wrote {out}: {plural(imported.resources(), 'resource')} ({kinds}).",
        f"Found {plural(counts['templates'], 'connection template')} and "
        f"{plural(counts['shared selections'], 'shared selection')}.",
    ]
    if counts["secrets"]:
        lines.append(
            f"{plural(counts['secrets'], 'secret')} cannot be read back: set the variables "
            f"listed in {env_example} before applying."
        )
    return lines


@click.command("import")
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="NAME",
    help="Import only this group (repeat for several); default: every group.",
)
@click.option(
    "--out",
    default=DEFAULT_OUT,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The config file to write; secrets are listed in <out>.env.example.",
)
@click.option(
    "--templates/--no-templates",
    default=True,
    show_default=True,
    help="Write connections of one group and service as one for_each template.",
)
@click.option("--force", is_flag=True, help="Overwrite --out and its .env.example.")
def import_(groups: tuple[str, ...], out: Path, templates: bool, force: bool) -> None:
    """Write the config of the live Fivetran account (read-only), so `plan` shows no changes."""
    from rich.console import Console
    from rich.markup import escape

    from fivetran_assets.estate.errors import EstateError
    from fivetran_assets.fivetran.errors import FivetranError
    from fivetran_assets.importer.compose import compose
    from fivetran_assets.importer.document import render, write_files
    from fivetran_assets.importer.read import UnknownGroupError, read_account

    env_example = out.with_name(out.name + ".env.example")
    existing = [str(p) for p in (out, env_example) if p.exists()]
    if existing and not force:
        raise click.ClickException(f"{' and '.join(existing)} exist: pass --force to replace")
    try:
        with _client() as client:
            account = read_account(client, groups=groups)
    except EstateError as exc:
        raise click.ClickException(f"cannot reach the account:\n{exc}") from None
    except (FivetranError, UnknownGroupError) as exc:
        raise click.ClickException(str(exc)) from None
    imported = compose(account, templates=templates)
    schema = out.parent / "schema.json"
    text = render(
        imported, env_example=env_example.name, schema="./schema.json" if schema.exists() else None
    )
    _check(text)
    write_files({env_example: imported.secrets.example(out.name), out: text})
    console = Console(stderr=False, highlight=False, soft_wrap=True)
    for line in _summary(imported, out, env_example):
        console.print(escape(line))
    for line in imported.skipped.items:
        console.print(f"[yellow]left out[/yellow] {escape(line)}")
    for line in imported.unreadable:
        console.print(f"[red]not imported[/red] {escape(line)}")
    if imported.unreadable:
        sys.exit(EXIT_PARTIAL)
