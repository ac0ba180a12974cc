"""Read the estate's YAML files into plain data plus a map from key paths to file positions.

PyYAML's `compose` keeps the marks (line, column) of every node; we construct the plain values
ourselves from the node tree and record where each key and list item was written, so any later
check can say `config/fivetran.yaml:42:7`. A folder is merged from its `*.yaml` files (top level
only, sorted by name): `account` and `dagster` may appear in one file, `selections` are merged by
name and `groups` are concatenated; duplicates are problems naming both places.

A config is input like any other: a file is at most `MAX_FILE_BYTES`, UTF-8 (an invalid byte is
named by its offset), nested at most `MAX_DEPTH` levels, and its aliases may not refer to
themselves or expand past `MAX_ALIASES` uses / `MAX_ALIAS_VALUES` values (an alias bomb is refused
in milliseconds instead of filling memory). Syntax errors carry the line and a caret under it.
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

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 10_000
MAX_ALIAS_VALUES = 200_000
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Refused(Exception):
    """Building stopped: the document breaks a limit (the problem says which)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


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
    """Turns a composed node tree into plain values while filling a SourceMap.

    An alias is the same node object met again: its uses and the values they expand to are
    counted, and a node met again inside itself is a recursive alias.
    """

    def __init__(self, loader: Any, file: Path, source: SourceMap) -> None:
        self.loader = loader
        self.file = file
        self.source = source
        self.problems: list[Problem] = []
        self._built: set[int] = set()
        self._open: set[int] = set()
        self._aliases = 0
        self._alias_values = 0
        self._in_alias = 0

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self._check(node, path)
        again = id(node) in self._built
        self._built.add(id(node))
        self._open.add(id(node))
        self._in_alias += again
        try:
            return self._value(node, path)
        finally:
            self._in_alias -= again
            self._open.discard(id(node))

    def _check(self, node: yaml.Node, path: KeyPath) -> None:
        here = _location(self.file, node.start_mark)
        if id(node) in self._open:
            raise _Refused(Problem("an alias refers to itself (recursive alias)", location=here))
        if len(path) > MAX_DEPTH:
            raise _Refused(Problem(f"nested deeper than {MAX_DEPTH} levels", location=here))
        if id(node) in self._built:
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(
                    Problem(f"more than {MAX_ALIASES:,} alias uses in one file", location=here)
                )
        if self._in_alias or id(node) in self._built:
            self._alias_values += 1
            if self._alias_values > MAX_ALIAS_VALUES:
                raise _Refused(
                    Problem(
                        f"aliases expand to more than {MAX_ALIAS_VALUES:,} values "
                        "(an alias bomb?); write the repeated part once, or use a shared "
                        "selection or a template",
                        location=here,
                    )
                )

    def _value(self, node: yaml.Node, path: KeyPath) -> Any:
        here = _location(self.file, node.start_mark)
        self.source.values[path] = here
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            raise _Refused(Problem(f"unsupported YAML tag '{node.tag}'", location=here))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.source.keys[(*path, index)] = _location(self.file, child.start_mark)
                items.append(self.build(child, (*path, index)))
            return items
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError as exc:  # a number longer than Python converts, a bad date
            raise _Refused(Problem(f"cannot read this value: {exc}", location=here)) from None

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = (
                self.loader.construct_object(key_node, deep=True)
                if isinstance(key_node, yaml.ScalarNode)
                else key_node  # a mapping or list as a key is never built (it may be a bomb)
            )
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
    """Parse one YAML file; every way it can be unreadable becomes a problem naming the file."""
    text, problem = read_text(file)
    if problem is not None:
        return None, [problem]
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, []
        builder = _Builder(loader, file, source)
        data = builder.build(node, ())
        return data, builder.problems
    except _Refused as exc:
        return None, [exc.problem]
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(file, text, exc)]
    except yaml.YAMLError as exc:  # the reader: a control character, ...
        return None, [_reader_problem(file, text, exc)]
    finally:
        loader.dispose()


def read_text(file: Path) -> tuple[str, Problem | None]:
    """The file as text, or the problem: unreadable, larger than the limit, not UTF-8."""
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            return "", Problem(
                f"the file is {size:,} bytes; a config file is at most {MAX_FILE_BYTES:,} "
                "(split the estate into several files in a folder)",
                location=Location(file),
            )
        raw = file.read_bytes()
    except OSError as exc:
        return "", Problem(f"cannot read the file: {exc.strerror or exc}", location=Location(file))
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return "", Problem(
            f"not UTF-8 text: invalid byte 0x{raw[exc.start]:02x} at byte offset {exc.start} "
            "(save the file as UTF-8)",
            location=Location(file, line, column),
        )


def caret(text: str, line: int, column: int) -> str | None:
    """The 0-based `line` of `text` with a caret under 0-based `column` (tabs kept aligned)."""
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return None
    shown = "".join(ch if ch >= " " or ch == "\t" else "\ufffd" for ch in lines[line])
    pad = "".join(ch if ch == "\t" else " " for ch in shown[:column])
    return f"{shown}\n{pad}^"


def _syntax_problem(file: Path, text: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    detail = "; ".join(part for part in (exc.context, exc.problem) if part)
    related = ()
    context = exc.context_mark
    if context is not None and mark is not None and context.line != mark.line:
        what = (exc.context or "it").removeprefix("while ").replace("parsing ", "")
        related = ((f"{what} started at", _location(file, context)),)
    return Problem(
        f"YAML syntax error: {detail}",
        location=_location(file, mark),
        related=related,
        snippet=caret(text, mark.line, mark.column) if mark else None,
    )


def _reader_problem(file: Path, text: str, exc: yaml.YAMLError) -> Problem:
    position = getattr(exc, "position", None)
    if not isinstance(position, int):
        return Problem(f"YAML error: {exc}", location=Location(file))
    line = text.count("\n", 0, position)
    column = position - (text.rfind("\n", 0, position) + 1)
    reason = getattr(exc, "reason", None) or str(exc)
    character = getattr(exc, "character", None)
    if isinstance(character, str):
        character = ord(character)
    if isinstance(character, int):
        reason += f" (character #x{character:04x})"
    return Problem(
        f"YAML error: {reason}",
        location=Location(file, line + 1, column + 1),
        snippet=caret(text, line, column),
    )


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
