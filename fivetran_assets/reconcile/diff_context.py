"""What the differ shares: the context collecting changes, and field comparison helpers.

`DiffContext` gathers the changes, unmanaged resources and warnings of one plan, decides what
a leftover live resource becomes (unmanaged, or a delete when pruning), and compares secrets by
keyed fingerprint, never by value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fivetran_assets.estate.errors import EstateError
from fivetran_assets.estate.references import Environment, references, resolve
from fivetran_assets.reconcile.fingerprints import FingerprintStore
from fivetran_assets.reconcile.plan import Change, Delete, FieldDiff, Kind, PlanWarning, Unmanaged
from fivetran_assets.reconcile.values import flatten, loosely_equal, resolve_secrets

ENV_VARS_PATH = "project_config.environment_vars"


@dataclass
class DiffContext:
    fingerprints: FingerprintStore
    environment: Environment
    prune: bool
    changes: list[Change] = field(default_factory=list)
    unmanaged: list[Unmanaged] = field(default_factory=list)
    warnings: list[PlanWarning] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)

    def warn(self, kind: Kind, group: str, name: str, message: str) -> None:
        self.warnings.append(PlanWarning(kind, group, name, message))

    def leftover(self, kind: Kind, group: str, name: str, live_id: str, existing: Any) -> None:
        if self.prune:
            self.changes.append(Delete(kind, group, name, live_id=live_id, existing=existing))
        else:
            self.unmanaged.append(Unmanaged(kind, group, name, live_id))

    def secret_diffs(
        self,
        kind: Kind,
        group: str,
        name: str,
        live_id: str | None,
        secrets: Mapping[str, str],
        where: str,
        *,
        prefix: str = "",
    ) -> list[FieldDiff]:
        """Which secret leaves must be sent: never recorded, or the fingerprint changed.

        A secret whose variable is not set cannot be compared (Fivetran masks it): it is
        reported as not verifiable until set, which is not drift.
        """
        if not secrets:
            return []
        if live_id is None:
            return [FieldDiff(prefix + path, secret=True, reason="set") for path in sorted(secrets)]
        values: dict[str, str] = {}
        for path in sorted(secrets):
            try:
                values.update(resolve_secrets({path: secrets[path]}, self.environment, where=where))
            except EstateError:
                unset = " and ".join(self._unset(secrets[path]))
                message = f"{prefix}{path}: not verifiable until {unset} is set"
                self.warn(kind, group, name, message)
        diffs = []
        for path in sorted(values):
            match = self.fingerprints.matches(live_id, path, values[path])
            if match is not True:
                reason = "not recorded" if match is None else "changed"
                diffs.append(FieldDiff(prefix + path, secret=True, reason=reason))
        return diffs

    def _unset(self, text: str) -> list[str]:
        """The references in `text` that do not resolve here (shown as written: no secret)."""
        unset = []
        for ref in references(text):
            try:
                resolve(ref.text, self.environment, where="")
            except EstateError:
                unset.append(ref.text)
        return unset


def plain_diffs(
    declared: Mapping[str, Any], live: Mapping[str, Any], prefix: str
) -> list[FieldDiff]:
    flat_live = flatten(live)
    return [
        FieldDiff(f"{prefix}{path}", flat_live.get(path), value)
        for path, value in sorted(declared.items())
        if not loosely_equal(value, flat_live.get(path))
    ]


def field_diff(name: str, live: Any, want: Any) -> list[FieldDiff]:
    if want is None or loosely_equal(want, live):
        return []
    return [FieldDiff(name, live, want)]
