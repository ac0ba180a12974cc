"""Fivetran-style object ids: two lowercase words joined by an underscore (`speak_inexpensive`).

Clients treat ids as opaque strings, but some log or parse them, so the local Fivetran keeps the
real shape. Words are built from a small English vocabulary first and pronounceable syllables
after, which gives hundreds of millions of combinations: the caller retries on the rare clash.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_FIRST_WORDS = (
    "able acid aged airy alert amber ample brave brisk broad calm candid chief civic clean "
    "clever cosmic crisp curly daring dense eager early easy elder epic equal exact fair "
    "fancy fresh frank gentle giant glad golden grand happy hasty honest humble ideal inner "
    "jolly keen kind large lively loyal lucky lunar major mellow merry mighty modern modest "
    "neat noble novel oaken olive open polar proud quick quiet rapid rare ready regal rich "
    "robust rosy royal rustic sandy sharp shiny silent simple sleek smart solar solid spare "
    "steady stout sunny swift tidy tender tiny topaz true upper urban vast vivid warm wise "
    "young zesty"
)
_FIRST = _FIRST_WORDS.split()
_SECOND_WORDS = (
    "speak inexpensive anchor badge beacon breeze bridge canyon cascade cedar comet coral "
    "crater delta ember falcon fern fjord forest galaxy garden glacier harbor hazel horizon "
    "island jasper kernel lagoon lantern laurel maple meadow meteor mirror nebula orbit "
    "orchid otter pebble pepper pine planet prairie quartz quill raven reef ridge river "
    "rocket saddle sierra spruce summit thicket thunder tundra valley velvet walnut willow "
    "zenith assimilate seem implode imply amuse borrow carry decide ignite journey launch "
    "measure nominate observe protect reflect remark sparkle travel unfold venture wander "
    "whistle"
)
_SECOND = _SECOND_WORDS.split()
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"

_rng = random.SystemRandom()


def _pseudo_word() -> str:
    syllables = _rng.randint(2, 4)
    return "".join(_rng.choice(_CONSONANTS) + _rng.choice(_VOWELS) for _ in range(syllables))


def new_id(taken: Callable[[str], bool]) -> str:
    """A fresh id for which ``taken(id)`` is false (call under the store's lock)."""
    for _ in range(50):
        candidate = f"{_rng.choice(_FIRST)}_{_rng.choice(_SECOND)}"
        if not taken(candidate):
            return candidate
    while True:
        candidate = f"{_pseudo_word()}_{_pseudo_word()}"
        if not taken(candidate):
            return candidate
