"""Render an import as YAML with comments, and write it so an interrupted import writes nothing.

PyYAML writes no comments, so the document is assembled from blocks that it dumps (each group's
parts, each connection entry) with the comments placed above the entries they explain. Both
files are written to temporary files beside their targets and renamed into place, the config
last: a crash before the rename leaves no file; an existing file is replaced only with --force.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from fivetran_assets.importer.compose import GroupDoc, Imported

BASE_URL_ENV = "FIVETRAN_BASE_URL"


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key, as the project's own config writes them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _dump(value: Any) -> list[str]:
    text = yaml.dump(
        value,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
    return text.rstrip("\n").split("\n")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _indent(lines: Iterable[str], first: str, rest: str | None = None) -> list[str]:
    out = []
    for index, line in enumerate(lines):
        prefix = first if index == 0 else (first if rest is None else rest)
        out.append(prefix + line if line else line)
    return out


def _comments(lines: Iterable[str], indent: str) -> list[str]:
    return [f"{indent}# {line}" for line in lines]


def _group(doc: GroupDoc) -> list[str]:
    lines = _indent(_dump({"name": doc.name}), "  - ", "    ")
    lines += _indent(_dump({"destination": doc.destination}), "    ")
    if doc.log_service is not None:
        lines += _indent(_dump({"log_service": doc.log_service}), "    ")
    if doc.members:
        lines += _indent(_dump({"members": doc.members}), "    ")
    if doc.webhooks:
        lines += _indent(_dump({"webhooks": doc.webhooks}), "    ")
    if doc.connections:
        lines.append("    connections:")
        for entry in doc.connections:
            lines += _comments(entry.comments, "      ")
            lines += _indent(_dump([entry.data]), "      ")
    if doc.project is not None:
        lines += _indent(_dump({"transformation_project": doc.project}), "    ")
    if doc.transformations:
        lines += _indent(_dump({"transformations": doc.transformations}), "    ")
    return lines


def render(imported: Imported, *, env_example: str, schema: str | None = None) -> str:
    """The config file's text; `schema` is the path of `schema.json` relative to it, if any."""
    counts = imported.counts()
    header = [
        f"Imported from {imported.base_url} by `fivetran-assets import`: "
        f"{plural(imported.resources(), 'resource')}, "
        f"{plural(counts['templates'], 'connection template')}.",
        "Check it with `fivetran-assets plan --config <this file>`: it should show no changes.",
    ]
    if imported.secrets.uses:
        header.append(
            f"Secrets cannot be read back: set the {plural(counts['secrets'], 'variable')} "
            f"listed in {env_example} before applying."
        )
    if imported.unreadable:
        header += ["", "Not imported (the API key may not read it):"]
        header += [f"  {line}" for line in imported.unreadable]
    if imported.access.review:
        header += ["", "Review:"]
        header += [f"  {line}" for line in imported.access.review]
    if imported.skipped.items:
        header += ["", "Left out (the config cannot express it):"]
        header += [f"  {line}" for line in imported.skipped.items]
    lines = [f"# yaml-language-server: $schema={schema}", "#"] if schema else []
    lines += [*_comments(header, ""), ""]
    account: dict[str, Any] = {"base_url": f"${{env:{BASE_URL_ENV}:-{imported.base_url}}}"}
    access = imported.access
    for key, value in (
        ("users", access.users),
        ("teams", access.teams),
        ("log_services", access.log_services or None),
    ):
        if value is not None:
            account[key] = value
    lines += _dump({"account": account})
    if imported.selections:
        lines += ["", *_dump({"selections": imported.selections})]
    lines += ["", "groups:" if imported.groups else "groups: []"]
    for index, group in enumerate(imported.groups):
        if index:
            lines.append("")
        lines += _group(group)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def write_files(files: dict[Path, str]) -> None:
    """Write each file through a temporary file and a rename, in the given order.

    Every temporary file is complete before the first rename, so an interruption while writing
    leaves the targets untouched.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for target, text in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            staged.append((tmp, target))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        for tmp, target in staged:
            os.replace(tmp, target)
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
