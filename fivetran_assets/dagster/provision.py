"""Provisioning from Dagster: the `provision_fivetran` job and the `fivetran_config_sensor`.

The job plans (a fresh read of Fivetran diffed against `config/`), then applies unless the run
config says `dry_run`. The plan is attached to the run as Markdown metadata with its counts as
numbers; the apply step takes the estate's apply lock (the same one `fivetran-assets apply`
takes, so a CLI apply and this job never overlap), plans again under it, applies that plan and
reports what it did and the verification (a fresh plan must be empty). Two provisioning runs
also queue in Dagster: the job carries the run tag `fivetran_assets/provision` and both ops sit
in the `fivetran_provisioning` pool; the instance limits either to one (see
`PROVISIONING_INSTANCE_CONFIG`).

The sensor hashes the config files; when the hash moves it validates the config (no API call)
and requests a run, or skips saying why the config is invalid. Errors become `dg.Failure` here,
at the op boundary, and nowhere below.
"""

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from fivetran_assets.dagster.resources import FivetranResource

CONFIG_ENV = "FIVETRAN_ASSETS_CONFIG"
PROVISIONING_POOL = "fivetran_provisioning"
PROVISIONING_TAG = "fivetran_assets/provision"
PROVISIONING_INSTANCE_CONFIG = f"""\
concurrency:
  pools:
    granularity: run
  runs:
    tag_concurrency_limits:
      - key: "{PROVISIONING_TAG}"
        limit: 1
"""
"""dagster.yaml lines that make the limit real (with `dagster instance concurrency set
fivetran_provisioning 1` for the pool)."""


def default_config_path() -> str:
    return os.environ.get(CONFIG_ENV) or "config"


class PlanConfig(dg.Config):
    """`config_path` None: $FIVETRAN_ASSETS_CONFIG, else config/."""

    config_path: str | None = None
    prune: bool = False


class ApplyConfig(dg.Config):
    dry_run: bool = False
    allow_destructive: bool = False
    config_path: str | None = None
    prune: bool = False
    lock_timeout_seconds: float = Field(
        600.0, ge=0, description="How long to wait for another apply of this estate."
    )


def _failure(message: str, **metadata: Any) -> dg.Failure:
    return dg.Failure(description=message, metadata=metadata)


def _reconciler(
    config_path: str | None, fivetran: FivetranResource, *, refresh_snapshot: bool = True
) -> Any:
    from fivetran_assets.estate import EstateError, load_estate
    from fivetran_assets.reconcile.service import Reconciler

    config_path = config_path or default_config_path()
    try:
        estate = load_estate(config_path)
    except EstateError as exc:
        raise _failure(
            f"the estate config at {config_path} is invalid", problems=str(exc)
        ) from None
    return Reconciler(estate, fivetran.get_client(), refresh_snapshot=refresh_snapshot)


def _plan_metadata(plan: Any) -> dict[str, Any]:
    from fivetran_assets.reconcile.render import PLAN_JSON, plan_markdown

    counts = plan.counts()
    return {
        "plan": dg.MetadataValue.md(plan_markdown(plan)),
        # The same plan as data, so a terminal (the demo) renders it to its own width.
        PLAN_JSON: dg.MetadataValue.json(plan.to_dict()),
        **{name: dg.MetadataValue.int(value) for name, value in counts.items()},
    }


AfterApply = Callable[[dg.OpExecutionContext, Any], object]
"""(context, client) after an apply that changed the estate: the component refreshes its state."""


