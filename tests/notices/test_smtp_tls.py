"""Notice e-mail over STARTTLS and implicit TLS with AUTH, against aiosmtpd on loopback with a
self-signed certificate made in the test; the password comes from an environment variable."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from keepdown.clock import FrozenClock
from keepdown.errors import ConfigurationError, DeliveryError
from keepdown.notices.model import Delivery, DeliveryKind, DeliveryState
from keepdown.notices.providers import Provider
from keepdown.notices.senders import SmtpSender
from keepdown.settings import load_settings

from .conftest import T0, free_port, notice_settings


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Box:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.logins: list[tuple[bytes, bool]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = auth_data.login == b"keepdown" and auth_data.password == b"correct horse"
        self.logins.append((auth_data.login, ok))
        return AuthResult(success=ok)


@pytest.fixture
def tls(tmp_path):
    cert, key = self_signed(tmp_path)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def delivery() -> Delivery:
    return Delivery(
        id=1,
        notice_id=1,
        reference="KDN-2026-000001",
        kind=DeliveryKind.NOTICE,
        channel="email",
        recipients=("abuse@host.test",),
        location_ids=(1,),
        message_key="<KDN-2026-000001.notice.x@hotline.test>",
        subject="[KDN-2026-000001] Removal request",
        body="Location 1\n  URL: http://host.test/a.jpg\n",
        state=DeliveryState.SENDING,
        attempts=1,
        created_at=T0,
    )


def settings_for(tmp_path, port: int, mode: str):
    base = load_settings(environ={}, overrides={"data_dir": str(tmp_path)})
    return notice_settings(
        base,
        smtp_port=port,
        smtp_tls=mode,
        smtp_username="keepdown",
        smtp_password_env="KD_TEST_SMTP_PASSWORD",
    )


def run_server(box: Box, port: int, **kwargs) -> Controller:
    controller = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=box.authenticate, **kwargs
    )
    controller.start()
    return controller


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_tls_and_auth_deliver_the_notice(tmp_path, tls, monkeypatch, mode):
    server_ctx, client_ctx = tls
    box, port = Box(), free_port()
    extra = (
        {"tls_context": server_ctx, "require_starttls": True, "auth_require_tls": True}
        if mode == "starttls"
        else {"ssl_context": server_ctx, "auth_require_tls": False}
    )
    controller = run_server(box, port, **extra)
    monkeypatch.setenv("KD_TEST_SMTP_PASSWORD", "correct horse")
    try:
        sender = SmtpSender(
            settings_for(tmp_path, port, mode), FrozenClock(T0), tls_context=client_ctx
        )
        asyncio.run(sender.send(delivery(), Provider(name="Host")))
    finally:
        controller.stop()
    (mail,) = box.messages
    assert mail["Message-ID"] == "<KDN-2026-000001.notice.x@hotline.test>"
    assert "http://host.test/a.jpg" in mail.get_content()
    assert box.logins == [(b"keepdown", True)]


def test_a_wrong_password_is_refused_and_nothing_sent(tmp_path, tls, monkeypatch):
    server_ctx, client_ctx = tls
    box, port = Box(), free_port()
    controller = run_server(box, port, tls_context=server_ctx, require_starttls=True)
    monkeypatch.setenv("KD_TEST_SMTP_PASSWORD", "wrong")
    try:
        sender = SmtpSender(
            settings_for(tmp_path, port, "starttls"), FrozenClock(T0), tls_context=client_ctx
        )
        with pytest.raises(DeliveryError) as failed:
            asyncio.run(sender.send(delivery(), Provider(name="Host")))
    finally:
        controller.stop()
    assert not failed.value.details.get("uncertain")  # refused before DATA: nothing went out
    assert box.logins == [(b"keepdown", False)]
    assert not box.messages


def test_an_untrusted_certificate_is_refused(tmp_path, tls, monkeypatch):
    server_ctx, _ = tls
    box, port = Box(), free_port()
    controller = run_server(box, port, tls_context=server_ctx, require_starttls=True)
    monkeypatch.setenv("KD_TEST_SMTP_PASSWORD", "correct horse")
    try:
        sender = SmtpSender(settings_for(tmp_path, port, "starttls"), FrozenClock(T0))
        with pytest.raises(DeliveryError) as failed:
            asyncio.run(sender.send(delivery(), Provider(name="Host")))
    finally:
        controller.stop()
    assert not failed.value.details.get("uncertain")  # refused before DATA: safe to retry
    assert not box.messages


def test_smtp_ca_file_trusts_the_relays_own_certificate(tmp_path, tls, monkeypatch):
    """STARTTLS against the self-signed relay, trusted through the ``smtp_ca_file`` setting
    alone (no tls_context handed in): the notice goes out, AUTH over TLS."""
    server_ctx, _ = tls
    box, port = Box(), free_port()
    controller = run_server(
        box, port, tls_context=server_ctx, require_starttls=True, auth_require_tls=True
    )
    monkeypatch.setenv("KD_TEST_SMTP_PASSWORD", "correct horse")
    settings = settings_for(tmp_path, port, "starttls").replace(
        smtp_ca_file=str(tmp_path / "cert.pem")
    )
    try:
        asyncio.run(SmtpSender(settings, FrozenClock(T0)).send(delivery(), Provider(name="Host")))
    finally:
        controller.stop()
    (mail,) = box.messages
    assert mail["Message-ID"] == "<KDN-2026-000001.notice.x@hotline.test>"
    assert box.logins == [(b"keepdown", True)]


def test_an_unreadable_smtp_ca_file_stops_the_sender_being_built(tmp_path):
    settings = settings_for(tmp_path, 25, "starttls")
    with pytest.raises(ConfigurationError) as missing:
        SmtpSender(settings.replace(smtp_ca_file=str(tmp_path / "nope.pem")), FrozenClock(T0))
    assert missing.value.details["setting"] == "smtp_ca_file"
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n")
    with pytest.raises(ConfigurationError):
        SmtpSender(settings.replace(smtp_ca_file=str(not_pem)), FrozenClock(T0))
