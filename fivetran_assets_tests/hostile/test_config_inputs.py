"""Hostile config files through `fivetran-assets validate` and `plan`: each ends in one clear
message naming the file (exit 1), never a traceback, in bounded time and memory.

For the figures a config case counts as "4xx with a clear message" when the command exits 1
and its output names the file and says what is wrong; an exit with a traceback counts as 5xx.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fivetran_assets.cli import main
from fivetran_assets.estate.source import MAX_FILE_BYTES
from fivetran_assets_tests.hostile.tally import is_traceback

VALID_GROUP = "groups:\n  - name: g\n    destination: {service: duckdb}\n"
CRON_BANANA = """\
    transformation_project: {git_remote_url: ., default_schema: a}
    transformations:
      - {name: t, steps: [dbt run], schedule: {mode: independent, cron: "99 * * * banana"}}
"""


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\ngroups: *a{levels - 1}\n"


CASES: list[tuple[str, bytes, str]] = [
    # (label, file content, what the message must say)
    ("alias bomb (9 levels)", _laughs(9).encode(), "alias"),
    ("recursive alias", b"groups: &g [ *g ]\n", "refers to itself"),
    ("recursive mapping alias", b"groups:\n  - &x\n    name: g\n    destination: *x\n", "itself"),
    ("alias bomb as a key", _laughs(6).replace("groups:", "? *a5\n: 1\ngroups:").encode(), "alias"),
    ("undefined alias", b"groups: *nowhere\n", "undefined alias"),
    ("binary", bytes(range(256)) * 4, "not UTF-8"),
    ("latin-1", "groups:\n  - name: caf\u00e9\n".encode("latin-1"), "byte offset 21"),
    ("UTF-16", VALID_GROUP.encode("utf-16"), "not UTF-8"),
    ("NUL byte", b"groups: \x00\n", "control characters"),
    ("oversize", b"# padding\n" * (MAX_FILE_BYTES // 10 + 1), "at most"),
    ("nested 100 deep", b"groups: " + b"[" * 100 + b"]" * 100 + b"\n", "nested deeper"),
    ("nested 2000 deep", b"groups: " + b"[" * 2000 + b"]" * 2000 + b"\n", "nesting depth"),
    ("python tag", b"groups: !!python/object:os.system [ls]\n", "unsupported YAML tag"),
    ("unclosed flow", b"groups: [\n  {name: g\n", "YAML syntax error"),
    ("tab indent", b"groups:\n\t- name: g\n", "YAML syntax error"),
    ("top level list", b"- a\n- b\n", "top level"),
    ("empty file", b"", "no groups"),
    ("only comments", b"# nothing here\n", "no groups"),
    ("groups a string", b"groups: banana\n", "must be a list"),
    ("cron banana", (VALID_GROUP + CRON_BANANA).encode(), "invalid cron minute field '99'"),
    ("ftp base_url", b"account: {base_url: 'ftp://x'}\n" + VALID_GROUP.encode(), "https://"),
    (
        "huge integer",
        b"account: {concurrency: " + b"9" * 5000 + b"}\n" + VALID_GROUP.encode(),
        "digits",
    ),
]


@pytest.mark.timeout(120)
def test_hostile_config_files_get_one_clear_message(tmp_path: Path, make_tally) -> None:
    tally = make_tally("config files (validate, plan)")
    runner = CliRunner()
    slowest = 0.0
    for index, (label, content, says) in enumerate(CASES):
        file = tmp_path / f"case{index}.yaml"
        file.write_bytes(content)
        for command in (["validate", str(file)], ["plan", "--config", str(file)]):
            started = time.monotonic()
            result = runner.invoke(main, command, env={"FIVETRAN_API_KEY": "k"})
            slowest = max(slowest, time.monotonic() - started)
            output = result.output + (result.stderr if result.stderr_bytes else "")
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                output += "Traceback (most recent call last)"  # what the user would have seen
            status = 400 if result.exit_code == 1 else 500
            if is_traceback(output):
                status = 500
            tally.record(f"{label} ({command[0]})", status, output, names=(file.name, says))
    tally.assert_clean()
    assert slowest < 30, f"a hostile config took {slowest:.1f} s"
