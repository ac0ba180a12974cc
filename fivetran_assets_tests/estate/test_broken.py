"""A corpus of broken configs: each must fail with a problem naming the right key path and line.

Each file under `broken/` says what it expects in header comments:
`# expect-path:` (the rendered key path; empty for file-level problems), `# expect-message:`
(a substring of the message), optionally `# expect-expected:` (a substring of what was expected),
`# expect-related:` (a substring of a related location) and `# expect-absent:` (text that must
appear nowhere, e.g. a plaintext secret). The line carrying `# <- here` is where the problem
must be located.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fivetran_assets.estate import EstateError, load_estate

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(BROKEN.glob("*.yaml"))


def _expectations(file: Path) -> tuple[dict[str, str], int | None]:
    expect: dict[str, str] = {}
    line = None
    for number, text in enumerate(file.read_text().splitlines(), start=1):
        if text.startswith("# expect-"):
            key, _, value = text[len("# expect-") :].partition(":")
            expect[key] = value.strip()
        if "# <- here" in text:
            line = number
    return expect, line


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("file", CASES, ids=[c.stem for c in CASES])
def test_broken_config_is_reported_precisely(file: Path) -> None:
    expect, line = _expectations(file)
    with pytest.raises(EstateError) as caught:
        load_estate(file)
    problems = caught.value.problems
    matching = [p for p in problems if p.path == expect["path"] and expect["message"] in p.message]
    assert matching, "\n".join(p.describe() for p in problems)
    problem = matching[0]
    assert problem.location is not None and problem.location.file == file
    if line is not None:
        assert problem.location.line == line, problem.describe()
    if "expected" in expect:
        assert expect["expected"] in (problem.expected or ""), problem.describe()
    if "related" in expect:
        assert any(expect["related"] in str(loc) for _, loc in problem.related), problem.describe()
    if "absent" in expect:
        assert expect["absent"] not in str(caught.value)
        assert expect["absent"] not in repr(problems)
