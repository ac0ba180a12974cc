"""Fivetran webhook signatures: `X-Fivetran-Signature-256`, hex HMAC-SHA256 of the raw body.

Fivetran signs the exact bytes it sends with the webhook's secret, with no prefix and no
timestamp, and prints the digest in uppercase hex. We compare case-insensitively and in constant
time, against every configured secret so that a secret can be rotated without dropping events.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

SIGNATURE_HEADER = "X-Fivetran-Signature-256"


def sign(secret: str, raw_body: bytes) -> str:
    """The signature Fivetran would send for `raw_body`: uppercase hex HMAC-SHA256."""
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest().upper()


def verify(secrets: Sequence[str], raw_body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `raw_body` under any of `secrets`.

    Every secret is tried (no early exit) so the time taken does not reveal which one matched.
    A header that is missing, empty or not ASCII never verifies.
    """
    if not header:
        return False
    try:
        presented = header.strip().lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    matched = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest().encode()
        matched |= hmac.compare_digest(expected, presented)
    return matched
