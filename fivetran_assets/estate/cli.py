"""`fivetran-assets validate`: check the estate config without calling the API.

Prints every problem (file:line:column, key path, message, offending value, what was expected)
and exits 1; when the config is valid, prints a one-line summary and exits 0.
"""

from __future__ import annotations

import click


@click.command()
@click.argument("path", required=False, default="config")
def validate(path: str) -> None:
    """Validate the estate config at PATH (a file or folder; default config/)."""
    from rich.console import Console
    from rich.markup import escape

    from fivetran_assets.estate.errors import UNSET, show_value
    from fivetran_assets.estate.loader import check_estate

    console = Console(soft_wrap=True, highlight=False)
    estate, problems = check_estate(path)
    if estate is not None and not problems:
        console.print(f"[green]✓[/green] {escape(path)} is valid: {escape(str(estate.summary()))}")
        return
    for problem in problems:
        where = f"{problem.location}" if problem.location is not None else escape(path)
        head = f"[red]✗[/red] [bold]{escape(where)}[/bold]"
        if problem.path:
            head += f"  [cyan]{escape(problem.path)}[/cyan]"
        console.print(head)
        console.print(f"    {escape(problem.message)}")
        if problem.value is not UNSET:
            console.print(f"    [dim]got:[/dim] {escape(show_value(problem.value))}")
        if problem.expected:
            console.print(f"    [dim]expected:[/dim] {escape(problem.expected)}")
        for label, location in problem.related:
            console.print(f"    [dim]{escape(label)}:[/dim] {escape(str(location))}")
        if problem.snippet:
            for line in problem.snippet.splitlines():
                console.print(f"    [dim]|[/dim] {escape(line)}")
    count = len(problems)
    console.print(f"[red]{count} problem{'s' if count != 1 else ''}[/red] in {escape(path)}")
    raise SystemExit(1)
