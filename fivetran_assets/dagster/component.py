"""`FivetranEstateComponent`: the estate as a Dagster component that drops into any `dg` project.

    # defs/fivetran/defs.yaml
    type: fivetran_assets.FivetranEstateComponent
    attributes:
      config: config                  # the estate: a file or folder, relative to the project
      key_prefix: [fivetran]          # optional, before every key
      job_prefix: estate_             # optional, before every job, schedule and sensor name
      webhooks: sqlite:///.state/webhooks.sqlite   # the receiver's event log, or "off"
      automation: true                # schedules, automation conditions and their sensor
      translation:                    # Dagster's asset attributes, templated with props/spec
        tags: {team: "{{ props.group }}"}
        key_shape: ecosystem          # or group_schema_table (the first release's keys)

Its state is the snapshot (captured tables, warehouse column types, dbt models):
`write_state_to_path` captures it with read-only API calls and `dbt parse`;
`build_defs_from_state` builds every asset, job, schedule and sensor from it and the config files
with no API call. State lives where `defs_state` says: Dagster's versioned state storage by
default (the instance's `defs_state_storage`: a folder under DAGSTER_HOME locally, S3 or GCS in
a deployment), or `LOCAL_FILESYSTEM` (baked into an image by `dg utils refresh-defs-state`).
`dg utils refresh-defs-state` refreshes it; so do `fivetran-assets apply` and the
`provision_fivetran` job after a change, and the `refresh_fivetran_state` job, which the webhook
sensor requests when it sees a schema change: a refresh is always a process that writes through
the state storage, never a file another process reads. A code location shows new state once it
reloads (the UI's Reload, or a restart).
"""

import asyncio
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any, Self

import dagster as dg
from dagster._core.storage.defs_state.base import DefsStateStorage
from dagster.components import ComponentLoadContext, ResolutionContext, Resolver
from dagster.components.resolved.core_models import AssetAttributesModel
from dagster.components.utils.defs_state import (
    DefsStateConfig,
    DefsStateConfigArgs,
    ResolvedDefsStateConfig,
)
from dagster.components.utils.translation import TranslatorResolvingInfo
from dagster_shared.serdes.objects.models.defs_state_info import DefsStateManagementType
from dagster_shared.yaml_utils.source_position import SourcePosition
from pydantic import Field

from fivetran_assets.dagster.translator import (
    AssetProps,
    FivetranEstateTranslator,
    KeyShape,
    SpecHook,
)
from fivetran_assets.fivetran.client import FivetranClient

CONFIG_ENV = "FIVETRAN_ASSETS_CONFIG"
# A client the state capture uses instead of building one from the estate's account section:
# the provisioning op hands over the one its resource built (same URL, budget, credentials).
_CAPTURE_CLIENT: ContextVar[FivetranClient | None] = ContextVar(
    "fivetran_capture_client", default=None
)


class EstateTranslationArgs(AssetAttributesModel):
    """`translation:` in defs.yaml: Dagster's asset attributes (key, key_prefix, group_name,
    tags, kinds, metadata, owners...), templated with `props` (the table's or model's props) and
    `spec` (the translator's spec), and the shape of default keys."""

    key_shape: KeyShape = Field(
        KeyShape.ECOSYSTEM,
        description="ecosystem: [destination_schema, table] and dagster-dbt's model keys; "
        "group_schema_table: the first release's [group, schema, table].",
    )


@dataclass(frozen=True)
class EstateTranslation:
    """The resolved `translation`: the key shape, and the attributes to lay over each spec."""

    key_shape: KeyShape = KeyShape.ECOSYSTEM
    attributes: TranslatorResolvingInfo | None = None

    def apply(self, spec: dg.AssetSpec, props: AssetProps) -> dg.AssetSpec:
        if self.attributes is None:
            return spec
        return self.attributes.get_asset_spec(spec, {"props": props, "spec": spec})


def _resolve_translation(context: ResolutionContext, model: Any) -> EstateTranslation:
    args = model if isinstance(model, EstateTranslationArgs) else EstateTranslationArgs(**model)
    attributes = args.model_dump(exclude_unset=True, exclude={"key_shape"})
    return EstateTranslation(
        key_shape=args.key_shape,
        attributes=TranslatorResolvingInfo(
            asset_attributes=AssetAttributesModel(**attributes),
            resolution_context=context,
            model_key="translation",
        )
        if attributes
        else None,
    )


