"""Every door gives the same verdict for the same picture.

One fixed corpus of benign stand-ins goes through every way into keepdown: the API
(``POST /api/v1/match``), the Arachnid Shield endpoint (``/v1/media/``), the HMA lookup
(``POST /m/lookup``), ``keepdown match``, ``keepdown scan`` (local and ``--distributed`` on
task workers), a foreground crawl of a loopback page (``keepdown crawl``) and the same crawl
run as worker tasks. Each door's answer is reduced to the same verdict: whether it matched,
the best match's bank and kind (exact or near), and whether it may act without review. They
must all agree with the expected verdicts, on SQLite and PostgreSQL: a door that built its own
matcher (no videos, no allow-list, no rotations) disagrees somewhere and fails here.

The corpus: an exact copy of a banked picture, a re-encoded (near) copy, a rotated copy, a
near copy an analyst allow-listed, a video one of whose frames is banked, a picture of too
little detail (PDQ quality under the floor) whose hash is banked, a corrupt file, an
unrelated picture, a picture a person submitted through the self-submission programme (an
exact match in a self-submitted bank: review, never an automatic block, and held at the
upload doors) and a 5% centre crop of a picture in a bank that opted in to robust matching
(found only through a robust query variant: ``near (robust)``, review). Every door hashes the
robust variants here (``robust_doors`` includes ``upload``).
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import insert

from keepdown.app import Runtime, build_app, open_crawl_services
from keepdown.app.scanning import scan
from keepdown.app.workers import EmbeddedWorkers
from keepdown.auth import Role
from keepdown.banks.records import EntryRecord
from keepdown.cli import cli
from keepdown.cli.crawl_cmd import run_worker
from keepdown.clock import SystemClock
from keepdown.hashing import hash_bytes
from keepdown.hashing.pdq import DIHEDRAL_NAMES
from keepdown.hashing.types import SignalType
from keepdown.matching.views import best_match
from keepdown.scan import HashOptions
from keepdown.settings import Settings
from keepdown.storage.crawl_store import list_sightings
from keepdown.storage.tables_review import allow_list
from keepdown.testing import sample_image_paths, synthetic_video

pytestmark = pytest.mark.slow

OPERATOR = "hotline"
SELF_BANK = "self-submission-minors"


@dataclass(frozen=True)
class Verdict:
    """A door's answer for one item, reduced: ``kind`` is exact / near, ``acts`` whether the
    match may act without a person (None where the door does not say)."""

    matched: bool
    bank: str | None = None
    kind: str | None = None  # exact, near or near (robust)
    acts: bool | None = None

    def comparable(self, *, bank: bool = True, acts: bool = True) -> Verdict:
        return Verdict(
            self.matched, self.bank if bank else None, self.kind, self.acts if acts else None
        )


NO_MATCH = Verdict(False)
EXPECTED = {
    "exact.jpg": Verdict(True, "known", "exact", True),
    "near.jpg": Verdict(True, "known", "near", False),
    "rotated.jpg": Verdict(True, "known", "near", False),
    "allowed.jpg": NO_MATCH,
    "clip.webm": Verdict(True, "known", "near", False),
    "flat.png": NO_MATCH,
    "corrupt.jpg": NO_MATCH,
    "unrelated.jpg": NO_MATCH,
    "submitted.jpg": Verdict(True, SELF_BANK, "exact", False),
    "cropped.jpg": Verdict(True, "wide", "near (robust)", False),
}


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def corpus() -> dict[str, bytes]:
    samples = {p.name: p.read_bytes() for p in sample_image_paths()}
    known = samples["harbour-shapes.jpg"]
    picture = Image.open(io.BytesIO(known))
    wrongly = Image.open(io.BytesIO(samples["city-blocks.jpg"]))
    flat = Image.new("RGB", (320, 240), (90, 120, 150))
    out = io.BytesIO()
    flat.save(out, "PNG")
    lake = Image.open(io.BytesIO(samples["lake-mirror.jpg"]))
    width, height = lake.size
    dx, dy = int(width * 0.025), int(height * 0.025)
    cropped = lake.crop((dx, dy, width - dx, height - dy))
    return {
        "exact.jpg": known,
        "near.jpg": _jpeg(picture, 70),
        "rotated.jpg": _jpeg(picture.transpose(Image.Transpose.ROTATE_90), 90),
        "allowed.jpg": _jpeg(wrongly, 80),
        "clip.webm": synthetic_video(43, seconds=4, fps=10, fmt="webm"),
        "flat.png": out.getvalue(),
        "corrupt.jpg": known[: len(known) // 3],
        "unrelated.jpg": samples["meadow-texture.jpg"],
        "submitted.jpg": samples["stone-wall.jpg"],
        "cropped.jpg": _jpeg(cropped, 90),
    }


def seed(settings: Settings, files: dict[str, bytes]) -> None:
    """The trusted bank (SHA-256 and PDQ of the known picture, a frame of the video, the flat
    picture's PDQ, and the PDQ of a picture that ``allowed.jpg`` copies) and the allow-list
    entry an analyst made when ``allowed.jpg`` matched that entry: "not a match"; a trusted
    bank opted in to robust matching with the lake picture's PDQ; a person's submission of
    ``submitted.jpg`` (hashed as the page hashes it: the 8 PDQ variants, MD5, SHA-256)."""
    with Runtime.open(settings) as runtime:
        _seed_robust_and_submitted(runtime, settings, files)
        runtime.auth.ensure_organisation(OPERATOR)
        runtime.banks.create_bank("known", owner=OPERATOR, trust="auto", label="csam")
        known = hash_bytes(files["exact.jpg"], settings=settings)
        frame = hash_bytes(synthetic_video(43, seconds=4, fps=10), settings=settings)
        flat = hash_bytes(files["flat.png"], settings=settings)
        city = next(p for p in sample_image_paths() if p.name == "city-blocks.jpg")
        wrong = hash_bytes(city.read_bytes(), settings=settings).pdq
        assert flat.pdq is not None
        assert flat.quality < settings.pdq_quality_floor
        for kind, value in [
            (SignalType.SHA256, known.sha256.hex),
            (SignalType.PDQ, known.pdq.hex),
            (SignalType.PDQ, frame.frames_vpdq[2].feature.hash.hex),
            (SignalType.PDQ, flat.pdq.hex),
            (SignalType.PDQ, wrong.hex),
        ]:
            runtime.banks.add_entry("known", EntryRecord(kind, value))
        allowed = hash_bytes(files["allowed.jpg"], settings=settings)
        entry = runtime.storage.banks.get_entry(
            runtime.storage.banks.get_bank("known").id, "pdq", wrong.hex
        )
        with runtime.storage.engine.begin() as conn:  # an analyst's "not a match, allow-list"
            conn.execute(
                insert(allow_list).values(
                    sha256=allowed.sha256.hex,
                    pdq=allowed.pdq.hex,
                    bank="known",
                    entry_id=entry.id,
                    added_by="analyst",
                    added_at=SystemClock().now(),
                    reason="the same picture, not the material",
                    active=True,
                )
            )


def _seed_robust_and_submitted(
    runtime: Runtime, settings: Settings, files: dict[str, bytes]
) -> None:
    from keepdown.submissions import parse_form

    runtime.auth.ensure_organisation(OPERATOR)
    runtime.banks.create_bank("wide", owner=OPERATOR, trust="auto", label="csam")
    runtime.banks.change("wide", robust=True)
    lake = next(p for p in sample_image_paths() if p.name == "lake-mirror.jpg")
    lake_pdq = hash_bytes(lake.read_bytes(), settings=settings).pdq
    runtime.banks.add_entry("wide", EntryRecord(SignalType.PDQ, lake_pdq.hex))
    mine = hash_bytes(files["submitted.jpg"], settings=settings, dihedral=True)
    item = {
        "media": "image",
        "md5": mine.md5.hex,
        "sha256": mine.sha256.hex,
        "quality": mine.quality,
        "pdq": {name: mine.dihedral[name].hash.hex for name in DIHEDRAL_NAMES},
    }
    body = {"age_at_time": "13-15", "share_with_platforms": True, "items": [item]}
    receipt = runtime.submissions.submissions.submit(
        parse_form(body, max_items=20, quality_floor=settings.pdq_quality_floor)
    )
    assert receipt.submission.bank == SELF_BANK


class _Site(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        if name in ("", "index.html"):
            tags = [f'<img src="/{n}">' for n in self.files if not n.endswith(".webm")]
            tags.append('<video><source src="/clip.webm" type="video/webm"></video>')
            body = f"<html><body>{''.join(tags)}</body></html>".encode()
            kind = "text/html"
        elif name in self.files:
            body = self.files[name]
            kind = "video/webm" if name.endswith(".webm") else "image/jpeg"
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    _Site.files = corpus()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def doors_settings(tmp_path: Path, database_url: str) -> Settings:
    from keepdown.settings import load_settings

    return load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path / "data"),
            "database_url": database_url,
            "operator_organisation": OPERATOR,
            "crawl_allowed_networks": "127.0.0.1/32",
            "crawl_respect_robots": False,
            "crawl_per_host_delay_seconds": 0,
            "crawl_max_retries": 0,
            "crawl_turn_pages": 0,
            "auth_cache_seconds": 0,
            "serve_workers": 0,
            "worker_periodic_seconds": 1,
            "notice_worker_seconds": 0,
            "robust_doors": "crawl,scan,match,recheck,upload",
        },
    )


# --- each door, reduced to verdicts ------------------------------------------------------------


def _from_views(views: list[Any], verdict: str | None = None) -> Verdict:
    """The best match's bank and kind; ``acts`` from the door's own verdict when it gives one
    (``confirmed`` / ``review`` / ``no_match``)."""
    best = best_match(views)
    if best is None:
        assert verdict in (None, "no_match"), verdict
        return NO_MATCH
    return Verdict(
        True, best.bank, best.match_type, None if verdict is None else verdict == "confirmed"
    )


def api_doors(settings: Settings, files: dict[str, bytes]) -> dict[str, dict[str, Verdict]]:
    """``POST /api/v1/match``, Shield ``/v1/media/`` and HMA ``POST /m/lookup``."""
    app, runtime = build_app(settings, refresh_in_background=False)
    out: dict[str, dict[str, Verdict]] = {"api": {}, "shield": {}, "hma": {}}
    with TestClient(app) as client:
        token = runtime.auth.issue_key(OPERATOR, Role.PLATFORM, expires_in=timedelta(hours=1))
        auth = {"Authorization": f"Bearer {token.token}"}
        for name, data in files.items():
            answer = client.post("/api/v1/match", content=data, headers=auth)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            out["api"][name] = _from_views([_Item(m) for m in body["matches"]], body["verdict"])
            out["shield"][name] = _shield(client.post("/v1/media/", content=data, headers=auth))
            hma = client.post("/m/lookup", files={"photo": (name, data)}, headers=auth)
            out["hma"][name] = _hma(hma)
    return out


@dataclass(frozen=True)
class _Item:
    """A match as an answer shows it (what the ranking reads)."""

    raw: dict[str, Any]

    @property
    def bank(self) -> str:
        return str(self.raw["bank"])

    @property
    def entry_id(self) -> int:
        return int(self.raw.get("entry_id", 0))

    @property
    def distance(self) -> int:
        return int(self.raw.get("distance", 0))

    @property
    def match_type(self) -> str:
        return str(self.raw["match_type"])

    @property
    def trusted(self) -> bool:
        return False  # the door's verdict says whether a match acts, not the ranking


def _shield(answer: Any) -> Verdict:
    if answer.status_code == 422:  # undecodable: no verdict on the picture, no match
        return NO_MATCH
    assert answer.status_code == 200, answer.text
    body = answer.json()
    if body["match_type"] is None:
        return NO_MATCH
    kind = body["match_type"]
    if kind == "near":  # keepdown's own kind of the nearest match (near or near (robust))
        kind = body["near_match_details"][0]["keepdown_match_type"]
    return Verdict(True, None, kind, None)


def _hma(answer: Any) -> Verdict:
    if answer.status_code == 422:
        return NO_MATCH
    assert answer.status_code == 200, answer.text
    items = [
        _Item(
            {
                "bank": bank,
                "entry_id": m["bank_content_id"],
                "distance": int(m["distance"]),
                "match_type": (
                    "exact"
                    if signal in ("md5", "sha1", "sha256")
                    else m.get("keepdown_match_type", "near")
                ),
            }
        )
        for signal, banks in answer.json().items()
        for bank, matches in banks.items()
        for m in matches
    ]
    return _from_views(items)


def cli_match(settings: Settings, folder: Path) -> dict[str, Verdict]:
    env = {
        "KEEPDOWN_DATA_DIR": str(settings.data_path),
        "KEEPDOWN_OPERATOR_ORGANISATION": OPERATOR,  # the deployment's (its bank is pooled)
    }
    args = ["--database-url", settings.resolved_database_url]
    result = CliRunner(env=env).invoke(
        cli, [*args, "match", "--format", "jsonl", "--all", str(folder)], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output  # 1: something matched
    out: dict[str, Verdict] = {}
    for line in result.stdout.splitlines():
        record = json.loads(line)
        items = [_Item(m) for m in record["matches"]]
        out[Path(record["path"]).name] = _from_views(items, record["verdict"])
    return out


def scan_rows(report: Path) -> dict[str, Verdict]:
    out: dict[str, Verdict] = {}
    for line in report.read_text().splitlines():
        row = json.loads(line)
        items = [_Item(row)] if row.get("bank") else []
        out[Path(row["path"]).name] = _from_views(items, row["verdict"])
    return out


def crawl_rows(rows: list[dict[str, Any]]) -> dict[str, Verdict]:
    out: dict[str, Verdict] = {}
    for row in rows:
        name = row["media_url"].rsplit("/", 1)[-1]
        if row["state"] == "unmatched" or row["bank"] is None:
            out[name] = NO_MATCH
        else:
            out[name] = Verdict(True, row["bank"], row["match_type"], row["state"] == "confirmed")
    return out


def _complete(found: dict[str, Verdict]) -> dict[str, Verdict]:
    """Items a door recorded nothing for (a crawl keeps no sighting of an undecodable file
    it could not match) count as no match."""
    return {name: found.get(name, NO_MATCH) for name in EXPECTED}


# --- the test ----------------------------------------------------------------------------------


def test_every_door_gives_the_same_verdict(doors_settings: Settings, site: str, tmp_path: Path):
    settings = doors_settings
    files = corpus()
    seed(settings, files)
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)

    doors: dict[str, dict[str, Verdict]] = {}
    doors.update(api_doors(settings, files))
    doors["keepdown match"] = cli_match(settings, folder)

    options = HashOptions(mode="exact", dihedral=True, video=True)
    scan(settings, str(folder), tmp_path / "local.jsonl", options=options, progress=False)
    doors["keepdown scan"] = scan_rows(tmp_path / "local.jsonl")

    crawls = open_crawl_services(settings)
    try:
        crawls.reports.intake(f"{site}/", reporter_type="hotline", now=crawls.clock.now())
        run_worker(crawls, once=True, out=io.StringIO())
        doors["keepdown crawl"] = _complete(crawl_rows(list_sightings(crawls.storage.engine)))
    finally:
        crawls.close()

    doors.update(worker_doors(settings, folder, site, tmp_path))

    for door, found in doors.items():
        bank = door != "shield"  # Shield's answer names no bank
        acts = door not in ("shield", "hma")  # nor do they say whether a match acts alone
        for name, expected in EXPECTED.items():
            assert found[name].comparable(bank=bank, acts=acts) == expected.comparable(
                bank=bank, acts=acts
            ), f"{door} on {name}: {found[name]} (expected {expected})"


def worker_doors(
    settings: Settings, folder: Path, site: str, tmp_path: Path
) -> dict[str, dict[str, Verdict]]:
    """A distributed scan and a crawl, both run by task workers of this process."""
    runtime = Runtime(settings)
    workers = EmbeddedWorkers(runtime)
    workers.start()
    out: dict[str, dict[str, Verdict]] = {}
    try:
        options = HashOptions(mode="exact", dihedral=True, video=True)
        report = tmp_path / "distributed.jsonl"
        scan(settings, str(folder), report, options=options, distributed=True, progress=False)
        out["keepdown scan --distributed"] = scan_rows(report)
        crawls = runtime.crawling
        intake = crawls.reports.intake(
            f"{site}/index.html", reporter_type="hotline", now=runtime.clock.now()
        )
        crawl_id = intake.record.crawl_id
        deadline = time.monotonic() + 180
        while crawls.crawls.get(crawl_id).state != "done":
            assert time.monotonic() < deadline, "the workers did not finish the crawl"
            time.sleep(0.5)
        rows = list_sightings(runtime.storage.engine, crawl_id=crawl_id)
        out["worker crawl"] = _complete(crawl_rows(rows))
    finally:
        workers.stop()
        runtime.close()
    return out


def test_serve_holds_one_index(doors_settings: Settings, site: str) -> None:
    """The API, the web pages and the embedded workers of ``keepdown serve`` share one index:
    one build, however many of them match."""
    from keepdown.matching.live import BankIndex

    settings = doors_settings.replace(serve_workers=1)
    files = corpus()
    seed(settings, files)
    before = BankIndex.builds
    app, runtime = build_app(settings)
    with TestClient(app) as client:
        token = runtime.auth.issue_key(OPERATOR, Role.PLATFORM, expires_in=timedelta(hours=1))
        answer = client.post(
            "/api/v1/match",
            content=files["exact.jpg"],
            headers={"Authorization": f"Bearer {token.token}"},
        )
        assert answer.json()["matched"]
        intake = runtime.crawling.reports.intake(
            f"{site}/", reporter_type="hotline", now=runtime.clock.now()
        )
        deadline = time.monotonic() + 180
        while runtime.crawling.crawls.get(intake.record.crawl_id).state != "done":
            assert time.monotonic() < deadline, "the embedded workers did not crawl"
            time.sleep(0.5)
        assert list_sightings(runtime.storage.engine, states=["confirmed"])
    assert BankIndex.builds - before == 1
