"""The reconciler as one object: plan, apply, verify, for the CLI and the Dagster job alike.

`Reconciler(estate, client)` plans from a fresh read of Fivetran every time (no state file
for identity); `apply(plan)` runs the plan and then verifies with a new plan that must be
empty. `lock()` is the estate's apply lock: the CLI and the `provision_fivetran` job hold it
from their plan to the end of the apply, so two applies never plan against a state the other
is changing (`plan` alone takes none). Fingerprints of sent secrets and the lock live in the
deployment's shared state (`estate.connect.estate_state`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from fivetran_assets.estate.advice import advise
from fivetran_assets.estate.connect import estate_state
from fivetran_assets.estate.errors import EstateError
from fivetran_assets.estate.estate import Estate
from fivetran_assets.estate.references import Environment
from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.fivetran.errors import FivetranError
from fivetran_assets.reconcile.access_apply import apply_access
from fivetran_assets.reconcile.access_plan import split_access, with_access
from fivetran_assets.reconcile.applier import ApplyResult, apply_plan
from fivetran_assets.reconcile.desired import GroupSpec, desired_groups
from fivetran_assets.reconcile.diff import compute_plan
from fivetran_assets.reconcile.executor import TaskResult
from fivetran_assets.reconcile.fingerprints import FingerprintStore
from fivetran_assets.reconcile.move_ops import SYNC_TIMEOUT
from fivetran_assets.reconcile.moves import staging_names
from fivetran_assets.reconcile.plan import Kind, Plan, PlanWarning
from fivetran_assets.reconcile.reader import (
    AmbiguousIdentityError,
    LiveEstate,
    read_estate,
    reading_estate,
)
from fivetran_assets.reconcile.render import apply_summary
from fivetran_assets.snapshot.store import write_snapshot
from fivetran_assets.state.locks import DEFAULT_LOCK_TIMEOUT, Holder, apply_lock
from fivetran_assets.state.shared import StateLocation

logger = logging.getLogger("fivetran_assets.reconcile")


@dataclass(frozen=True)
class ApplyReport:
    """An apply's outcome and its verification: `verification` is the fresh plan after apply,
    None when it could not be read (`verify_error` says why)."""

    result: ApplyResult
    verification: Plan | None
    verify_error: str | None = None
    plan: Plan | None = None  # the plan applied, for the summary

    @property
    def verified(self) -> bool:
        return self.verification is not None and self.verification.is_empty

    @property
    def ok(self) -> bool:
        return self.result.ok and self.verified

    def describe(self) -> str:
        head = apply_summary(self.plan or Plan(), self.result)
        if self.verified:
            return head + " Verified: a fresh plan is empty; the live estate matches the config."
        if self.verification is None:
            done = self.result.counts()["done"]
            reason = self.verify_error or "the live estate could not be read"
            return f"{head} applied {done} changes; could not verify: {reason}; run plan"
        return (
            head + f" Not converged: a fresh plan still has changes ({self.verification.summary()})"
        )


class Reconciler:
    """Plan and apply one estate against one Fivetran account.

    Reads (every call of a plan, and of apply's verification) run on `read_workers`
    (`account.read_concurrency`), writes on `workers` (`account.concurrency`): reads are bound by
    latency, writes by Fivetran's create caps and by what a half-done apply leaves behind.
    `state` is where fingerprints and the apply lock live (default: the estate's shared state);
    `state_dir` is a shortcut for a plain local state folder (tests, benchmarks).
    """

    def __init__(
        self,
        estate: Estate,
        client: FivetranClient,
        *,
        environment: Environment | None = None,
        state: StateLocation | None = None,
        state_dir: Path | str | None = None,
        workers: int | None = None,
        read_workers: int | None = None,
        refresh_snapshot: bool = True,
        move_sync_timeout: float = SYNC_TIMEOUT,
    ) -> None:
        self.estate = estate
        self.client = client
        self.environment = environment or estate.environment()
        if state is None:
            state = (
                StateLocation(Path(state_dir))
                if state_dir is not None
                else estate_state(estate, self.environment)
            )
        self.state = state
        self._snapshot_path = Path(state_dir) / "snapshot.json" if state_dir is not None else None
        self.refresh_snapshot = refresh_snapshot
        self.workers = workers or estate.account.concurrency
        self.read_workers = read_workers or estate.account.read_concurrency
        self.move_sync_timeout = move_sync_timeout
        self.fingerprints = FingerprintStore(
            state.shared(), base_url=client.base_url, legacy_dir=state.folder
        )

    @contextlib.contextmanager
    def lock(
        self,
        *,
        timeout: timedelta = DEFAULT_LOCK_TIMEOUT,
        command: str | None = None,
        on_wait: Callable[[Holder | None], None] | None = None,
    ) -> Iterator[Holder]:
        """Hold the apply lock of this estate's account (waiting up to `timeout`; `LockTimeout`
        names the holder). Hold it from the plan you will apply to the end of `apply`."""
        with apply_lock(
            self.state,
            f"fivetran_assets:apply:{self.client.account}",
            timeout=timeout,
            command=command,
            on_wait=on_wait,
        ) as holder:
            yield holder

    @cached_property
    def desired(self) -> dict[str, GroupSpec]:
        return desired_groups(self.estate, self.environment)

    def read(self) -> LiveEstate:
        return read_estate(self.client, self._read_names(), workers=self.read_workers)

    def _read_names(self) -> list[str]:
        return [*self.desired, *staging_names(self.desired)]

    def plan(self, *, prune: bool = False) -> Plan:
        """A plan from a fresh read of the live estate, access and governance included
        (EstateError when a role the config names is not one Fivetran knows), with the
        config's advice as warnings."""
        with reading_estate(self.client, self._read_names(), workers=self.read_workers) as live:
            # Diffed as the schema configs arrive: the first groups while the last are read.
            plan = compute_plan(
                self.desired,
                live,
                fingerprints=self.fingerprints,
                environment=self.environment,
                prune=prune,
            )
        plan = with_access(
            plan,
            self.estate,
            self.client,
            live,
            fingerprints=self.fingerprints,
            environment=self.environment,
            prune=prune,
            workers=self.read_workers,
        )
        advice = tuple(
            PlanWarning(Kind(a.kind), a.group, a.name, f"advice: {a.path}: {a.message}")
            for a in advise(self.estate)
        )
        return replace(plan, warnings=plan.warnings + advice) if advice else plan

    def apply(
        self,
        plan: Plan,
        *,
        prune: bool = False,
        on_result: Callable[[TaskResult], None] | None = None,
    ) -> ApplyReport:
        """Apply `plan`, then re-plan to verify the estate converged; refresh the snapshot.

        Every secret reference must resolve first (EstateError naming each missing variable and
        where it is used), so a missing one stops the apply before its first call, not midway.
        """
        problems = self.estate.check_environment(self.environment.variables)
        if problems and not plan.is_empty:
            raise EstateError(problems)
        estate_plan, access = split_access(plan)
        outcomes: list[TaskResult] = []

        def record(outcome: TaskResult) -> None:
            outcomes.append(outcome)
            if on_result is not None:
                on_result(outcome)

        applied = apply_plan(
            estate_plan,
            self.client,
            environment=self.environment,
            fingerprints=self.fingerprints,
            workers=self.workers,
            on_result=record,
            move_sync_timeout=self.move_sync_timeout,
        )
        apply_access(
            access,
            self.client,
            ids=applied.ids,
            environment=self.environment,
            fingerprints=self.fingerprints,
            workers=self.workers,
            on_result=record,
        )
        result = ApplyResult(tuple(outcomes), applied.ids)
        try:
            report = ApplyReport(result, self.plan(prune=prune), plan=plan)
        except (FivetranError, AmbiguousIdentityError) as exc:
            report = ApplyReport(result, None, str(exc), plan=plan)
        if report.ok and not plan.is_empty and self.refresh_snapshot:
            write_snapshot_if_available(self.estate, self.client, path=self._snapshot_path)
        return report


def write_snapshot_if_available(
    estate: Estate, client: FivetranClient, *, path: Path | None = None
) -> bool:
    """Refresh the asset snapshot after an apply; a failure is logged, never fails the apply.

    The estate has already converged at this point: a snapshot that could not be written (the
    warehouse busy, dbt unable to parse) only means the Dagster definitions keep their previous
    view until `fivetran-assets refresh`.
    """
    try:
        write_snapshot(client, estate, path)
    except Exception as exc:
        logger.warning("snapshot not refreshed (run `fivetran-assets refresh`): %s", exc)
        return False
    return True
