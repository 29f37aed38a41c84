"""Node to node over HTTPS, both ends authenticated by the certificates their security
authorities exchanged in the identity files (pinned: no certificate authority is trusted).

The client posts a package file and gets the partner's signed receipt back; the server
(``entente node serve``) is a small threaded WSGI server that requires a client certificate of
an active partner on every connection and answers three requests:

    POST /federation/v1/packages   a package (the body is the file); 200 with the receipt, or
                                   422 with the reason it was refused (nothing was stored)
    GET  /federation/v1/log        this node's signed transfer log with the calling partner
    GET  /federation/v1/identity   this node's identity file

It serves nothing else: the pages and the JSON API stay behind sign-in on their own server.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from entente.federation import services
from entente.federation.models import Partner
from entente.security import audit
from entente.security.keystore import keyring

log = logging.getLogger(__name__)

PACKAGES = "/federation/v1/packages"
LOG = "/federation/v1/log"
IDENTITY = "/federation/v1/identity"
_TIMEOUT = 60.0


class TransportError(Exception):
    """The partner could not be reached, or the connection failed: try again later."""


# --------------------------------------------------------------------------- client


def client_context(partner: Partner) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    # The partner's own certificate is the only trust anchor, so the name in it means nothing.
    context.check_hostname = False
    context.load_verify_locations(cadata=partner.tls_certificate)
    cert, key = keyring().tls_credentials()
    context.load_cert_chain(cert, key)
    return context


def _connect(partner: Partner, timeout: float) -> tuple[http.client.HTTPSConnection, str]:
    url = urlsplit(partner.endpoint)
    if url.scheme != "https" or not url.hostname:
        raise TransportError(f"{partner.nation_id} has no https endpoint on record.")
    # 1 MiB blocks: the default 8 KiB made uploading a large package twice as slow.
    conn = http.client.HTTPSConnection(url.hostname, url.port or 443, timeout=timeout,
                                       context=client_context(partner), blocksize=1 << 20)
    try:
        conn.connect()
        peer = conn.sock.getpeercert(binary_form=True) if conn.sock else None
    except (OSError, ssl.SSLError) as exc:
        conn.close()
        raise TransportError(f"{partner.endpoint}: {exc}") from None
    if not peer or services.certificate_sha256(peer) != services.certificate_sha256(
            partner.tls_certificate):
        conn.close()
        raise TransportError(f"{partner.endpoint} is not {partner.nation_id}'s node (its "
                             "certificate is not the one on record).")
    return conn, url.path.rstrip("/")


def post_package(partner: Partner, path: Path, timeout: float = _TIMEOUT) -> tuple[int, bytes]:
    """POST a package file; ``(status, body)``, or ``TransportError`` if it never got an answer."""
    conn, base = _connect(partner, timeout)
    try:
        with path.open("rb") as file:
            conn.request("POST", base + PACKAGES, body=file, headers={
                "Content-Type": "application/vnd.entente.package",
                "Content-Length": str(path.stat().st_size)})
            response = conn.getresponse()
            return response.status, response.read(1 << 20)
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(f"{partner.endpoint}: {exc}") from None
    finally:
        conn.close()


def fetch_log(partner: Partner, timeout: float = _TIMEOUT) -> bytes:
    conn, base = _connect(partner, timeout)
    try:
        conn.request("GET", base + LOG)
        response = conn.getresponse()
        body = response.read(64 << 20)
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(f"{partner.endpoint}: {exc}") from None
    finally:
        conn.close()
    if response.status != 200:
        raise TransportError(f"{partner.endpoint}: HTTP {response.status}")
    return body


# --------------------------------------------------------------------------- server


def server_context() -> ssl.SSLContext:
    """This node's certificate; client certificates required, of active partners only. Built
    for each connection, so a partner imported or suspended counts at once."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    cert, key = keyring().tls_credentials()
    context.load_cert_chain(cert, key)
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        anchors = "".join(Partner.objects.filter(active=True).values_list("tls_certificate",
                                                                        flat=True))
    finally:
        connection.close()
    if anchors:
        context.load_verify_locations(cadata=anchors)
    return context


class _Handler(WSGIRequestHandler):
    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["entente.peer_certificate"] = self.connection.getpeercert(binary_form=True)
        return environ

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


class NodeServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        try:
            context = server_context()
        except Exception as exc:
            # (A database that is locked or restarting, say.) This connection is dropped; the
            # server goes on: socketserver only survives an OSError here.
            sock.close()
            log.exception("cannot accept a connection from %s now", address)
            raise OSError(str(exc)) from exc
        return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), \
            address

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake runs in the connection's own thread, so a slow or hostile client
        # cannot hold up the others.
        request.settimeout(_TIMEOUT)
        try:
            request.do_handshake()
        except (OSError, ssl.SSLError) as exc:
            log.warning("TLS handshake with %s failed: %s", client_address, exc)
            return
        super().finish_request(request, client_address)


def make_server(host: str, port: int) -> NodeServer:
    server = NodeServer((host, port), _Handler)
    server.set_app(application)
    return server


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    close_old_connections()
    try:
        status, body, headers = _route(environ)
    except DatabaseError:
        log.exception("database error while answering a partner")
        status, body, headers = 503, _detail("The node is unavailable; try again later."), []
    finally:
        connection.close()
    start_response(f"{status} {http.client.responses.get(status, '')}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                    *headers])
    return [body]


def _detail(message: str) -> bytes:
    return json.dumps({"detail": message}, ensure_ascii=False).encode()


def _route(environ: dict[str, Any]) -> tuple[int, bytes, list[tuple[str, str]]]:
    method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
    peer = environ.get("entente.peer_certificate")
    if not peer:
        return 403, _detail("A partner's client certificate is required."), []
    partner = _partner_of(peer)
    if partner is None:
        return 403, _detail("This certificate is not an active partner's."), []
    with audit.source(f"node:{partner.nation_id}"):
        if path == PACKAGES and method == "POST":
            return _receive(environ, peer)
        if path == LOG and method == "GET":
            return 200, services.transfer_log(partner, actor=services.node_account(partner)), []
        if path == IDENTITY and method == "GET":
            return 200, services.identity_document(), []
    return 404, _detail("Not found."), []


def _partner_of(peer: bytes) -> Partner | None:
    digest = hashlib.sha256(peer).hexdigest()
    for partner in Partner.objects.filter(active=True):
        if services.certificate_sha256(partner.tls_certificate) == digest:
            return partner
    return None


def _receive(environ: dict[str, Any], peer: bytes) -> tuple[int, bytes, list[tuple[str, str]]]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        length = -1
    if length < 1:
        return 411, _detail("Send the package with its Content-Length."), []
    if length > settings.FEDERATION_MAX_PACKAGE_BYTES:
        return 413, _detail("The package is larger than this node accepts."), []
    stream = environ["wsgi.input"]
    with services.incoming_file() as path:
        with path.open("wb") as file:
            left = length
            while left:
                chunk = stream.read(min(left, 1 << 20))
                if not chunk:
                    return 400, _detail("The package arrived incomplete."), []
                file.write(chunk)
                left -= len(chunk)
        try:
            received = services.receive(path, channel="https", peer_certificate=peer)
        except services.PackageRefused as exc:
            return 422, _detail(str(exc)), []
    return 200, received.receipt, [("X-Entente-Duplicate", "1" if received.duplicate else "0")]


def serve(host: str, port: int, *, worker: bool = True, interval: float = 5.0,
          port_file: Path | None = None, ready: Callable[[int], None] | None = None) -> None:
    """Serve partners until interrupted; with ``worker``, deliver the outbox every ``interval``
    seconds in a background thread."""
    server = make_server(host, port)
    bound = server.server_address[1]
    if port_file is not None:
        port_file.write_text(str(bound))
    if ready is not None:
        ready(bound)
    stop = threading.Event()
    if worker:
        threading.Thread(target=_deliver_forever, args=(stop, interval), daemon=True,
                         name="entente-outbox").start()
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        stop.set()
        server.server_close()


def _deliver_forever(stop: threading.Event, interval: float) -> None:
    while not stop.is_set():
        try:
            services.sweep_files()
            services.deliver_due()
        except Exception:
            log.exception("delivering the outbox failed; trying again in %s s", interval)
        finally:
            connection.close()
        stop.wait(interval)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
