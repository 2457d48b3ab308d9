"""An API on real SQLite, an in-process client, one key per role and a bank of known images.

"Known material" is benign: synthetic pictures whose hashes were put in a bank.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from keepdown.app import Runtime, build_app
from keepdown.auth import Role
from keepdown.banks.records import EntryRecord
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import SignalType
from keepdown.settings import load_settings
from keepdown.testing import synthetic_jpeg

KNOWN_SEED = 11
OTHER_SEED = 12


@dataclass
class Api:
    client: TestClient
    services: Runtime
    tokens: dict[Role, str] = field(default_factory=dict)

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def make_settings(tmp_path: Path, **overrides: object):
    values = {
        "data_dir": str(tmp_path / "data"),
        "crawl_allowed_networks": "127.0.0.0/8,::1/128",
        "crawl_respect_robots": False,
        "crawl_max_retries": 0,
        "auth_cache_seconds": 0,
        "notice_links_on_loopback": True,
        "operator_organisation": "acme",
        **overrides,
    }
    return load_settings(environ={}, overrides=values)


def known_jpeg() -> bytes:
    return synthetic_jpeg(KNOWN_SEED)


def seed_known_bank(services: Runtime, name: str = "known", label: str | None = "csam") -> None:
    """A bank holding the PDQ and SHA-256 of the known (benign, synthetic) picture."""
    services.auth.ensure_organisation("acme")
    services.banks.create_bank(name, owner="acme", label=label)
    result = hash_bytes(known_jpeg(), mode="exact")
    services.banks.add_entry(name, EntryRecord(SignalType.PDQ, result.pdq.hex))
    services.banks.add_entry(name, EntryRecord(SignalType.SHA256, result.sha256.hex))
    services.index.refresh()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    app, services = build_app(make_settings(tmp_path), refresh_in_background=False)
    with TestClient(app) as client:
        api = Api(client=client, services=services)
        services.auth.ensure_organisation("acme")
        for role in Role:
            issued = services.auth.issue_key("acme", role, expires_in=timedelta(days=1))
            api.tokens[role] = issued.token
        yield api


class _ImageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/known.jpg":
            body = known_jpeg()
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def image_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
