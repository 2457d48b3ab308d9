"""Migration 0014: a lease's owner, and the class of each failure (old rows classed from text).

Upgraded from a database at 0013 holding a crawl whose URLs failed the ways the crawler wrote
them before (``code: message``), then down and up again.
"""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from keepdown.storage import make_engine, upgrade
from keepdown.storage.migrate import _config, read_revision

NOW = "2026-01-01 00:00:00"
OLD_ERRORS = {
    "blocked_address: 10.0.0.1 is in a refused range": "blocked",
    "robots_disallowed: robots.txt forbids http://x/a": "robots",
    "fetch_error: cannot resolve host 'x.example': [Errno -2]": "dns",
    "fetch_error: fetching http://x/a timed out: no complete response": "timeout",
    "fetch_error: fetching http://x/a failed: [Errno 111] Connection refused": "refused",
    "fetch_error: fetching http://x/a failed: reset by peer": "network",
    "HTTP 404": "http",
    "too_large: larger than crawl_max_media_bytes": "too_large",
    "not_media: text/html": "not_media",
    "lease expired on every attempt": "worker_died",
    None: "",
}


def _to(url: str, revision: str, down: bool = False) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        config = _config()
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)
        conn.commit()
    engine.dispose()


def test_upgrade_from_0013_classes_old_failures_and_back(database_url: str) -> None:
    _to(database_url, "0013")
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO crawls (id, seeds, max_depth, max_pages, max_bytes, include, "
                "exclude, state, created_at) VALUES (1, '[]', 1, 1, 1, '[]', '[]', 'done', :t)"
            ),
            {"t": NOW},
        )
        for number, error in enumerate(OLD_ERRORS):
            conn.execute(
                text(
                    "INSERT INTO crawl_urls (crawl_id, key, kind, url, depth, state, "
                    "attempts, last_error) VALUES (1, :k, 'page', :u, 0, :s, 1, :e)"
                ),
                {
                    "k": f"{number:064d}",
                    "u": f"http://x/{number}",
                    "s": "done" if error is None else "failed",
                    "e": error,
                },
            )
    engine.dispose()
    _to(database_url, "0014")
    engine = make_engine(database_url)
    assert read_revision(engine) == "0014"
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT last_error, failure, lease_owner FROM crawl_urls")).all()
    engine.dispose()
    assert {error: failure for error, failure, _ in rows} == OLD_ERRORS
    assert {owner for *_, owner in rows} == {None}
    _to(database_url, "0013", down=True)
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
