"""Finance fixtures: a migrated database with one crawl, and sightings written as the crawler
writes them (benign stand-ins: only their hashes' shape matters here)."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from sqlalchemy import insert

from keepdown.clock import utc
from keepdown.storage.tables_crawl import crawls, sightings

T0 = utc(2026, 8, 1, 9)


def add_crawl(engine) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(crawls).values(
                    seeds=["http://site.test/"],
                    max_depth=2,
                    max_pages=10,
                    max_bytes=10**6,
                    include=[],
                    exclude=[],
                    created_at=T0,
                )
            ).inserted_primary_key[0]
        )


def add_sighting(engine, crawl_id: int, page_url: str, n: int, state: str, at: datetime) -> None:
    media = f"{page_url}img{n}.jpg"
    digest = hashlib.sha256(media.encode()).hexdigest()
    with engine.begin() as conn:
        conn.execute(
            insert(sightings).values(
                crawl_id=crawl_id,
                sighting_key=hashlib.sha256(f"{crawl_id}|{media}".encode()).hexdigest(),
                page_url=page_url,
                media_url=media,
                final_url=media,
                sha256=digest,
                md5=digest[:32],
                sha1=digest[:40],
                size=10,
                http_status=200,
                seen_at=at,
                state=state,
            )
        )


@pytest.fixture
def engine(storage):
    return storage.engine
