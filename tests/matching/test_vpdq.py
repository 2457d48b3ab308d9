"""vPDQ matching: the comparison as the vpdq README defines it, the index against it, and
videos matched per frame and per video through real banks in the database."""

from __future__ import annotations

import io
import random

import pytest

from keepdown.app import open_services
from keepdown.banks.records import EntryRecord
from keepdown.clock import SystemClock
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import PdqHash, SignalType, VpdqFeature
from keepdown.matching.vpdq import (
    VideoMatcher,
    VideoMatchView,
    VpdqIndex,
    VpdqPolicy,
    compare_vpdq,
)
from keepdown.storage.index_feed import IndexFeed
from keepdown.testing import flip_bits, random_pdq_hex, synthetic_jpeg, synthetic_video

POLICY = VpdqPolicy()


def readme_comparison(query, compared, distance=31, floor=50):
    """The README's pseudocode, literally: unique frames, quality filter, two loops."""

    def unique_filtered(frames):
        seen, out = set(), []
        for f in frames:
            if f.hash.hex not in seen:
                seen.add(f.hash.hex)
                if f.quality >= floor:
                    out.append(f)
        return out

    q, c = unique_filtered(query), unique_filtered(compared)
    q_count = sum(any(a.hash - b.hash <= distance for b in c) for a in q)
    c_count = sum(any(a.hash - b.hash <= distance for a in q) for b in c)
    if not q or not c:
        return 0.0, 0.0  # the reference divides by zero here; keepdown says 0 %
    return q_count * 100 / len(q), c_count * 100 / len(c)


def features(rng: random.Random, n: int, base: list[str] | None = None) -> list[VpdqFeature]:
    out = []
    for i in range(n):
        text = flip_bits(rng.choice(base), rng.randrange(0, 50), rng) if base else None
        value = PdqHash.from_hex(text or random_pdq_hex(rng))
        out.append(VpdqFeature(value, rng.choice([30, 49, 50, 80, 100]), i / 10))
    return out


def test_comparison_equals_the_readme_algorithm():
    rng = random.Random(5)
    for _ in range(20):
        pool = [random_pdq_hex(rng) for _ in range(8)]
        query = features(rng, rng.randrange(1, 60), pool)
        compared = features(rng, rng.randrange(1, 60), pool)
        query += query[:3]  # repeated frames count once
        expected = readme_comparison(query, compared)
        got = compare_vpdq(query, compared, POLICY)
        assert (got.query_match_percent, got.compared_match_percent) == pytest.approx(expected)


def test_comparison_of_the_reference_sample_hashes(vpdq_reference):
    def load(name):
        lines = (vpdq_reference / "sample-hashes" / f"{name}.txt").read_text().splitlines()
        rows = (line.split(",") for line in lines)
        return [VpdqFeature(PdqHash.from_hex(h), int(q), float(t)) for _, q, h, t in rows]

    chair = load("chair-19-sd-bar")
    for other in ("chair-19-sd-bar-128x128", "chair-22-sd-sepia-bar", "pattern-hd-no-bar"):
        theirs = load(other)
        got = compare_vpdq(chair, theirs, POLICY)
        expected = readme_comparison(chair, theirs)
        assert (got.query_match_percent, got.compared_match_percent) == pytest.approx(expected)
    assert compare_vpdq(chair, load("chair-19-sd-bar"), POLICY).query_match_percent == 100.0
    assert not POLICY.matches(compare_vpdq(chair, load("pattern-hd-no-bar"), POLICY))


def test_no_frame_of_enough_quality_matches_nothing():
    rng = random.Random(1)
    poor = [VpdqFeature(PdqHash.from_hex(random_pdq_hex(rng)), 10, 0.0)]
    result = compare_vpdq(poor, poor, POLICY)
    assert (result.query_match_percent, result.query_frames) == (0.0, 0)
    assert not POLICY.matches(result)


class _Feed:
    """A feed of in-memory rows with the FeedView surface VpdqIndex reads."""

    def __init__(self, rows):
        self.rows = rows  # entry id -> (bank id, signal, value, removed)

    def view(self):
        import contextlib

        return contextlib.nullcontext(self)

    def mark(self):
        from keepdown.matching.sync import FeedMark

        removed = sum(r[3] for r in self.rows.values())
        return FeedMark(max(self.rows, default=0), (len(self.rows), 0, removed, 0))

    def active(self, after, up_to):
        yield [
            (i, b, s, v)
            for i, (b, s, v, gone) in sorted(self.rows.items())
            if after < i <= up_to and not gone
        ]

    def active_by_id(self, ids):
        yield [(i, *self.rows[i][:3]) for i in ids.tolist() if not self.rows[i][3]]

    def tombstones(self):
        import numpy as np

        return np.array(sorted(i for i, r in self.rows.items() if r[3]), np.int64)