def build_provisioning_job(
    *,
    job_prefix: str = "",
    default_config: str | None = None,
    after_apply: AfterApply | None = None,
) -> dg.JobDefinition:
    """`<job_prefix>provision_fivetran`: ops `<job_prefix>fivetran_plan` and `..._apply` over
    the estate at the run config's `config_path`, else `default_config`, else the default.
    Without `after_apply`, an apply that changed something writes the snapshot file."""

    def config_of(path: str | None) -> str | None:
        return path or default_config

    @dg.op(name=f"{job_prefix}fivetran_plan", pool=PROVISIONING_POOL, tags={"kind": "fivetran"})
    def plan_op(
        context: dg.OpExecutionContext, config: PlanConfig, fivetran: FivetranResource
    ) -> Any:
        """Read the live estate and diff it against config/ (the plan is this op's metadata)."""
        from fivetran_assets.estate import EstateError
        from fivetran_assets.fivetran.errors import FivetranError
        from fivetran_assets.reconcile.reader import AmbiguousIdentityError

        reconciler = _reconciler(config_of(config.config_path), fivetran)
        try:
            plan = reconciler.plan(prune=config.prune)
        except (FivetranError, EstateError, AmbiguousIdentityError) as exc:
            raise _failure(f"could not plan: {exc}") from None
        context.add_output_metadata(_plan_metadata(plan))
        context.log.info(plan.summary())
        return plan

    @dg.op(name=f"{job_prefix}fivetran_apply", pool=PROVISIONING_POOL, tags={"kind": "fivetran"})
    def apply_op(
        context: dg.OpExecutionContext, config: ApplyConfig, fivetran: FivetranResource, plan: Any
    ) -> dict:
        """Apply the plan (unless dry_run), then verify that a fresh plan is empty."""
        reconciler = _reconciler(
            config_of(config.config_path), fivetran, refresh_snapshot=after_apply is None
        )
        outcome = _apply(context, config, reconciler, plan)
        if after_apply is not None and outcome.get("changed"):
            try:
                after_apply(context, reconciler.client)
            except Exception as exc:  # the estate converged; only the assets' view lags
                context.log.warning(f"definitions state not refreshed: {exc}")
            else:
                context.log.info("definitions state refreshed: reload the code location")
        return outcome

    @dg.job(
        name=f"{job_prefix}provision_fivetran",
        tags={PROVISIONING_TAG: "exclusive"},
        description="Plan the difference between config/ and Fivetran, then apply it (or dry_run).",
    )
    def provisioning() -> None:
        apply_op(plan_op())

    return provisioning


def _apply(context: dg.OpExecutionContext, config: ApplyConfig, reconciler: Any, plan: Any) -> dict:
    """Under the apply lock, plan again and apply that plan (unless dry_run), then verify that
    a fresh plan is empty; `changed` in the outcome says the estate was changed."""
    from datetime import timedelta

    from fivetran_assets.estate import EstateError
    from fivetran_assets.fivetran.errors import FivetranError
    from fivetran_assets.reconcile.plan import UnsafePlanError
    from fivetran_assets.reconcile.reader import AmbiguousIdentityError
    from fivetran_assets.reconcile.render import plan_markdown
    from fivetran_assets.state.database import StateError

    if config.dry_run:
        context.log.info("dry run: nothing applied")
        context.add_output_metadata({"dry_run": True, "applied": 0})
        return {"dry_run": True, **plan.counts()}
    if plan.is_empty:
        context.add_output_metadata({"dry_run": False, "applied": 0, "verified": True})
        return {"dry_run": False, "verified": True}

    def waiting(holder: Any) -> None:
        who = holder.describe() if holder else "another process"
        context.log.info(f"waiting for the apply lock, held by {who}")

    try:
        with reconciler.lock(
            timeout=timedelta(seconds=config.lock_timeout_seconds),
            command=f"provision_fivetran run {context.run_id}",
            on_wait=waiting,
        ):
            fresh = reconciler.plan(prune=config.prune)
            if fresh != plan:
                context.log.info(f"the estate changed since the plan step: {fresh.summary()}")
            if fresh.is_empty:
                context.add_output_metadata({"dry_run": False, "applied": 0, "verified": True})
                return {"dry_run": False, "verified": True}
            fresh.raise_if_unsafe(allow_destructive=config.allow_destructive)
            report = reconciler.apply(fresh, prune=config.prune)
    except UnsafePlanError as exc:
        raise _failure(str(exc)) from None
    except (FivetranError, EstateError, AmbiguousIdentityError, StateError) as exc:
        raise _failure(f"apply failed: {exc}") from None
    counts = report.result.counts()
    metadata: dict[str, Any] = {
        "dry_run": False,
        "applied": dg.MetadataValue.int(counts["done"]),
        "failed": dg.MetadataValue.int(counts["failed"]),
        "skipped": dg.MetadataValue.int(counts["skipped"]),
        "verified": report.verified,
        "result": dg.MetadataValue.md(report.describe()),
    }
    if report.verification is not None and not report.verified:
        metadata["remaining"] = dg.MetadataValue.md(plan_markdown(report.verification))
    if not report.ok:
        failures = "\n".join(report.result.failures())
        raise _failure(f"{report.describe()}\n{failures}".strip(), **metadata)
    context.add_output_metadata(metadata)
    context.log.info(report.describe())
    return {"dry_run": False, "verified": True, "changed": True, **counts}


