"""Seed data for the web tests and screenshots: benign synthetic pictures on a loopback site.

"Known material" is a set of generated pictures (``keepdown.testing.synthetic_jpeg``) whose
PDQ hashes are put in a review-trust bank. The loopback site serves edited copies of them
(mirrored, shrunk and re-encoded), so the live index really matches them at a distance; the
sightings are written as the crawler writes them, with the match the index found.
"""

from __future__ import annotations

import functools
import hashlib
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from PIL import Image, ImageOps
from sqlalchemy import insert

from keepdown.banks.records import EntryRecord
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import SignalType
from keepdown.notices.providers import Provider
from keepdown.storage.tables_crawl import sightings
from keepdown.testing import synthetic_jpeg

KNOWN_SEEDS = (9021, 9038, 9013, 9026)
BANK = "hotline-a"
PROVIDER = "Loopback Hosting"


@functools.cache
def _edit(seed: int, how: str) -> bytes:
    image = Image.open(io.BytesIO(synthetic_jpeg(seed, 640, 480)))
    if how == "mirror":
        image = ImageOps.mirror(image)
    elif how == "small":
        image = image.resize((480, 360))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


#: What the site serves: path -> (known seed, edit).
CANDIDATES = {
    f"/media/{seed}-{how}.jpg": (seed, how)
    for seed, how in zip(KNOWN_SEEDS, ("mirror", "small", "recoded", "mirror"), strict=True)
}


class _Handler(BaseHTTPRequestHandler):
    bodies: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.bodies.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "image/jpeg" if body else "text/plain")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def image_site() -> Iterator[str]:
    """A loopback HTTP server serving :data:`CANDIDATES`; yields its base URL."""
    handler = type(
        "Handler", (_Handler,), {"bodies": {p: _edit(*c) for p, c in CANDIDATES.items()}}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@functools.cache
def _known_pdq(seed: int) -> str:
    return hash_bytes(synthetic_jpeg(seed, 640, 480)).pdq.hex


@functools.cache
def _hashes(body: bytes) -> Any:
    return hash_bytes(body, dihedral=True)


@dataclass
class Seeded:
    sighting_ids: list[int]
    provider_id: int
    bodies: dict[int, bytes]


def seed(services: Any, api_ctx: Any, site: str, *, organisation: str = "acme") -> Seeded:
    """A review-trust bank of the known pictures, a provider for loopback, and one
    ``pending_review`` sighting per candidate (with the match the live index finds)."""
    services.auth.ensure_organisation(organisation)
    services.banks.create_bank(
        BANK, owner=organisation, label="csam", source="Test hotline A (synthetic stand-ins)"
    )
    for known in KNOWN_SEEDS:
        value = _known_pdq(known)
        services.banks.add_entry(BANK, EntryRecord(SignalType.PDQ, value, source_id=f"A-{known}"))
    services.index.refresh()
    provider = api_ctx.providers.add(
        Provider(
            name=PROVIDER,
            ip_ranges=("127.0.0.0/8",),
            abuse_contacts=("abuse@loopback.test",),
            country="FR",
        ),
        api_ctx.clock.now(),
    )
    ids, bodies = [], {}
    for n, (path, candidate) in enumerate(sorted(CANDIDATES.items())):
        body = _edit(*candidate)
        result = _hashes(body)
        (best,) = services.index.match_result(result)[:1]
        row = {
            "sighting_key": hashlib.sha256(f"web-seed|{path}".encode()).hexdigest(),
            "page_url": f"{site}/gallery/{n}.html",
            "media_url": f"{site}{path}",
            "final_url": f"{site}{path}",
            "sha256": result.sha256.hex,
            "md5": result.md5.hex,
            "sha1": result.sha1.hex,
            "pdq": result.pdq.hex,
            "quality": result.quality,
            "size": len(body),
            "content_type": "image/jpeg",
            "http_status": 200,
            "server_ip": "127.0.0.1",
            "seen_at": api_ctx.clock.now(),
            "bank": best.bank,
            "entry_id": best.entry_id,
            "signal_type": best.signal_type,
            "distance": best.distance,
            "variant": best.variant or "original",
            "match_type": best.match_type,
            "state": "pending_review",
            "provider_id": provider.id,
            "provider": provider.name,
            "country": "FR",
            "attribution_source": "registry",
        }
        with services.storage.engine.begin() as conn:
            new_id = int(conn.execute(insert(sightings).values(**row)).inserted_primary_key[0])
        ids.append(new_id)
        bodies[new_id] = body
    return Seeded(sighting_ids=ids, provider_id=provider.id, bodies=bodies)


def draft_notices(notices: Any, now: Any) -> list[Any]:
    """Draft notices from confirmed sightings (the notice worker's step 2)."""
    drafter = getattr(notices, "drafter", None)
    return drafter.draft(now) if drafter is not None else notices.draft()