def test_index_search_equals_comparing_each_entry():
    rng = random.Random(9)
    pool = [random_pdq_hex(rng) for _ in range(6)]
    videos = {i: features(rng, rng.randrange(1, 40), pool) for i in range(1, 30)}
    from keepdown.hashing.types import VpdqHash

    rows = {i: (i % 3, "vpdq", VpdqHash(tuple(v)).hex, False) for i, v in videos.items()}
    rows[100] = (1, "pdq", pool[0], False)  # other signal types are not the vPDQ index's
    index = VpdqIndex(_Feed(rows))
    assert index.refresh()
    assert len(index) == len(videos)
    query = features(rng, 25, pool)

    found = {e: (b, c) for e, b, c in index.search(query, lambda bank: 31, 50)}
    for entry_id, video in videos.items():
        direct = compare_vpdq(query, video, POLICY)
        if direct.query_match_percent == 0:
            assert entry_id not in found
            continue
        bank, comparison = found[entry_id]
        assert bank == entry_id % 3
        assert comparison.query_match_percent == pytest.approx(direct.query_match_percent)
        assert comparison.compared_match_percent == pytest.approx(direct.compared_match_percent)
        assert comparison.best_distance == direct.best_distance

    rows[5] = (*rows[5][:3], True)  # removed: gone after a refresh; restored: back again
    assert index.refresh()
    assert 5 not in {e for e, _, _ in index.search(query, lambda b: 31, 50)}
    rows[5] = (*rows[5][:3], False)
    rows[200] = (0, "vpdq", VpdqHash(tuple(query)).hex, False)
    assert index.refresh()
    hits = {e: c for e, _, c in index.search(query, lambda b: 31, 50)}
    assert hits[200].query_match_percent == 100.0
    assert (5 in hits) == (compare_vpdq(query, videos[5], POLICY).query_match_percent > 0)


@pytest.fixture
def video_banks(db_settings):
    """A trusted vPDQ bank holding a benign video, and a PDQ bank holding one of its scenes."""
    known = synthetic_video(11, seconds=6, fps=10)
    hashed = hash_bytes(known, settings=db_settings)
    services = open_services(db_settings, SystemClock())
    hotline = db_settings.operator_organisation  # its banks take part in matching
    services.auth.ensure_organisation(hotline)
    services.banks.create_bank("videos", owner=hotline, trust="auto", label="csam")
    services.banks.create_bank("stills", owner=hotline, trust="review")
    services.banks.add_entry("videos", EntryRecord(SignalType.VPDQ, hashed.vpdq.hex))
    frame = hashed.frames_vpdq[3].feature.hash  # a still of the known video's second scene
    services.banks.add_entry("stills", EntryRecord(SignalType.PDQ, frame.hex))
    matcher = VideoMatcher(services.index, VpdqIndex(IndexFeed(services.storage.engine)), POLICY)
    matcher.refresh()
    yield services, matcher, known
    services.storage.close()


def test_a_reencoded_copy_matches_per_video_and_per_frame(video_banks, db_settings):
    _services, matcher, _known = video_banks
    # the same frames re-encoded in another codec and container: another file, same content
    copy = synthetic_video(11, seconds=6, fps=10, fmt="webm")
    result = hash_bytes(copy, settings=db_settings)

    views = matcher.match_result(result)

    by_type = {v.signal_type: v for v in views}
    video = by_type["vpdq"]
    assert isinstance(video, VideoMatchView)
    assert video.bank == "videos"
    assert video.trusted
    assert video.classification == "csam"
    assert video.query_match_percent >= 80.0
    assert video.compared_match_percent > 0
    still = by_type["pdq"]
    assert still.bank == "stills"
    assert still.frame is not None
    assert still.frames >= 1
    assert still.timestamp == pytest.approx(still.frame / 10, abs=0.001)
    assert "md5" not in by_type
    assert "sha256" not in by_type