@dataclass
class FivetranEstateComponent(dg.StateBackedComponent, dg.Resolvable):
    """A Fivetran estate as code: its connections' tables and its dbt models as assets, the
    jobs, schedules and sensors that sync, transform and provision it (see the module doc).

    Attributes: `config` (the estate file or folder, relative to the project root; default
    $FIVETRAN_ASSETS_CONFIG, else `config`),
    `translation`, `key_prefix` (before every key), `job_prefix` (before every job, schedule
    and sensor name), `webhooks` (the receiver's event log: a sqlite:/// or postgresql:// URL,
    a path, or `off`; default $FIVETRAN_ASSETS_EVENT_LOG, else the project's state folder when
    a group declares an active webhook), `automation` (schedules, automation conditions and
    their sensor), `defs_state` (where the state lives).
    """

    config: str | None = None
    translation: Annotated[
        EstateTranslation | None,
        Resolver(
            _resolve_translation,
            model_field_type=EstateTranslationArgs,
            inject_before_resolve=False,
        ),
    ] = None
    key_prefix: str | list[str] | None = None
    job_prefix: str | None = None
    webhooks: str | None = None
    automation: bool = True
    defs_state: ResolvedDefsStateConfig = field(
        default_factory=lambda: DefsStateConfigArgs(
            management_type=DefsStateManagementType.VERSIONED_STATE_STORAGE,
            refresh_if_dev=False,
        )
    )

    @classmethod
    def load(cls, attributes: Any, context: ComponentLoadContext) -> Self:
        component = super().load(attributes, context)
        # write_state_to_path gets no context: remember where the project is
        object.__setattr__(component, "_project_root", context.project_root)
        return component

    @classmethod
    def get_code_references_for_yaml(
        cls, yaml_path: Path, source_position: SourcePosition, context: ComponentLoadContext
    ) -> Sequence[dg.LocalFileCodeReference]:
        """Dagster's reference to our defs.yaml line, as its default builds it, but built once:
        Dagster asks again for every asset and check (tens of thousands in a large estate)."""
        return _yaml_reference(str(yaml_path), source_position.start.line)

    # -- where things are ----------------------------------------------------------------

    @property
    def project_root(self) -> Path:
        root: Path | None = getattr(self, "_project_root", None)
        return root or Path.cwd()

    @property
    def config_path(self) -> Path:
        """`config`, else `$FIVETRAN_ASSETS_CONFIG`, else `config/`; relative to the project."""
        path = Path(self.config or os.environ.get(CONFIG_ENV) or "config")
        return path if path.is_absolute() else self.project_root / path

    @property
    def prefixes(self) -> tuple[tuple[str, ...], str]:
        keys = [self.key_prefix] if isinstance(self.key_prefix, str) else self.key_prefix or []
        return tuple(keys), self.job_prefix or ""

    @property
    def defs_state_config(self) -> DefsStateConfig:
        scope = self.job_prefix or self.config
        name = f"FivetranEstateComponent[{scope}]" if scope else "FivetranEstateComponent"
        return DefsStateConfig.from_args(self.defs_state, default_key=name)

    # -- translation ----------------------------------------------------------------------

    @cached_property
    def translator(self) -> FivetranEstateTranslator:
        """Override in a subclass to use your own `FivetranEstateTranslator`."""
        shape = self.translation.key_shape if self.translation else KeyShape.ECOSYSTEM
        return FivetranEstateTranslator(key_shape=shape)

    def spec_hook(self) -> SpecHook | None:
        """The `translation` attributes, then `key_prefix`, laid over each translated spec."""
        translation, (prefix, _) = self.translation, self.prefixes
        if (translation is None or translation.attributes is None) and not prefix:
            return None

        def hook(spec: dg.AssetSpec, props: AssetProps) -> dg.AssetSpec:
            if translation is not None:
                spec = translation.apply(spec, props)
            return (
                spec.replace_attributes(key=spec.key.with_prefix(list(prefix))) if prefix else spec
            )

        return hook

    # -- state ----------------------------------------------------------------------------

    def write_state_to_path(self, state_path: Path) -> None:
        """Capture the snapshot: read-only API calls, warehouse column types, `dbt parse`."""
        from fivetran_assets.estate import load_estate
        from fivetran_assets.estate.connect import client_for
        from fivetran_assets.snapshot.store import write_snapshot

        estate = load_estate(self.config_path)
        client = _CAPTURE_CLIENT.get() or client_for(estate)
        write_snapshot(client, estate, state_path)

    def build_defs(self, context: ComponentLoadContext) -> dg.Definitions:
        """Versioned state, read where Dagster alone would not find it:

        - no state storage in scope (a plain import, no instance): build from no state, as
          before any refresh, rather than fail;
        - no version pinned for this key (a step process of `dagster job execute`, whose parent
          loaded the definitions without recording the version it read): the latest stored
          version, which is what the parent read unless a refresh landed in between.
        """
        from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext
        from dagster._core.storage.defs_state.base import DefsStateStorage

        config = self.defs_state_config
        if config.management_type == DefsStateManagementType.VERSIONED_STATE_STORAGE:
            storage = DefsStateStorage.get()
            if storage is None:
                return self.build_defs_from_state(context, None)
            load = DefinitionsLoadContext.get()
            if load.get_defs_key_state_info(config.key) is None:
                latest = storage.get_latest_version(config.key)
                if latest is not None:
                    load.add_defs_state_info(config.key, latest)
        return super().build_defs(context)

    def build_defs_from_state(
        self, context: ComponentLoadContext, state_path: Path | None
    ) -> dg.Definitions:
        from fivetran_assets.dagster.component_defs import estate_definitions

        return estate_definitions(self, state_path)

    @contextmanager
    def capture_client(self, client: FivetranClient) -> Iterator[None]:
        """Within this block, state captures use `client` (see `_CAPTURE_CLIENT`)."""
        token = _CAPTURE_CLIENT.set(client)
        try:
            yield
        finally:
            _CAPTURE_CLIENT.reset(token)

    def refresh_with(self, client: FivetranClient, storage: DefsStateStorage | None) -> str:
        """Capture the state with `client` and store it in `storage` (the instance's
        `defs_state_storage`); returns the stored version."""
        from dagster._core.storage.defs_state.base import set_defs_state_storage

        with set_defs_state_storage(storage), self.capture_client(client):
            return asyncio.run(self.refresh_state(self.project_root))