provision_fivetran = build_provisioning_job()


def run_config(
    config_path: str, *, dry_run: bool = False, prune: bool = False, job_prefix: str = ""
) -> dict[str, Any]:
    """The run config of `<job_prefix>provision_fivetran` for one config path."""
    return {
        "ops": {
            f"{job_prefix}fivetran_plan": {"config": {"config_path": config_path, "prune": prune}},
            f"{job_prefix}fivetran_apply": {
                "config": {"config_path": config_path, "prune": prune, "dry_run": dry_run}
            },
        }
    }


def config_files(path: Path) -> list[Path]:
    """The files the estate is loaded from: a file, or a folder's top-level *.yaml / *.yml."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def config_hash(path: Path) -> str:
    """A hash of the config's file names and contents (the sensor's cursor)."""
    digest = hashlib.sha256()
    for file in config_files(path):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def build_config_sensor(
    *,
    config_path: str | None = None,
    minimum_interval_seconds: int = 30,
    job: dg.JobDefinition = provision_fivetran,
    name: str = "fivetran_config_sensor",
    job_prefix: str = "",
) -> dg.SensorDefinition:
    """A sensor that requests `job` (provisioning) when the config's content changes."""

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Provision Fivetran when the files under config/ change (cursor: their hash).",
    )
    def fivetran_config_sensor(
        context: dg.SensorEvaluationContext,
    ) -> dg.SensorResult | dg.SkipReason:
        from fivetran_assets.estate import check_estate

        path = config_path or default_config_path()
        if not config_files(Path(path)):
            return dg.SkipReason(f"no config files at {path}")
        digest = config_hash(Path(path))
        if digest == context.cursor:
            return dg.SkipReason("config unchanged since the last provisioning request")
        _estate, problems = check_estate(path)
        if problems:
            shown = "\n".join(p.describe() for p in problems[:10])
            more = f"\n... and {len(problems) - 10} more" if len(problems) > 10 else ""
            return dg.SensorResult(
                skip_reason=dg.SkipReason(
                    f"config at {path} is invalid ({len(problems)} problem(s)); not provisioning "
                    f"until it is fixed:\n{shown}{more}"
                ),
                cursor=digest,
            )
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=digest, run_config=run_config(path, job_prefix=job_prefix))
            ],
            cursor=digest,
        )

    return fivetran_config_sensor


def build_state_refresh_job(
    refresh: Callable[[dg.OpExecutionContext, Any], str], *, job_prefix: str = ""
) -> dg.JobDefinition:
    """`<job_prefix>refresh_fivetran_state`: capture the estate's snapshot (read-only calls,
    `dbt parse`) and store it as the component's state through Dagster's defs state storage.
    The webhook sensor requests it when a schema changed; run it by hand after changes made
    outside this project. `refresh(context, client)` returns the stored version."""

    @dg.op(
        name=f"{job_prefix}fivetran_refresh_state",
        pool=PROVISIONING_POOL,
        tags={"kind": "fivetran"},
    )
    def refresh_op(context: dg.OpExecutionContext, fivetran: FivetranResource) -> None:
        try:
            version = refresh(context, fivetran.get_client())
        except Exception as exc:
            raise _failure(f"could not refresh the definitions' state: {exc}") from exc
        context.add_output_metadata({"state_version": version})
        context.log.info(f"state {version} stored: reload the code location to see it")

    @dg.job(
        name=f"{job_prefix}refresh_fivetran_state",
        description="Re-read what Fivetran captured and the dbt models into the definitions' "
        "state (then reload the code location).",
    )
    def refreshing() -> None:
        refresh_op()

    return refreshing


def provision_definitions(
    *,
    resources: Mapping[str, Any] | None = None,
    job_prefix: str = "",
    config_path: str | None = None,
    after_apply: AfterApply | None = None,
) -> dg.Definitions:
    """The provisioning job and sensor. The `fivetran` resource comes from the definitions they
    are merged into (binding it here too would clash); pass `resources` to use them alone."""
    job = (
        build_provisioning_job(
            job_prefix=job_prefix, default_config=config_path, after_apply=after_apply
        )
        if job_prefix or config_path or after_apply
        else provision_fivetran
    )
    return dg.Definitions(
        jobs=[job],
        sensors=[
            build_config_sensor(
                config_path=config_path,
                job=job,
                name=f"{job_prefix}fivetran_config_sensor",
                job_prefix=job_prefix,
            )
        ],
        resources=dict(resources or {}),
    )
