"""A tiny HTTPS server on 127.0.0.1 speaking HTTP/2 (ALPN "h2"), for the HTTP/2 tests.

It serves a fixed table of paths with the ``h2`` library over TLS, with a throw-away
certificate for ``site.test`` made by ``cryptography``. Loopback only, one thread per connection.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from pathlib import Path

import h2.config
import h2.connection
import h2.events
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_certificate(folder: Path, name: str = "site.test") -> tuple[Path, Path, bytes]:
    """A self-signed certificate for ``name``: (cert file, key file, cert PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file, pem


class H2Site:
    """Serves ``routes`` (path -> (status, content type, body)) over HTTPS with HTTP/2."""

    def __init__(self, routes: dict[str, tuple[int, str, bytes]], cert: Path, key: Path) -> None:
        self.routes = routes
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.context.set_alpn_protocols(["h2"])
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.protocols: list[str | None] = []
        self._stop = False

    def start(self) -> H2Site:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop = True
        self.sock.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            with self.context.wrap_socket(raw, server_side=True) as tls:
                self.protocols.append(tls.selected_alpn_protocol())
                self._h2(tls)
        except (OSError, ssl.SSLError):
            return

    def _h2(self, tls: ssl.SSLSocket) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        while True:
            data = tls.recv(65536)
            if not data:
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    self._respond(conn, event)
            tls.sendall(conn.data_to_send())

    def _respond(self, conn: h2.connection.H2Connection, event: h2.events.RequestReceived) -> None:
        headers = {k.decode() if isinstance(k, bytes) else k: v for k, v in event.headers}
        path = headers[":path"]
        path = path.decode() if isinstance(path, bytes) else path
        status, content_type, body = self.routes.get(path, (404, "text/plain", b"not found"))
        conn.send_headers(
            event.stream_id,
            [
                (":status", str(status)),
                ("content-type", content_type),
                ("content-length", str(len(body))),
            ],
        )
        conn.send_data(event.stream_id, body, end_stream=True)
