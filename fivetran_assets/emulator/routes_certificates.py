"""Approved TLS certificates and SSH fingerprints of connections and destinations.

`POST .../certificates {hash, encoded_cert}` approves a base64 X.509 certificate (PEM armour
allowed): the local Fivetran reads its subject's common name and public key and reports the
SHA-1 and SHA-256 of its DER bytes; anything else is 400. `POST .../fingerprints {hash,
public_key}` approves an SSH host key. Both are stored, listed, read and revoked by hash, and
enforced by nothing (the local Fivetran opens no TLS to sources or SSH tunnel). A hash may hold
``/`` (base64), so the hash is the rest of the path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fivetran_assets.emulator.clock import iso
from fivetran_assets.emulator.context import Emulator
from fivetran_assets.emulator.http import (
    ApiError,
    invalid,
    json_body,
    not_found,
    ok,
    paginate,
    public,
    require,
    string,
)
from fivetran_assets.emulator.routes_groups import emu_of

COMMON_NAME_OID = bytes.fromhex("0603550403")  # DER of OID 2.5.4.3


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at ``at``."""
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + length > len(data):
        raise ValueError("truncated DER")
    return tag, at, at + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, value start, value end) of each element in ``data[start:end]``."""
    out = []
    while start < end:
        tag, value_start, value_end = _tlv(data, start)
        out.append((tag, start, value_start, value_end))
        start = value_end
    return out


def certificate_facts(der: bytes) -> tuple[str, str]:
    """(subject common name, base64 SubjectPublicKeyInfo) of an X.509 certificate."""
    tag, start, _end = _tlv(der, 0)
    tbs_tag, tbs_start, tbs_end = _tlv(der, start)
    if tag != 0x30 or tbs_tag != 0x30:
        raise ValueError("not an X.509 certificate")
    fields = _children(der, tbs_start, tbs_end)
    if fields and fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    if len(fields) < 6 or any(f[0] != 0x30 for f in fields[1:6]):
        raise ValueError("not an X.509 certificate")
    subject, spki = fields[4], fields[5]
    name = ""
    position = der.find(COMMON_NAME_OID, subject[2], subject[3])
    if position >= 0:
        _, value_start, value_end = _tlv(der, position + len(COMMON_NAME_OID))
        name = der[value_start:value_end].decode("utf-8", "replace")
    return name, base64.b64encode(der[spki[1] : spki[3]]).decode()


def _der(encoded: str) -> bytes:
    lines = [ln for ln in encoded.strip().splitlines() if not ln.startswith("-----")]
    try:
        der = base64.b64decode("".join(lines), validate=True)
        certificate_facts(der)
    except (binascii.Error, ValueError, IndexError):
        raise invalid("Field 'encoded_cert' must be a base64 (or PEM) X.509 certificate") from None
    return der


def _owner_or_404(emu: Emulator, owner: str, owner_id: str) -> None:
    if emu.store.get(owner, owner_id) is None:
        raise not_found(owner.capitalize(), owner_id)


def approve_certificate(emu: Emulator, owner: str, owner_id: str, body: dict) -> dict[str, Any]:
    cert_hash = string(require(body, "hash"), "hash")
    encoded = string(require(body, "encoded_cert"), "encoded_cert")
    der = _der(encoded)
    name, public_key = certificate_facts(der)
    record = {
        "id": f"{owner}:{owner_id}:{cert_hash}",
        "owner": owner,
        "owner_id": owner_id,
        "hash": cert_hash,
        "name": name or cert_hash,
        "type": "X.509",
        "sha1": hashlib.sha1(der).hexdigest(),
        "sha256": hashlib.sha256(der).hexdigest(),
        "public_key": public_key,
        "encoded_cert": base64.b64encode(der).decode(),
        "validated_by": emu.user_id,
        "validated_date": iso(emu.clock.now()),
    }
    with emu.store.lock:
        _owner_or_404(emu, owner, owner_id)
        emu.store.put("certificate", record)
    return record


def render_certificate(record: dict[str, Any]) -> dict[str, Any]:
    out = public(record)
    for internal in ("owner", "owner_id", "encoded_cert"):
        out.pop(internal)
    out["id"] = record["hash"]
    return out


def render_fingerprint(record: dict[str, Any]) -> dict[str, Any]:
    out = render_certificate({**record, "encoded_cert": None})
    return out


def _family(owner: str, param: str) -> list[Route]:
    """Certificate and fingerprint routes of a connection or destination."""
    title = owner.capitalize()

    def owner_id(request: Request) -> str:
        oid = request.path_params[param]
        _owner_or_404(emu_of(request), owner, oid)
        return oid

    def one(request: Request, kind: str) -> dict[str, Any]:
        oid = owner_id(request)
        item_hash = request.path_params["hash"]
        found = emu_of(request).store.get(kind, f"{owner}:{oid}:{item_hash}")
        if found is None:
            word = kind.capitalize()
            raise ApiError(404, f"NotFound_{word}", f"{word} with hash '{item_hash}' not found")
        return found

    def listing(kind: str, render: Any):
        async def handler(request: Request) -> Response:
            oid = owner_id(request)

            def keep(item: dict[str, Any]) -> bool:
                return item["owner_id"] == oid and item["owner"] == owner

            return paginate(request, emu_of(request).store, kind, render, keep)

        return handler

    async def add_certificate(request: Request) -> Response:
        body = await json_body(request)
        record = approve_certificate(emu_of(request), owner, owner_id(request), body)
        return ok(render_certificate(record), "Certificate has been approved")

    async def add_fingerprint(request: Request) -> Response:
        emu = emu_of(request)
        body = await json_body(request)
        oid = owner_id(request)
        fp_hash = string(require(body, "hash"), "hash")
        record = {
            "id": f"{owner}:{oid}:{fp_hash}",
            "owner": owner,
            "owner_id": oid,
            "hash": fp_hash,
            "public_key": string(require(body, "public_key"), "public_key"),
            "validated_by": emu.user_id,
            "validated_date": iso(emu.clock.now()),
        }
        with emu.store.lock:
            _owner_or_404(emu, owner, oid)
            emu.store.put("fingerprint", record)
        return ok(render_fingerprint(record), "Fingerprint has been approved")

    def getter(kind: str, render: Any):
        async def handler(request: Request) -> Response:
            return ok(render(one(request, kind)), f"{kind.capitalize()} details retrieved")

        return handler

    def revoker(kind: str):
        async def handler(request: Request) -> Response:
            emu = emu_of(request)
            with emu.store.lock:
                found = one(request, kind)
                emu.store.delete(kind, found["id"])
            return ok(message=f"{kind.capitalize()} of {title} has been revoked")

        return handler

    base = f"/v1/{owner}s/{{{param}}}"
    routes = []
    for kind, render, add in (
        ("certificate", render_certificate, add_certificate),
        ("fingerprint", render_fingerprint, add_fingerprint),
    ):
        routes += [
            Route(f"{base}/{kind}s", listing(kind, render), methods=["GET"]),
            Route(f"{base}/{kind}s", add, methods=["POST"]),
            Route(f"{base}/{kind}s/{{hash:path}}", getter(kind, render), methods=["GET"]),
            Route(f"{base}/{kind}s/{{hash:path}}", revoker(kind), methods=["DELETE"]),
        ]
    return routes


async def trust_certificate(request: Request) -> Response:
    """`POST /v1/certificates {connection_id | destination_id, hash, encoded_cert}`."""
    emu = emu_of(request)
    body = await json_body(request)
    owners = [(k, body[k]) for k in ("connection_id", "destination_id") if body.get(k)]
    if len(owners) != 1:
        raise invalid("Exactly one of the fields 'connection_id' and 'destination_id' is required")
    field, oid = owners[0]
    owner = field.removesuffix("_id")
    approve_certificate(emu, owner, string(oid, field), body)
    return ok(message=f"Certificate has been approved for {owner} '{oid}'")


ROUTES = [
    Route("/v1/certificates", trust_certificate, methods=["POST"]),
    *_family("connection", "connection_id"),
    *_family("destination", "destination_id"),
]