def test_an_unrelated_video_and_a_disabled_bank_match_nothing(video_banks, db_settings):
    services, matcher, known = video_banks
    other = hash_bytes(synthetic_video(12, seconds=6, fps=10), settings=db_settings)
    assert matcher.match_result(other) == []

    exact = matcher.match_result(hash_bytes(known, settings=db_settings))
    assert {v.signal_type for v in exact} >= {"vpdq", "pdq"}

    services.banks.set_enabled("videos", False)
    matcher.refresh()
    after = matcher.match_result(hash_bytes(known, settings=db_settings))
    assert "vpdq" not in {v.signal_type for v in after}


def test_images_still_match_through_the_bank_index(video_banks, db_settings):
    services, matcher, _known = video_banks
    image = hash_bytes(synthetic_jpeg(3), settings=db_settings)
    assert matcher.match_result(image) == services.index.match_result(image)


def test_the_api_hashes_and_matches_a_video_upload(tmp_path):
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from keepdown.app import build_app
    from keepdown.auth import Role
    from tests.api.conftest import make_settings

    settings = make_settings(tmp_path, serve_workers=0)
    app, services = build_app(settings, refresh_in_background=False)
    with TestClient(app) as client:
        services.auth.ensure_organisation("acme")
        services.banks.create_bank("videos", owner="acme", trust="auto", label="csam")
        known = hash_bytes(synthetic_video(31, seconds=5, fps=10), settings=settings)
        services.banks.add_entry("videos", EntryRecord(SignalType.VPDQ, known.vpdq.hex))
        app.state.ctx.matcher.refresh()  # what the background refresher does every 2 s
        token = services.auth.issue_key("acme", Role.PLATFORM, expires_in=timedelta(days=1)).token
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "video/webm"}
        copy = synthetic_video(31, seconds=5, fps=10, fmt="webm")  # re-encoded: another file

        hashed = client.post("/api/v1/hash", content=copy, headers=headers)
        matched = client.post("/api/v1/match", content=copy, headers=headers)

    assert hashed.status_code == 200, hashed.text
    assert [f["frame"] for f in hashed.json()["vpdq"]] == [0, 10, 20, 30, 40]
    body = matched.json()
    assert body["matched"] is True, body
    video = next(m for m in body["matches"] if m["signal_type"] == "vpdq")
    assert video["bank"] == "videos"
    assert video["query_match_percent"] >= 80


def test_the_crawler_finds_a_known_video_in_a_video_element(settings):
    """A page's <video><source src> is fetched, hashed (vPDQ) and matched per video."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from click.testing import CliRunner

    from keepdown.app import open_crawl_services
    from keepdown.cli import cli
    from keepdown.cli.crawl_cmd import run_worker
    from keepdown.storage.crawl_store import list_sightings

    known = synthetic_video(41, seconds=4, fps=10)
    copy = synthetic_video(41, seconds=4, fps=10, fmt="webm")
    page = b'<html><body><video controls><source src="/clip.webm" type="video/webm"></video>'
    routes = {"/": (b"text/html", page), "/clip.webm": (b"video/webm", copy)}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            kind, body = routes.get(self.path, (b"text/plain", b""))
            self.send_response(200 if self.path in routes else 404)
            self.send_header("Content-Type", kind.decode())
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "KEEPDOWN_DATA_DIR": str(settings.data_path),
        "KEEPDOWN_CRAWL_ALLOWED_NETWORKS": "127.0.0.1/32",
        "KEEPDOWN_CRAWL_RESPECT_ROBOTS": "0",
        "KEEPDOWN_CRAWL_PER_HOST_DELAY_SECONDS": "0",
    }
    crawl_settings = settings.replace(
        crawl_allowed_networks="127.0.0.1/32", crawl_respect_robots=False
    )
    try:
        services = open_services(crawl_settings, SystemClock())
        hotline = crawl_settings.operator_organisation  # its banks take part in matching
        services.auth.ensure_organisation(hotline)
        services.banks.create_bank("videos", owner=hotline, trust="auto", label="csam")
        vpdq = hash_bytes(known, settings=settings).vpdq
        services.banks.add_entry("videos", EntryRecord(SignalType.VPDQ, vpdq.hex))
        services.storage.close()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        assert CliRunner(env=env).invoke(cli, ["report", url]).exit_code == 0
        crawl = open_crawl_services(crawl_settings)
        try:
            run_worker(crawl, once=True, out=io.StringIO())
            rows = list_sightings(crawl.storage.engine)
        finally:
            crawl.close()
    finally:
        server.shutdown()
        server.server_close()
    video = next(r for r in rows if r["media_url"].endswith("/clip.webm"))
    assert video["signal_type"] == "vpdq"
    assert video["bank"] == "videos"
    assert video["state"] == "pending_review"  # a near match: a person confirms it
