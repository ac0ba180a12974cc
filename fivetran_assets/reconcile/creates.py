"""Creating without duplicates, and repeating safe actions, when the network is unreliable.

A POST that failed without a clear answer (a dropped connection, a timeout, a 5xx) may or may not
have happened. The client never repeats it; here the caller re-reads the resource by its
identity and adopts it if it exists, and only when the re-read shows it does not exist sends the
create again. Actions that are safe to repeat (setup tests, schema reload) are simply retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from fivetran_assets.fivetran.errors import ConflictError, FivetranConnectionError, ServerError

logger = logging.getLogger("fivetran_assets.reconcile")

T = TypeVar("T")

ATTEMPTS = 6
_UNCLEAR = (FivetranConnectionError, ServerError)


def _pause(attempt: int, sleep: Callable[[float], None]) -> None:
    sleep(min(2.0, 0.1 * 2**attempt))


def create_once(
    what: str,
    create: Callable[[], T],
    find: Callable[[], T | None],
    *,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`create()`, re-reading with `find()` after any unclear failure or conflict.

    A conflict means it already exists (an earlier attempt did happen): adopt it.
    """
    last: Exception | None = None
    for attempt in range(attempts):
        if attempt:
            found = find()
            if found is not None:
                logger.info("%s: found after an unclear create; adopting it", what)
                return found
            _pause(attempt, sleep)
        try:
            return create()
        except ConflictError as exc:
            found = find()
            if found is not None:
                return found
            raise exc from None
        except _UNCLEAR as exc:
            logger.warning("%s: create failed without a clear answer (%s); re-reading", what, exc)
            last = exc
    found = find()
    if found is not None:
        return found
    assert last is not None
    raise last


def retry_action(
    what: str,
    action: Callable[[], T],
    *,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run an action that is safe to repeat, retrying unclear failures a few times."""
    for attempt in range(attempts):
        try:
            return action()
        except _UNCLEAR as exc:
            if attempt == attempts - 1:
                raise
            logger.warning("%s: %s; trying again", what, exc)
            _pause(attempt + 1, sleep)
    raise AssertionError("unreachable")
