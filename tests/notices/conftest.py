"""Notice fixtures with real parts: an SMTP server (aiosmtpd), a webhook receiver that checks
HMAC signatures, loopback "hosting" sites whose content can disappear, come back and move,
a bank of benign stand-ins, and sightings written through the crawler's own table.

"Known material" is benign: synthetic pictures whose hashes were put in a trusted bank.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from keepdown.app import open_services
from keepdown.banks.records import EntryRecord
from keepdown.clock import FrozenClock, utc
from keepdown.events import SightingRecorded
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import SignalType
from keepdown.notices.senders import verify_webhook
from keepdown.storage.tables_banks import bank_entries
from keepdown.storage.tables_crawl import sightings
from keepdown.testing import synthetic_jpeg

BANK = "known-stand-ins"
KNOWN_SEEDS = (101, 102, 103, 104)
T0 = utc(2026, 3, 2, 8)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# --- SMTP --------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the loopback SMTP server received, parsed back into messages."""

    port: int
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)  # SMTP replies to give instead of 250

    def by_reference(self, reference: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if reference in str(m["Subject"])]


class _SmtpHandler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.box.refuse:
            return self.box.refuse.pop(0)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.box.messages.append(message)  # type: ignore[arg-type]
        self.box.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(_SmtpHandler(box), hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


# --- webhooks ----------------------------------------------------------------------------------


@dataclass
class WebhookCall:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def document(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A provider's webhook endpoint: verifies HMAC, de-duplicates by Idempotency-Key."""

    url: str
    secret: str
    calls: list[WebhookCall] = field(default_factory=list)
    effects: dict[str, WebhookCall] = field(default_factory=dict)  # one per idempotency key
    fail_next: list[int] = field(default_factory=list)  # statuses to answer first


def _receiver_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ok = verify_webhook(receiver.secret, self.headers.get("X-Keepdown-Signature", ""), body)
            call = WebhookCall(self.path, dict(self.headers), body, ok)
            receiver.calls.append(call)
            status = receiver.fail_next.pop(0) if receiver.fail_next else (200 if ok else 401)
            if status == 200:
                receiver.effects.setdefault(self.headers.get("Idempotency-Key", ""), call)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver(url="", secret="s3cret-for-webhooks-0123")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _receiver_handler(box))
    box.url = f"http://127.0.0.1:{server.server_address[1]}/keepdown"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield box
    server.shutdown()
    server.server_close()


# --- hosting sites -----------------------------------------------------------------------------


@dataclass
class Site:
    """A loopback web host whose routes tests change: content disappears, comes back, moves."""

    ip: str
    port: int
    routes: dict[str, tuple[int, str, bytes, dict[str, str]]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.ip}:{self.port}{path}"

    def put(self, path: str, body: bytes, content_type: str = "image/jpeg") -> None:
        self.routes[path] = (200, content_type, body, {})

    def answer(self, path: str, status: int, headers: dict[str, str] | None = None) -> None:
        self.routes[path] = (status, "text/plain", b"", headers or {})


def _site_handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.hits.append(self.path)
            status, ctype, body, headers = site.routes.get(
                self.path, (404, "text/plain", b"not found", {})
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def start_site(ip: str) -> tuple[Site, ThreadingHTTPServer]:
    site = Site(ip=ip, port=0)
    server = ThreadingHTTPServer((ip, 0), _site_handler(site))
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return site, server


@pytest.fixture
def sites() -> Iterator[tuple[Site, Site]]:
    """Two hosts at different loopback addresses: two different providers' networks."""
    a, server_a = start_site("127.0.0.1")
    b, server_b = start_site("127.0.0.2")
    yield a, b
    for server in (server_a, server_b):
        server.shutdown()
        server.server_close()


# --- settings, clock, bank, sightings ----------------------------------------------------------


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


def notice_settings(base: Any, **overrides: Any) -> Any:
    values = {
        "crawl_allowed_networks": "127.0.0.0/8",
        "crawl_respect_robots": False,
        "crawl_max_retries": 0,
        "crawl_per_host_delay_seconds": 0,
        "crawl_timeout_seconds": 2.0,
        "smtp_host": "127.0.0.1",
        "smtp_tls": "none",
        "smtp_timeout_seconds": 5,
        "webhook_retries": 2,
        "webhook_backoff_seconds": 0.01,
        "notice_from_address": "notices@hotline.test",
        "notice_operator_name": "Test Hotline",
        "notice_worker_seconds": 0,
        "notice_public_base_url": "https://keepdown.hotline.test",
        **overrides,
    }
    return base.replace(**values)


@pytest.fixture
def nsettings(db_settings: Any, smtp: Mailbox) -> Any:
    """Settings on SQLite and PostgreSQL, with the loopback SMTP server."""
    return notice_settings(db_settings, smtp_port=smtp.port)


def known_image(i: int) -> bytes:
    return synthetic_jpeg(KNOWN_SEEDS[i])


def seed_bank(settings: Any, clock: FrozenClock) -> dict[str, int]:
    """A trusted bank (classification csam) of the known stand-ins -> {sha256: entry id}."""
    services = open_services(settings, clock)
    try:
        services.auth.ensure_organisation(services.settings.operator_organisation)
        services.banks.create_bank(
            BANK, owner=services.settings.operator_organisation, trust="auto", label="csam"
        )
        entries = {}
        for i in range(len(KNOWN_SEEDS)):
            result = hash_bytes(known_image(i), mode="exact")
            services.banks.add_entry(BANK, EntryRecord(SignalType.SHA256, result.sha256.hex))
            services.banks.add_entry(BANK, EntryRecord(SignalType.PDQ, result.pdq.hex))
            with services.storage.engine.connect() as conn:
                entries[result.sha256.hex] = conn.execute(
                    select(bank_entries.c.id).where(bank_entries.c.value == result.sha256.hex)
                ).scalar_one()
        return entries
    finally:
        services.storage.close()


def add_sighting(
    engine: Any,
    events: Any,
    *,
    media_url: str,
    image: bytes,
    entries: dict[str, int],
    seen_at: datetime,
    server_ip: str | None = "127.0.0.1",
    provider_id: int | None = None,
    page_url: str | None = None,
    state: str = "confirmed",
) -> int:
    """A sighting written to the crawler's ``sightings`` table, as the crawler writes it."""
    sha256 = hashlib.sha256(image).hexdigest()
    entry_id = entries.get(sha256)
    page = page_url or media_url.rsplit("/", 1)[0] + "/"
    with engine.begin() as conn:
        new_id = conn.execute(
            insert(sightings).values(
                sighting_key=hashlib.sha256(f"{media_url}|{seen_at}".encode()).hexdigest(),
                page_url=page,
                media_url=media_url,
                final_url=media_url,
                sha256=sha256,
                md5=hashlib.md5(image).hexdigest(),
                sha1=hashlib.sha1(image).hexdigest(),
                size=len(image),
                content_type="image/jpeg",
                http_status=200,
                server_ip=server_ip,
                seen_at=seen_at,
                bank=BANK if entry_id else None,
                entry_id=entry_id,
                signal_type="sha256" if entry_id else None,
                distance=0 if entry_id else None,
                match_type="exact" if entry_id else None,
                state=state,
                provider_id=provider_id,
            )
        ).inserted_primary_key[0]
    if entry_id:
        events.emit(
            SightingRecorded(
                at=seen_at,
                sighting_id=str(new_id),
                media_url=media_url,
                page_url=page,
                bank=BANK,
                entry_id=entry_id,
                match_type="exact",
                state=state,
            )
        )
    return int(new_id)
