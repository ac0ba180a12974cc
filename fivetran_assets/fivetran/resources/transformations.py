"""Transformation projects (a group's dbt Core project) and transformations (runs of its steps)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from fivetran_assets.fivetran.enums import TransformationType
from fivetran_assets.fivetran.resources.base import ResourceBase, body_of, seg
from fivetran_assets.fivetran.transformations import Transformation, TransformationProject

PROJECT_TEST_TIMEOUT = (10.0, 300.0)
"""Testing a project clones its repository and compiles it."""


class TransformationsMixin(ResourceBase):
    def create_transformation_project(
        self,
        group_id: str,
        project_config: Mapping[str, Any],
        *,
        type: TransformationType | str = TransformationType.DBT_CORE,
        run_tests: bool | None = None,
    ) -> TransformationProject:
        """`POST /v1/transformation-projects`: one dbt Core project per group."""
        body = body_of(
            None, group_id=group_id, type=type, run_tests=run_tests, project_config=project_config
        )
        data = self._http.data("POST", "/v1/transformation-projects", body=body)
        return TransformationProject.from_api(data)

    def list_transformation_projects(self) -> Iterator[TransformationProject]:
        """`GET /v1/transformation-projects`, every page.

        List items may carry only the summary fields; `get_transformation_project` has the rest.
        """
        items = self._http.paginate("/v1/transformation-projects")
        return (TransformationProject.from_api(item) for item in items)

    def get_transformation_project(self, project_id: str) -> TransformationProject:
        """`GET /v1/transformation-projects/{projectId}`."""
        path = f"/v1/transformation-projects/{seg(project_id)}"
        return TransformationProject.from_api(self._http.data("GET", path))

    def update_transformation_project(
        self,
        project_id: str,
        *,
        project_config: Mapping[str, Any] | None = None,
        run_tests: bool | None = None,
    ) -> TransformationProject:
        """`PATCH /v1/transformation-projects/{projectId}`."""
        body = body_of(None, project_config=project_config, run_tests=run_tests)
        path = f"/v1/transformation-projects/{seg(project_id)}"
        return TransformationProject.from_api(self._http.data("PATCH", path, body=body))

    def delete_transformation_project(self, project_id: str) -> None:
        """`DELETE /v1/transformation-projects/{projectId}`."""
        self._http.request("DELETE", f"/v1/transformation-projects/{seg(project_id)}")

    def test_transformation_project(self, project_id: str) -> TransformationProject:
        """`POST /v1/transformation-projects/{projectId}/test`: clone, compile, report errors."""
        path = f"/v1/transformation-projects/{seg(project_id)}/test"
        data = self._http.data("POST", path, timeout=PROJECT_TEST_TIMEOUT)
        return TransformationProject.from_api(data)

    def create_transformation(
        self,
        transformation_config: Mapping[str, Any],
        schedule: Mapping[str, Any],
        *,
        type: TransformationType | str = TransformationType.DBT_CORE,
        paused: bool | None = None,
    ) -> Transformation:
        """`POST /v1/transformations`.

        For DBT_CORE, `transformation_config` is `{project_id, name, steps: [{name, command}]}`
        and `schedule` is `{schedule_type, connection_ids | interval | time_of_day | cron, ...}`.
        """
        body = body_of(
            None,
            type=type,
            paused=paused,
            schedule=schedule,
            transformation_config=transformation_config,
        )
        return Transformation.from_api(self._http.data("POST", "/v1/transformations", body=body))

    def list_transformations(
        self,
        *,
        group_id: str | None = None,
        project_id: str | None = None,
        type: TransformationType | str | None = None,
    ) -> Iterator[Transformation]:
        """`GET /v1/transformations?group_id=&project_id=&type=`, every page."""
        params = {"group_id": group_id, "project_id": project_id, "type": type}
        items = self._http.paginate("/v1/transformations", params=params)
        return (Transformation.from_api(item) for item in items)

    def get_transformation(self, transformation_id: str) -> Transformation:
        """`GET /v1/transformations/{transformationId}`: status and last run times (polled)."""
        path = f"/v1/transformations/{seg(transformation_id)}"
        return Transformation.from_api(self._http.data("GET", path))

    def update_transformation(
        self,
        transformation_id: str,
        *,
        paused: bool | None = None,
        schedule: Mapping[str, Any] | None = None,
        transformation_config: Mapping[str, Any] | None = None,
    ) -> Transformation:
        """`PATCH /v1/transformations/{transformationId}`."""
        body = body_of(
            None, paused=paused, schedule=schedule, transformation_config=transformation_config
        )
        if not body:
            raise ValueError("update_transformation needs at least one field to change")
        path = f"/v1/transformations/{seg(transformation_id)}"
        return Transformation.from_api(self._http.data("PATCH", path, body=body))

    def delete_transformation(self, transformation_id: str) -> None:
        """`DELETE /v1/transformations/{transformationId}`."""
        self._http.request("DELETE", f"/v1/transformations/{seg(transformation_id)}")

    def run_transformation(self, transformation_id: str, *, full_refresh: bool = False) -> None:
        """`POST /v1/transformations/{transformationId}/run`; poll `get_transformation` after."""
        path = f"/v1/transformations/{seg(transformation_id)}/run"
        self._http.request("POST", path, body={"full_refresh": full_refresh})

    def cancel_transformation(self, transformation_id: str) -> None:
        """`POST /v1/transformations/{transformationId}/cancel`."""
        self._http.request("POST", f"/v1/transformations/{seg(transformation_id)}/cancel")
