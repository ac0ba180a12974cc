"""Read the estate's YAML files into plain data plus a map from key paths to file positions.

PyYAML's `compose` keeps the marks (line, column) of every node; we construct the plain values
ourselves from the node tree and record where each key and list item was written, so any later
check can say `config/fivetran.yaml:42:7`. A folder is merged from its `*.yaml` files (top level
only, sorted by name): `account` and `dagster` may appear in one file, `selections` are merged by
name and `groups` are concatenated; duplicates are problems naming both places.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fivetran_assets.estate.errors import Location, Problem

KeyPath = tuple[str | int, ...]

# libyaml when available: the same marks, several times faster on large estates.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class SourceMap:
    """Where each key (or list item) of the merged document was written."""

    keys: dict[KeyPath, Location] = field(default_factory=dict)
    values: dict[KeyPath, Location] = field(default_factory=dict)

    def locate(self, path: KeyPath, *, value: bool = False) -> Location | None:
        """The position of `path`, or of its nearest written ancestor."""
        table = self.values if value else self.keys
        for end in range(len(path), -1, -1):
            found = table.get(path[:end]) or self.keys.get(path[:end])
            if found is not None:
                return found
        return None


@dataclass
class Document:
    """The merged config as plain data, with its source map and the problems met reading it."""

    data: dict[str, Any]
    source: SourceMap
    files: tuple[Path, ...]
    problems: list[Problem]


def _location(file: Path, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(file)
    return Location(file, mark.line + 1, mark.column + 1)


class _Builder:
    """Turns a composed node tree into plain values while filling a SourceMap."""

    def __init__(self, loader: Any, file: Path, source: SourceMap) -> None:
        self.loader = loader
        self.file = file
        self.source = source
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.source.values[path] = _location(self.file, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.source.keys[(*path, index)] = _location(self.file, child.start_mark)
                items.append(self.build(child, (*path, index)))
            return items
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | bool | float) and key is not None:
                self.problems.append(
                    Problem(
                        "a key must be a plain scalar",
                        location=_location(self.file, key_node.start_mark),
                    )
                )
                continue
            key = str(key) if not isinstance(key, str) else key
            here = _location(self.file, key_node.start_mark)
            if key in result:
                first = self.source.keys[(*path, key)]
                self.problems.append(
                    Problem(
                        f"duplicate key '{key}'",
                        path=".".join(str(p) for p in (*path, key)),
                        location=here,
                        related=(("first written at", first),),
                    )
                )
                continue
            self.source.keys[(*path, key)] = here
            result[key] = self.build(value_node, (*path, key))
        return result


def read_file(file: Path, source: SourceMap) -> tuple[Any, list[Problem]]:
    """Parse one YAML file; syntax errors become problems with file, line and column."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [
            Problem(f"cannot read the file: {exc.strerror or exc}", location=Location(file))
        ]
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, []
        builder = _Builder(loader, file, source)
        data = builder.build(node, ())
        return data, builder.problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        return None, [Problem(f"YAML syntax error: {detail}", location=_location(file, mark))]
    except yaml.YAMLError as exc:
        return None, [Problem(f"YAML error: {exc}", location=Location(file))]
    finally:
        loader.dispose()


def config_files(path: Path) -> list[Path]:
    """The YAML files making up the config at `path` (a file, or a folder's top-level *.yaml)."""
    if path.is_dir():
        return sorted(p for p in path.glob("*.yaml") if p.is_file())
    return [path]


def read_documents(path: Path) -> Document:
    """Read and merge every file of the config at `path`."""
    source = SourceMap()
    problems: list[Problem] = []
    if not path.exists():
        problems.append(Problem(f"no config file or folder at {path}", location=Location(path)))
        return Document({}, source, (), problems)
    files = config_files(path)
    if not files:
        problems.append(Problem(f"no *.yaml files in {path}", location=Location(path)))
    merged: dict[str, Any] = {}
    for file in files:
        local = SourceMap()
        data, found = read_file(file, local)
        problems.extend(found)
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(
                Problem(
                    "the top level of a config file must be a mapping of sections",
                    location=local.locate((), value=True) or Location(file),
                    value=data,
                    expected="keys among account, dagster, selections, groups",
                )
            )
            continue
        problems.extend(_merge(merged, data, local, source))
    return Document(merged, source, tuple(files), problems)


def _merge(
    merged: dict[str, Any], data: dict[str, Any], local: SourceMap, source: SourceMap
) -> Iterable[Problem]:
    """Fold one file into the merged document, remapping its source positions."""
    offset = len(merged["groups"]) if isinstance(merged.get("groups"), list) else 0
    for key, value in data.items():
        if key == "groups" and isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key].extend(value)
        elif key == "selections" and isinstance(value, dict) and isinstance(merged.get(key), dict):
            for name, selection in value.items():
                if name in merged[key]:
                    yield Problem(
                        f"shared selection '{name}' is defined twice",
                        path=f"selections.{name}",
                        location=local.keys.get((key, name)),
                        related=(("first defined at", source.keys[(key, name)]),),
                    )
                else:
                    merged[key][name] = selection
        elif key in merged:
            yield Problem(
                f"section '{key}' is defined in two files",
                path=key,
                location=local.keys.get((key,)),
                related=(("first defined at", source.keys[(key,)]),),
            )
            continue
        else:
            merged[key] = value
    for table_name in ("keys", "values"):
        table = getattr(local, table_name)
        target = getattr(source, table_name)
        for path, loc in table.items():
            if len(path) >= 2 and path[0] == "groups" and isinstance(path[1], int):
                path = ("groups", path[1] + offset, *path[2:])
            target.setdefault(path, loc)
