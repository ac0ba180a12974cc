"""What a dbt Core transformation run did, read from its `dbt_run_succeeded` / `dbt_run_failed`
event: the only place Fivetran reports a run's details.

The REST API's transformation resource holds a status, start and end times and
`output_model_names`; the dbt run events (webhooks, and the same events in Fivetran's logs) add
per step the command, its exit code and dbt's console output. dbt prints one result line per node
(`3 of 8 OK created sql table model analytics.x ..... [OK in 0.2s]`, `5 of 5 FAIL 50
unique_x ..... [FAIL 50 in 0.02s]`, `SKIP relation`, `ERROR creating`, `PASS`, `WARN n`) and a
block per failure (`Failure in model x (path)` followed by dbt's message): `parse_output` turns
that into `NodeResult`s. Model names are the last part of the relation dbt printed (the alias, as
the asset snapshot names models); tests go by their node name. No Dagster import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

_STAMP = re.compile(r"^\d\d:\d\d:\d\d(?:\.\d+)?\s{1,2}")
_RESULT = re.compile(
    r"^\d+ of \d+ (?P<text>.+?) \.+ \[(?P<bracket>[^\]]*)\]\s*$",
)
_DURATION = re.compile(r"in (\d+(?:\.\d+)?)s")
_FAILURE = re.compile(
    r"^(?:Failure|(?:[A-Z][a-z]+ )?Error|Warning) in (?P<kind>model|test|seed|snapshot|unit_test)"
    r" (?P<name>\S+)"
)
_END_OF_BLOCK = ("compiled code at", "Done. PASS=", "Completed with", "Finished running")
MAX_MESSAGE_LINES = 12

SUCCESS = "success"
ERROR = "error"
SKIPPED = "skipped"
PASS = "pass"
FAIL = "fail"
WARN = "warn"
FAILED = frozenset({ERROR, FAIL})


@dataclass(frozen=True)
class NodeResult:
    """One node's outcome in a step: a model (seed, snapshot) built or not, a test's verdict."""

    name: str
    kind: str  # model | test | seed | snapshot
    status: str  # success | error | skipped | pass | fail | warn
    duration_seconds: float | None = None
    message: str | None = None  # dbt's message when it failed

    @property
    def failed(self) -> bool:
        return self.status in FAILED


def _node(text: str, bracket: str) -> NodeResult | None:
    words = text.split()
    duration = _DURATION.search(bracket)
    seconds = float(duration.group(1)) if duration else None
    last = words[-1].rsplit(".", 1)[-1]
    head = words[0]
    if head == "OK" and len(words) > 2:
        kind = next((k for k in ("seed", "snapshot") if k in words), "model")
        return NodeResult(last, kind, SUCCESS, seconds)
    if head == "ERROR" and len(words) > 1 and words[1] == "creating":
        return NodeResult(last, "model", ERROR, seconds)
    if head == "SKIP":
        kind = "model" if len(words) > 1 and words[1] == "relation" else "test"
        return NodeResult(last, kind, SKIPPED, seconds)
    verdicts = {"PASS": PASS, "FAIL": FAIL, "WARN": WARN, "ERROR": ERROR}
    if head in verdicts:
        return NodeResult(last, "test", verdicts[head], seconds)
    return None


def parse_output(output: str) -> list[NodeResult]:
    """Node results of one dbt command's console output, with failure messages attached."""
    nodes: dict[tuple[str, str], NodeResult] = {}
    messages: dict[tuple[str, str], list[str]] = {}
    block: tuple[str, str] | None = None
    for raw in output.splitlines():
        stamped = _STAMP.match(raw) is not None
        line = _STAMP.sub("", raw)
        text = line.strip()
        if stamped and not text:
            block = None
            continue
        result = _RESULT.match(text)
        if result and not result.group("text").startswith("START "):
            node = _node(result.group("text"), result.group("bracket"))
            if node is not None:
                nodes[(node.kind, node.name)] = node
            continue
        failure = _FAILURE.match(text)
        if failure:
            kind = "test" if failure.group("kind") in ("test", "unit_test") else "model"
            block = (kind, failure.group("name"))
            messages.setdefault(block, [])
            continue
        if block is None or not text:
            continue
        if text.startswith(_END_OF_BLOCK):
            block = None
            continue
        if len(messages[block]) < MAX_MESSAGE_LINES and set(text) != {"^"}:
            messages[block].append(text)
    out = []
    for node in nodes.values():
        lines = messages.get(("test" if node.kind == "test" else "model", node.name))
        out.append(replace(node, message="\n".join(lines)) if lines else node)
    return out


@dataclass(frozen=True)
class StepResult:
    name: str
    command: str
    success: bool
    exit_code: int | None
    error: str
    started_at: datetime | None
    ended_at: datetime | None
    nodes: tuple[NodeResult, ...] = ()

    @property
    def runs_tests(self) -> bool:
        """A `dbt test` or `dbt build` step: its outcome is the models' tests."""
        words = self.command.split()
        return len(words) > 1 and words[1] in ("test", "build")


@dataclass(frozen=True)
class DbtRun:
    """A finished run of a dbt Core transformation, as its end event reports it."""

    transformation_id: str | None
    run_id: str | None
    succeeded: bool
    started_at: datetime | None
    ended_at: datetime | None
    steps: tuple[StepResult, ...] = field(default_factory=tuple)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.started_at).total_seconds())

    def models(self) -> dict[str, NodeResult]:
        """Each model's latest outcome in the run (seeds and snapshots included)."""
        return {n.name: n for s in self.steps for n in s.nodes if n.kind != "test"}

    def tests(self) -> dict[str, NodeResult]:
        """Each test's latest verdict in the run."""
        return {n.name: n for s in self.steps for n in s.nodes if n.kind == "test"}

    @property
    def ran_tests(self) -> bool:
        return any(s.runs_tests and s.exit_code is not None for s in self.steps)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> DbtRun | None:
        """The run of a `dbt_run_succeeded` / `dbt_run_failed` body; None for other events or a
        body without step results."""
        if payload.get("event") not in ("dbt_run_succeeded", "dbt_run_failed"):
            return None
        data = payload.get("data")
        result = data.get("result") if isinstance(data, Mapping) else None
        steps = result.get("stepResults") if isinstance(result, Mapping) else None
        if not isinstance(data, Mapping) or not isinstance(steps, list):
            return None
        details = data.get("startupDetails")
        job = details.get("jobId") if isinstance(details, Mapping) else None
        return cls(
            transformation_id=_text(data.get("dbtJobId")),
            run_id=_text(job),
            succeeded=payload.get("event") == "dbt_run_succeeded",
            started_at=_time(data.get("startTime")),
            ended_at=_time(data.get("endTime")),
            steps=tuple(_step(s) for s in steps if isinstance(s, Mapping)),
        )


def _step(step: Mapping[str, Any]) -> StepResult:
    spec = step.get("step") if isinstance(step.get("step"), Mapping) else {}
    argv = spec.get("processBuilderCommand")
    command = " ".join(str(a) for a in argv) if isinstance(argv, list) else ""
    result = step.get("commandResult") if isinstance(step.get("commandResult"), Mapping) else {}
    code = result.get("exitCode")
    output = result.get("output")
    return StepResult(
        name=_text(spec.get("name")) or "",
        command=command,
        success=step.get("success") is True,
        exit_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        error=_text(result.get("error")) or "",
        started_at=_time(step.get("startTime")),
        ended_at=_time(step.get("endTime")),
        nodes=tuple(parse_output(output)) if isinstance(output, str) else (),
    )


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
