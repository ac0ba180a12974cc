"""The API calls behind each change: what apply does to create, update or delete one resource.

Secrets are resolved from their references here, at the last moment, sent, and fingerprinted;
they are never logged. Every create goes through `create_once` (re-read after an unclear
failure), every repeatable action through `retry_action`. Ids of resources created in this run
are shared through `ids` so a connection finds the group created a moment before.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from fivetran_assets.estate.references import Environment
from fivetran_assets.fivetran.client import FivetranClient
from fivetran_assets.fivetran.enums import DestinationSetupStatus, SetupState
from fivetran_assets.fivetran.errors import NotFoundError
from fivetran_assets.fivetran.models import Connection, Destination
from fivetran_assets.reconcile.creates import create_once, retry_action
from fivetran_assets.reconcile.desired import (
    ConnectionSpec,
    DestinationSpec,
    GroupSpec,
    ProjectSpec,
    TransformationSpec,
    WebhookSpec,
)
from fivetran_assets.reconcile.diff_context import ENV_VARS_PATH
from fivetran_assets.reconcile.fingerprints import FingerprintStore
from fivetran_assets.reconcile.plan import Change, Kind
from fivetran_assets.reconcile.selection import diff_selection, needs_capture
from fivetran_assets.reconcile.values import resolve_secrets, unflatten


class ApplyError(Exception):
    """A change could not be made; the message names the resource and why."""


def _changed(change: Change | None, prefix: str = "") -> dict[str, Any]:
    """Declared values of the plain fields an update changes (paths under `prefix`)."""
    if change is None:
        return {}
    return {
        f.path[len(prefix) :]: f.new
        for f in change.fields
        if not f.secret and f.path.startswith(prefix)
    }


def _secret_paths(change: Change, prefix: str = "") -> list[str]:
    """The secret leaves an update must send, relative to `prefix`."""
    return [f.path[len(prefix) :] for f in change.fields if f.secret and f.path.startswith(prefix)]


class Operations:
    def __init__(
        self,
        client: FivetranClient,
        environment: Environment,
        fingerprints: FingerprintStore,
        ids: dict[str, str],
    ) -> None:
        self.client = client
        self.environment = environment
        self.fingerprints = fingerprints
        self._ids = dict(ids)
        self._lock = threading.Lock()

    def id_of(self, key: str) -> str:
        with self._lock:
            found = self._ids.get(key)
        if found is None:
            raise ApplyError(f"{key} has no id: it was not created (see the failure above)")
        return found

    def known_ids(self) -> dict[str, str]:
        """Every live id known so far (`group:<name>`, `connection:<group>/<name>`, ...)."""
        with self._lock:
            return dict(self._ids)

    def _remember(self, key: str, value: str) -> None:
        with self._lock:
            self._ids[key] = value

    def _secrets(
        self, references: dict[str, str], paths: list[str] | None, where: str
    ) -> dict[str, str]:
        chosen = {p: r for p, r in references.items() if paths is None or p in paths}
        return resolve_secrets(chosen, self.environment, where=where) if chosen else {}

    # ------------------------------------------------------------------ groups, destinations

    def create_group(self, spec: GroupSpec) -> None:
        def find() -> Any:
            return next((g for g in self.client.list_groups() if g.name == spec.name), None)

        group = create_once(f"group {spec.name}", lambda: self.client.create_group(spec.name), find)
        self._remember(f"group:{spec.name}", group.id)

    def destination(self, change: Change) -> None:
        spec: DestinationSpec = change.desired
        group_id = self.id_of(f"group:{spec.group}")
        if change.replace:
            self.client.delete_destination(group_id)
            self.fingerprints.forget(group_id)
        if change.live_id is None or change.replace:
            secrets = self._secrets(dict(spec.secrets), None, spec.where)

            def find() -> Destination | None:
                try:
                    return self.client.get_destination(group_id)
                except NotFoundError:
                    return None

            destination = create_once(
                f"destination of {spec.group}",
                lambda: self.client.create_destination(
                    group_id,
                    spec.service,
                    region=spec.region,
                    time_zone_offset=spec.time_zone_offset,
                    config=unflatten({**spec.plain, **secrets}),
                    run_setup_tests=True,
                    trust_certificates=spec.trust_certificates,
                    trust_fingerprints=spec.trust_fingerprints,
                ),
                find,
            )
        else:
            secrets = self._secrets(
                dict(spec.secrets), _secret_paths(change, "config."), spec.where
            )
            config = {**_changed(change, "config."), **secrets}
            fields = _changed(change)
            destination = self.client.update_destination(
                group_id,
                region=fields.get("region"),
                time_zone_offset=fields.get("time_zone_offset"),
                config=unflatten(config) or None,
                run_setup_tests=True,
            )
        self.fingerprints.record(group_id, secrets)
        self._check_destination(destination, spec.group)

    def _check_destination(self, destination: Destination, group: str) -> None:
        if destination.setup_status == DestinationSetupStatus.CONNECTED:
            return
        tested = retry_action(
            f"setup tests of destination {group}",
            lambda: self.client.test_destination(destination.id),
        )
        if tested.setup_status != DestinationSetupStatus.CONNECTED:
            failures = "; ".join(
                f"{t.title}: {t.message}" for t in tested.setup_tests if not t.passed
            )
            reason = failures or tested.setup_status
            raise ApplyError(f"destination of group {group} failed its setup tests: {reason}")

    # ------------------------------------------------------------------------------ webhooks

    def webhook(self, change: Change) -> None:
        spec: WebhookSpec = change.desired
        group_id = self.id_of(f"group:{spec.group}")
        references = {"secret": spec.secret} if spec.secret else {}
        if change.live_id is None:
            secrets = self._secrets(references, None, spec.where)

            def find() -> Any:
                hooks = self.client.list_webhooks()
                return next(
                    (w for w in hooks if w.group_id == group_id and w.url == spec.url), None
                )

            hook = create_once(
                f"webhook {spec.url}",
                lambda: self.client.create_group_webhook(
                    group_id,
                    spec.url,
                    list(spec.events),
                    secret=secrets.get("secret"),
                    active=spec.active,
                ),
                find,
            )
        else:
            secrets = self._secrets(references, _secret_paths(change), spec.where)
            fields = _changed(change)
            hook = self.client.update_webhook(
                change.live_id,
                events=list(spec.events) if "events" in fields else None,
                active=fields.get("active"),
                secret=secrets.get("secret"),
            )
        self.fingerprints.record(hook.id, secrets)

    # --------------------------------------------------------------------------- connections

    @staticmethod
    def creates_connection(change: Change | None) -> bool:
        """Whether a connection change makes a new connection (a create, or a replacement)."""
        return change is not None and (change.existing is None or change.replace)

    def create_connection(self, change: Change) -> None:
        """Create a connection paused (deleting the one it replaces first); setup tests."""
        spec: ConnectionSpec = change.desired
        if change.replace and change.existing is not None:
            self.client.delete_connection(change.existing.id)
            self.fingerprints.forget(change.existing.id)
        self._create_connection(spec)

    def finish_connection(self, change: Change | None, schema: Change | None) -> None:
        """Update a connection, or finish a new one: schema selection, then unpause.

        Runs after `create_connection` for new connections (a separate task, so the workers that
        wait for the create budget are not the ones doing this).
        """
        main = change or schema
        assert main is not None
        spec: ConnectionSpec = main.desired
        created = self.creates_connection(change)
        connection_id = self.id_of(f"connection:{spec.group}/{spec.name}")
        existing: Connection | None = None if created else main.existing
        if change is not None and existing is not None:
            self._update_connection(change, spec, existing)
        if (created or schema is not None) and needs_capture(spec.selection):
            self._apply_selection(spec, connection_id, captured=not created)
        if not spec.paused and (created or (existing is not None and existing.paused)):
            self.client.update_connection(connection_id, paused=False)

    def _create_connection(self, spec: ConnectionSpec) -> Connection:
        group_id = self.id_of(f"group:{spec.group}")
        secrets = self._secrets(dict(spec.secrets), None, spec.where)
        config = unflatten({**spec.plain, **secrets, "schema_prefix": spec.name})

        def find() -> Connection | None:
            return next(
                iter(self.client.list_connections(group_id=group_id, schema=spec.name)), None
            )

        connection = create_once(
            f"connection {spec.group}/{spec.name}",
            lambda: self.client.create_connection(
                group_id,
                spec.service,
                config=config,
                paused=True,
                sync_frequency=spec.sync_frequency,
                daily_sync_time=spec.daily_sync_time,
                schedule_type=spec.schedule_type,
                run_setup_tests=True,
            ),
            find,
        )
        self._remember(f"connection:{spec.group}/{spec.name}", connection.id)
        self.fingerprints.record(connection.id, secrets)
        if connection.status.setup_state != SetupState.CONNECTED:
            connection = retry_action(
                f"setup tests of {spec.group}/{spec.name}",
                lambda: self.client.test_connection(connection.id),
            )
            if connection.status.setup_state != SetupState.CONNECTED:
                failures = "; ".join(
                    f"{t.title}: {t.message}" for t in connection.setup_tests if not t.passed
                )
                raise ApplyError(
                    f"connection {spec.group}/{spec.name} failed its setup tests: "
                    f"{failures or connection.status.setup_state}"
                )
        return connection

    def _update_connection(
        self, change: Change, spec: ConnectionSpec, existing: Connection
    ) -> None:
        secrets = self._secrets(dict(spec.secrets), _secret_paths(change, "config."), spec.where)
        fields = _changed(change)
        config = {**_changed(change, "config."), **secrets}
        paused = True if fields.get("paused") is True else None
        if (
            config
            or paused
            or any(k in fields for k in ("sync_frequency", "daily_sync_time", "schedule_type"))
        ):
            self.client.update_connection(
                existing.id,
                config=unflatten(config) or None,
                paused=paused,
                sync_frequency=fields.get("sync_frequency"),
                daily_sync_time=fields.get("daily_sync_time"),
                schedule_type=fields.get("schedule_type"),
            )
        self.fingerprints.record(existing.id, secrets)

    def _apply_selection(self, spec: ConnectionSpec, connection_id: str, *, captured: bool) -> None:
        """Capture the source schema if needed, then patch the declared selection in one call.

        A connection created a moment ago has no captured schema yet, so it is reloaded without
        first asking (the GET would be a certain 404).
        """
        current = self.client.get_schema_config(connection_id) if captured else None
        if current is None:
            current = retry_action(
                f"schema capture of {spec.group}/{spec.name}",
                lambda: self.client.reload_schema_config(connection_id),
            )
        result = diff_selection(spec.selection, current)
        if not result.empty:
            self.client.update_schema_config(connection_id, **result.patch())

    # ----------------------------------------------------------------------- transformations

    def project(self, change: Change) -> None:
        spec: ProjectSpec = change.desired
        group_id = self.id_of(f"group:{spec.group}")
        references = {ENV_VARS_PATH: "\n".join(spec.env_vars)} if spec.env_vars_secret else {}
        if change.live_id is None:
            secrets = self._secrets(references, None, spec.where)
            config = dict(spec.project_config)
            if spec.env_vars:
                config["environment_vars"] = self._env_vars(spec, secrets)

            def find() -> Any:
                projects = self.client.list_transformation_projects()
                return next((p for p in projects if p.group_id == group_id), None)

            project = create_once(
                f"transformation project of {spec.group}",
                lambda: self.client.create_transformation_project(
                    group_id, config, run_tests=spec.run_tests
                ),
                find,
            )
        else:
            secrets = self._secrets(references, _secret_paths(change), spec.where)
            config = _changed(change, "project_config.")
            if secrets or "environment_vars" in config:
                config["environment_vars"] = self._env_vars(spec, secrets)
            project = self.client.update_transformation_project(
                change.live_id, project_config=config
            )
        self._remember(f"project:{spec.group}", project.id)
        self.fingerprints.record(project.id, secrets)

    @staticmethod
    def _env_vars(spec: ProjectSpec, secrets: dict[str, str]) -> list[str]:
        text = secrets.get(ENV_VARS_PATH)
        return text.split("\n") if text is not None else list(spec.env_vars)

    def _api_schedule(self, spec: TransformationSpec) -> dict[str, Any]:
        schedule = {k: v for k, v in spec.schedule.items() if k != "connections" and v is not None}
        if "connections" in spec.schedule:
            schedule["connection_ids"] = [
                self.id_of(f"connection:{spec.group}/{name}")
                for name in spec.schedule["connections"]
            ]
        return schedule

    def transformation(self, change: Change) -> None:
        spec: TransformationSpec = change.desired
        project_id = self.id_of(f"project:{spec.group}")
        config = {
            "project_id": project_id,
            "name": spec.name,
            "steps": [{"name": n, "command": c} for n, c in spec.steps],
        }
        if change.live_id is None:

            def find() -> Any:
                found = self.client.list_transformations(project_id=project_id)
                return next((t for t in found if t.name == spec.name), None)

            create_once(
                f"transformation {spec.group}/{spec.name}",
                lambda: self.client.create_transformation(
                    config, self._api_schedule(spec), paused=spec.paused
                ),
                find,
            )
            return
        paths = {f.path for f in change.fields}
        self.client.update_transformation(
            change.live_id,
            paused=spec.paused if "paused" in paths else None,
            schedule=self._api_schedule(spec)
            if any(p.startswith("schedule.") for p in paths)
            else None,
            transformation_config=config if "steps" in paths else None,
        )

    # --------------------------------------------------------------------------------- deletes

    def delete(self, change: Change) -> None:
        assert change.live_id is not None
        delete = {
            Kind.WEBHOOK: self.client.delete_webhook,
            Kind.CONNECTION: self.client.delete_connection,
            Kind.TRANSFORMATION_PROJECT: self.client.delete_transformation_project,
            Kind.TRANSFORMATION: self.client.delete_transformation,
            Kind.DESTINATION: self.client.delete_destination,
            Kind.GROUP: self.client.delete_group,
        }[change.kind]
        with contextlib.suppress(NotFoundError):
            delete(change.live_id)
        self.fingerprints.forget(change.live_id)
