"""Secret references in config values: `${env:NAME}`, `${env:NAME:-default}`, `${file:PATH}`.

Any string in the config may contain references, alone or inside text
(`${env:DIR:-.state/demo}/warehouse.duckdb`); `$${` writes a literal `${`. References are kept
unresolved when the config is loaded (validate and plan need no secrets) and resolved only when
applying, through `resolve(value, environment, where=...)`.

The rule for what is secret is deliberately simple and safe: **every value that contains a
reference is a secret** once resolved. It becomes a `Secret`, whose `repr`/`str` never show the
value; plans display the reference text instead (`mask`), which is informative and holds no
secret. Drift in a secret is detected by `Secret.fingerprint(key)`, a keyed HMAC-SHA256, so the
reconciler stores a hash and never the plaintext.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fivetran_assets.estate.errors import EstateError, Problem

MASK = "******"

_REFERENCE = re.compile(r"\$?\$\{([^}]*)\}")
_ENV = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)
_FILE = re.compile(r"^file:(.+)$", re.DOTALL)

# Config keys whose values are credentials: they must be written as references, never inline.
SECRET_KEY_WORDS = ("password", "secret", "private_key", "passphrase", "token", "api_key")


@dataclass(frozen=True)
class Reference:
    """One `${...}` reference inside a config string."""

    kind: str  # "env" or "file"
    target: str  # the variable name or the file path
    default: str | None = None
    text: str = ""


def _tokens(text: str) -> Iterator[str | Reference]:
    """Split text into literal pieces and references; raises ValueError on a malformed one."""
    position = 0
    for match in _REFERENCE.finditer(text):
        yield text[position : match.start()]
        position = match.end()
        whole = match.group(0)
        if whole.startswith("$$"):
            yield whole[1:]
            continue
        inner = match.group(1)
        env = _ENV.match(inner)
        if env:
            yield Reference("env", env.group(1), env.group(2), whole)
            continue
        file = _FILE.match(inner)
        if file:
            yield Reference("file", file.group(1).strip(), None, whole)
            continue
        raise ValueError(
            f"malformed reference '{whole}': write ${{env:NAME}}, ${{env:NAME:-default}} "
            "or ${file:PATH} (and $${ for a literal ${)"
        )
    yield text[position:]


def references(text: str) -> list[Reference]:
    """The references in `text` (raises ValueError if one is malformed)."""
    return [t for t in _tokens(text) if isinstance(t, Reference)]


def with_defaults(text: str) -> str | None:
    """`text` with every reference replaced by its default; None if one has no default (then
    only the resolved value can be checked). Raises ValueError on a malformed reference."""
    parts = []
    for token in _tokens(text):
        if isinstance(token, Reference):
            if token.default is None:
                return None
            parts.append(token.default)
        else:
            parts.append(token)
    return "".join(parts)


def has_reference(value: Any) -> bool:
    """Whether a string contains at least one well-formed reference."""
    if not isinstance(value, str) or "${" not in value:
        return False
    try:
        return bool(references(value))
    except ValueError:
        return False


def looks_secret(key: str) -> bool:
    """Whether a config key names a credential (its value must be a reference)."""
    lowered = key.lower()
    return any(word in lowered for word in SECRET_KEY_WORDS)


class Secret:
    """A value resolved from a reference: never shown by `repr`, `str` or `format`.

    `reveal()` is the only way to the plaintext (to send it to Fivetran); `reference` is the
    text written in the config, safe to display.
    """

    __slots__ = ("_value", "reference")

    def __init__(self, value: str, reference: str) -> None:
        self._value = value
        self.reference = reference

    def reveal(self) -> str:
        return self._value

    def fingerprint(self, key: bytes) -> str:
        """A keyed hash of the value (HMAC-SHA256, hex): comparable, not reversible."""
        return fingerprint(self._value, key)

    def __repr__(self) -> str:
        return f"Secret({self.reference!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(hashlib.sha256(self._value.encode()).digest())

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


def fingerprint(value: str, key: bytes) -> str:
    """HMAC-SHA256 of a resolved value under `key`, as hex."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Environment:
    """Where references are resolved: environment variables and the project root for files."""

    variables: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    root: Path = field(default_factory=Path.cwd)


def _resolve_text(text: str, environment: Environment, where: str, problems: list[Problem]) -> Any:
    pieces: list[str] = []
    secret = False
    for token in _tokens(text):
        if isinstance(token, str):
            pieces.append(token)
            continue
        secret = True
        if token.kind == "env":
            value = environment.variables.get(token.target)
            if value is None:
                value = token.default
            if value is None:
                problems.append(
                    Problem(
                        f"environment variable {token.target} is not set",
                        path=where,
                        expected=f"{token.target} set in the environment (used as {token.text})",
                    )
                )
                value = ""
            pieces.append(value)
        else:
            path = Path(token.target).expanduser()
            if not path.is_absolute():
                path = environment.root / path
            try:
                pieces.append(path.read_text(encoding="utf-8").rstrip("\r\n"))
            except OSError as exc:
                problems.append(
                    Problem(
                        f"cannot read secret file {path}: {exc.strerror or exc}",
                        path=where,
                        expected=f"a readable file (used as {token.text})",
                    )
                )
    joined = "".join(pieces)
    return Secret(joined, text) if secret else joined


def resolve(value: Any, environment: Environment, *, where: str) -> Any:
    """Resolve every reference in a value (a string, or nested dicts and lists of them).

    Strings with references become `Secret`s; others are returned as written (with `$${`
    unescaped). All missing variables and unreadable files are reported together in one
    `EstateError`, each naming the variable and the key path where it is used.
    """
    problems: list[Problem] = []

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, str):
            return _resolve_text(node, environment, path, problems) if "${" in node else node
        if isinstance(node, Mapping):
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(node)]
        return node

    resolved = walk(value, where)
    if problems:
        raise EstateError(problems)
    return resolved


def reveal(value: Any) -> Any:
    """The plaintext form of a resolved value, for the request body sent to Fivetran."""
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, Mapping):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [reveal(v) for v in value]
    return value


def mask(value: Any) -> Any:
    """A displayable form: secrets (resolved or not) shown as the reference written in config."""
    if isinstance(value, Secret):
        return value.reference
    if isinstance(value, Mapping):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    return value


def is_secret(value: Any) -> bool:
    """Whether a (resolved or unresolved) value is treated as a secret."""
    return isinstance(value, Secret) or has_reference(value)
