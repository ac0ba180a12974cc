"""Let an outside client that hard-codes `https://api.fivetran.com` talk to a local Fivetran,
unchanged: an HTTPS proxy (`HTTPS_PROXY`) that answers the CONNECT for any host, presents a
certificate for `api.fivetran.com` signed by a throwaway CA (`REQUESTS_CA_BUNDLE`), and pipes
the decrypted bytes to the local Fivetran's plain-HTTP port.

`clients_venv` builds (once, cached under `.cache/clients/`, never committed) a virtualenv
with the client installed; the certificates are made there with the `cryptography` package the
clients bring, so nothing beyond PyPI is needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from bench.peers import PeerError, ensure_peer_venv

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "clients"
API_HOST = "api.fivetran.com"

_MAKE_CERTIFICATES = """
import datetime, sys
from pathlib import Path
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

out = Path(sys.argv[1])
now = datetime.datetime.now(datetime.timezone.utc)
def name(text):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])
def build(subject, issuer, public, signer, ca):
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if ca:
        usage = dict(key_cert_sign=True, crl_sign=True, digital_signature=False)
    else:
        usage = dict(key_cert_sign=False, crl_sign=False, digital_signature=True)
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(sys.argv[2])]), critical=False
        ).add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    builder = builder.add_extension(x509.KeyUsage(
        content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, encipher_only=False, decipher_only=False, **usage), critical=True)
    return builder.sign(signer, hashes.SHA256())
ca_key = ec.generate_private_key(ec.SECP256R1())
ca = build(name("local Fivetran test CA"), name("local Fivetran test CA"), ca_key.public_key(),
           ca_key, True)
key = ec.generate_private_key(ec.SECP256R1())
leaf = build(name(sys.argv[2]), ca.subject, key.public_key(), ca_key, False)
pem = serialization.Encoding.PEM
(out / "ca.pem").write_bytes(ca.public_bytes(pem))
(out / "server.pem").write_bytes(leaf.public_bytes(pem))
(out / "server.key").write_bytes(key.private_bytes(
    pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
"""


def clients_venv(name: str, requirements: Sequence[str], *, timeout: float = 900) -> Path:
    """The `bin` folder of a cached virtualenv holding `requirements` (PeerError if pip
    cannot install them)."""
    return ensure_peer_venv(
        requirements=requirements, venv_dir=CACHE / name, timeout=timeout
    ).parent


def make_certificates(python: Path, folder: Path) -> tuple[Path, Path, Path]:
    """(CA bundle, server certificate, server key) for `api.fivetran.com`, made by `python`."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(python), "-c", _MAKE_CERTIFICATES, str(folder), API_HOST],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


class _Tunnel(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        if not head.startswith(b"CONNECT "):
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with (
            self.server.tls.wrap_socket(self.request, server_side=True) as tls,
            socket.create_connection(self.server.upstream) as upstream,
        ):
            back = threading.Thread(target=_pipe, args=(upstream, tls), daemon=True)
            back.start()
            _pipe(tls, upstream)
            back.join(timeout=30)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: tuple[str, int], tls: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.upstream = upstream
        self.tls = tls


@contextlib.contextmanager
def api_host_proxy(
    upstream: tuple[str, int], certificates: tuple[Path, Path, Path]
) -> Iterator[dict[str, str]]:
    """Serve the proxy; yields the environment a `requests` client needs to use it."""
    bundle, cert, key = certificates
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = _ProxyServer(upstream, tls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        proxy = f"http://127.0.0.1:{server.server_address[1]}"
        yield {"HTTPS_PROXY": proxy, "https_proxy": proxy, "REQUESTS_CA_BUNDLE": str(bundle)}
    finally:
        server.shutdown()
        server.server_close()


def client_environment(extra: dict[str, str]) -> dict[str, str]:
    """The test process's environment without proxy settings or project paths, plus `extra`."""
    drop = {"NO_PROXY", "no_proxy", "PYTHONPATH", "CURL_CA_BUNDLE", "SSL_CERT_FILE"}
    return {k: v for k, v in os.environ.items() if k not in drop} | extra


def last_json(output: str) -> object:
    """The JSON document a client printed (the whole output, or its last line)."""
    try:
        return json.loads(output)
    except json.JSONDecodeError:
        lines = [line for line in output.splitlines() if line.strip()]
        return json.loads(lines[-1])


__all__ = [
    "API_HOST",
    "PeerError",
    "api_host_proxy",
    "client_environment",
    "clients_venv",
    "last_json",
    "make_certificates",
]