@cache
def _yaml_reference(path: str, line: int) -> tuple[dg.LocalFileCodeReference, ...]:
    return (dg.LocalFileCodeReference(file_path=path, line_number=line),)


def refresh_project_state(config: Path, root: Path, client: FivetranClient) -> list[str]:
    """Refresh, with `client`, the state of every FivetranEstateComponent of the `dg` project at
    `root` whose estate is `config` (what `fivetran-assets apply` does after a change). Returns
    what to tell the user; a project without one, or versioned state without a Dagster
    instance (DAGSTER_HOME), is said, not fatal: the estate itself has converged."""
    from dagster.components.core.component_tree import ComponentTree

    pyproject = root / "pyproject.toml"
    if not pyproject.is_file() or "[tool.dg" not in pyproject.read_text(encoding="utf-8"):
        return _snapshot_file(config, client, f"{root} is not a dg project")
    tree = ComponentTree.for_project(root)
    wanted = config.resolve() if config.is_absolute() else (Path.cwd() / config).resolve()
    components = [
        c
        for c in tree.get_all_components(of_type=FivetranEstateComponent)
        if c.config_path.resolve() == wanted
    ]
    if not components:
        return _snapshot_file(config, client, f"no FivetranEstateComponent over {config} in {root}")
    versioned = DefsStateManagementType.VERSIONED_STATE_STORAGE
    if not os.environ.get("DAGSTER_HOME") and any(
        c.defs_state_config.management_type == versioned for c in components
    ):
        return [
            "component state not refreshed: set DAGSTER_HOME to the instance whose state "
            "storage the code location reads, or run `dg utils refresh-defs-state`"
        ]
    lines = []
    home = os.environ.get("DAGSTER_HOME")
    with dg.DagsterInstance.get() if home else dg.DagsterInstance.ephemeral() as instance:
        for component in components:
            version = component.refresh_with(client, instance.defs_state_storage)
            key = component.defs_state_config.key
            lines.append(f"state of {key} refreshed ({version}): reload the code location")
    return lines


def _snapshot_file(config: Path, client: FivetranClient, why: str) -> list[str]:
    """No component to refresh: write the snapshot file `load_fivetran_definitions` reads."""
    from fivetran_assets.estate import load_estate
    from fivetran_assets.reconcile.service import write_snapshot_if_available
    from fivetran_assets.snapshot.store import default_snapshot_path

    estate = load_estate(config)
    if not write_snapshot_if_available(estate, client):
        return [f"{why}; the snapshot file was not written (see the warning above)"]
    return [f"{why}: snapshot written to {default_snapshot_path(estate.root)}"]
