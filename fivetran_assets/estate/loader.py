"""`load_estate(path) -> Estate`: read, validate and expand the estate config, or raise.

Each section is validated on its own (account, dagster, every shared selection, every group) so
that one broken group does not hide the problems of the others; then valid groups are expanded
and cross-checked. Nothing here calls the Fivetran API or resolves a secret.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fivetran_assets.estate.access_checks import access_problems
from fivetran_assets.estate.checks import check_document, url_problem
from fivetran_assets.estate.errors import (
    EstateError,
    Location,
    Problem,
    did_you_mean,
    sort_problems,
)
from fivetran_assets.estate.estate import Estate, Group
from fivetran_assets.estate.expand import Context, build_group
from fivetran_assets.estate.models import (
    NAME_PATTERN,
    Account,
    ConnectionEntry,
    DagsterSettings,
    EstateFile,
    GroupModel,
    SharedSelection,
    TransformationModel,
    Webhook,
)
from fivetran_assets.estate.selection import selection_issues
from fivetran_assets.estate.source import Document, KeyPath, read_documents
from fivetran_assets.estate.validation import display_path, salvage, validate

SECTIONS = tuple(EstateFile.model_fields)


def project_root(config_path: Path) -> Path:
    """The project root: the nearest folder above the config holding pyproject.toml, else cwd."""
    start = config_path.resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return Path.cwd()


def load_estate(path: str | Path = "config", *, root: Path | None = None) -> Estate:
    """Load the estate at `path` (a YAML file or a folder of them); EstateError if invalid."""
    estate, problems = check_estate(path, root=root)
    if problems or estate is None:
        raise EstateError(problems)
    return estate


def check_estate(
    path: str | Path = "config", *, root: Path | None = None
) -> tuple[Estate | None, list[Problem]]:
    """Like `load_estate`, but returns (estate or None, every problem found) without raising."""
    config_path = Path(path)
    doc = read_documents(config_path)
    problems = list(doc.problems)
    data = doc.data
    problems.extend(check_document(data, doc.source))
    for key in data:
        if key not in SECTIONS:
            problems.append(
                Problem(
                    f"unknown section '{key}'{did_you_mean(key, SECTIONS)}",
                    path=key,
                    location=doc.source.locate((key,)),
                    expected=f"one of {', '.join(SECTIONS)}",
                )
            )
    account = _section(doc, "account", Account, problems) or Account()
    reason = url_problem(account.base_url)
    if reason:
        where = ("account", "base_url")
        problems.append(
            Problem(
                reason,
                path="account.base_url",
                location=doc.source.locate(where, value=True),
                value=account.base_url,
            )
        )
    dagster = _section(doc, "dagster", DagsterSettings, problems) or DagsterSettings()
    shared = _shared_selections(doc, problems)
    groups = _groups(doc, dagster, shared, problems)
    if not doc.data.get("groups") and doc.files and not doc.problems:
        problems.append(
            Problem(
                "the config declares no groups, so there is nothing to provision or to model",
                path="groups",
                location=doc.source.locate(("groups",)) or Location(doc.files[0]),
                expected="a 'groups:' list with at least one group (see config/README.md)",
            )
        )
    problems.extend(access_problems(doc, account, groups))
    problems = sort_problems(_unique(problems))
    if problems:
        return None, problems
    estate = Estate(
        account=account,
        dagster=dagster,
        groups=tuple(groups),
        root=root or project_root(config_path),
        files=doc.files,
    )
    return estate, []


def _section(doc: Document, key: str, model: type[Any], problems: list[Problem]) -> Any:
    value = doc.data.get(key)
    if value is None:
        return None
    instance, found = validate(model, value, prefix=(key,), data=doc.data, source=doc.source)
    problems.extend(found)
    return instance


def _shared_selections(doc: Document, problems: list[Problem]) -> dict[str, SharedSelection]:
    raw = doc.data.get("selections") or {}
    if not isinstance(raw, dict):
        problems.append(
            _not_a("selections", "a mapping of selection names to selections", doc, raw)
        )
        return {}
    shared = {}
    for name, value in raw.items():
        if not re.match(NAME_PATTERN, name):
            problems.append(
                Problem(
                    f"invalid selection name '{name}'",
                    path=f"selections.{name}",
                    location=doc.source.locate(("selections", name)),
                    expected="lowercase letters, digits and underscores",
                )
            )
        selection, found = validate(
            SharedSelection,
            value or {},
            prefix=("selections", name),
            data=doc.data,
            source=doc.source,
        )
        problems.extend(found)
        if selection is None:
            continue
        for sub, message in selection_issues(selection):
            path = ("selections", name, *sub)
            problems.append(
                Problem(
                    message, path=display_path(path, doc.data), location=doc.source.locate(path)
                )
            )
        shared[name] = selection
    return shared


def _groups(
    doc: Document,
    dagster: DagsterSettings,
    shared: dict[str, SharedSelection],
    problems: list[Problem],
) -> list[Group]:
    raw = doc.data.get("groups") or []
    if not isinstance(raw, list):
        problems.append(_not_a("groups", "a list of groups", doc, raw))
        return []
    ctx = Context(data=doc.data, source=doc.source, dagster=dagster, shared=shared)
    seen: dict[str, int] = {}
    groups = []
    for index, value in enumerate(raw):
        name = value.get("name") if isinstance(value, dict) else None
        if isinstance(name, str) and name in seen:
            first = doc.source.locate(("groups", seen[name]))
            problems.append(
                Problem(
                    f"duplicate group name '{name}'",
                    path=f"groups[{index}].name",
                    location=doc.source.locate(("groups", index, "name")),
                    related=(("first defined at", first or Location(None)),),
                )
            )
            continue
        if isinstance(name, str):
            seen[name] = index
        built = _group(ctx, index, value, problems)
        if built is not None:
            groups.append(built)
    problems.extend(ctx.problems)
    return groups


_LISTS = {
    "webhooks": Webhook,
    "connections": ConnectionEntry,
    "transformations": TransformationModel,
}


def _group(ctx: Context, index: int, value: Any, problems: list[Problem]) -> Group | None:
    """Validate a group part by part, so one bad connection does not hide the others' problems."""
    prefix = ("groups", index)
    if not isinstance(value, dict):
        shell, found = validate(GroupModel, value, prefix=prefix, data=ctx.data, source=ctx.source)
        problems.extend(found)
        return None
    shell, found = validate(
        GroupModel,
        {k: v for k, v in value.items() if k not in _LISTS},
        prefix=prefix,
        data=ctx.data,
        source=ctx.source,
    )
    problems.extend(found)
    valid_shell = shell is not None
    parts: dict[str, list[tuple[int, Any]]] = {}
    for key, model in _LISTS.items():
        items = value.get(key) or []
        if not isinstance(items, list):
            problems.append(_not_a(f"{key}", "a list", ctx, items, prefix=prefix))
            items = []
        parts[key] = []
        for item_index, item in enumerate(items):
            checked, found = validate(
                model, item, prefix=(*prefix, key, item_index), data=ctx.data, source=ctx.source
            )
            problems.extend(found)
            if checked is None:
                # Check the rest of the item too (an unknown key must not hide its other
                # problems): go on with the offending keys left out. The estate is invalid
                # anyway, so nothing built from the remainder is ever returned.
                salvaged = salvage(model, item)
                if salvaged is not None:
                    items[item_index], checked = salvaged
            if checked is not None:
                parts[key].append((item_index, checked))
    if shell is None:
        # Still check its connections and transformations; the group itself is not returned.
        name = value.get("name")
        shell = GroupModel.model_construct(
            name=name if isinstance(name, str) else f"#{index}",
            destination=None,
            transformation_project=value.get("transformation_project") or None,
        )
    group = build_group(
        ctx,
        index,
        shell,
        webhooks=parts["webhooks"],
        entries={i for i, _ in parts["connections"]},
        transformations=parts["transformations"],
    )
    return group if valid_shell else None


def _not_a(
    key: str, expected: str, doc: Document | Context, value: Any, *, prefix: KeyPath = ()
) -> Problem:
    return Problem(
        f"'{key}' must be {expected}",
        path=display_path((*prefix, key), doc.data),
        location=doc.source.locate((*prefix, key)),
        value=value,
        expected=expected,
    )


def _unique(problems: list[Problem]) -> list[Problem]:
    """Drop repeats (a template's problem is found once per for_each item)."""
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.path, problem.message, str(problem.location))
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique
