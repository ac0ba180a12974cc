"""Signature checks in Fivetran's format: uppercase hex HMAC-SHA256 of the raw body."""

from __future__ import annotations

import hashlib
import hmac

from fivetran_assets.webhooks.signature import sign, verify

BODY = b'{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","data":{"status":"SUCCESSFUL"}}'


def test_sign_is_uppercase_hex_hmac_sha256_of_the_raw_body() -> None:
    expected = hmac.new(b"secret", BODY, hashlib.sha256).hexdigest()
    assert sign("secret", BODY) == expected.upper()
    assert sign("secret", BODY) != expected


def test_uppercase_lowercase_and_padded_signatures_verify() -> None:
    signature = sign("secret", BODY)
    assert verify(["secret"], BODY, signature)
    assert verify(["secret"], BODY, signature.lower())
    assert verify(["secret"], BODY, f" {signature}\t")


def test_forged_missing_and_changed_body_do_not_verify() -> None:
    signature = sign("secret", BODY)
    assert not verify(["secret"], BODY, sign("other", BODY))
    assert not verify(["secret"], BODY, None)
    assert not verify(["secret"], BODY, "")
    assert not verify(["secret"], BODY + b" ", signature)
    assert not verify(["secret"], BODY.replace(b"SUCCESSFUL", b"FAILURE"), signature)
    assert not verify(["secret"], BODY, "sha256=" + signature)
    assert not verify(["secret"], BODY, signature[:-1])
    assert not verify(["secret"], BODY, "é" * 64)
    assert not verify([], BODY, signature)


def test_any_of_several_secrets_verifies_during_rotation() -> None:
    assert verify(["new", "old"], BODY, sign("old", BODY))
    assert verify(["new", "old"], BODY, sign("new", BODY))
    assert not verify(["new", "old"], BODY, sign("retired", BODY))
