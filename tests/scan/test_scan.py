"""``keepdown scan``: a folder, ZIP and TAR archives, a URL list (loopback, through the SSRF
guard) and an S3 bucket (moto in server mode on loopback); bad items reported one by one;
resumption after SIGKILL with each item in the report exactly once.

Every picture is benign and generated; "known" ones are stand-ins whose hashes are in a bank.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from keepdown.app import open_services
from keepdown.banks.records import EntryRecord
from keepdown.cli import cli
from keepdown.clock import SystemClock
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import SignalType
from keepdown.testing import synthetic_jpeg, synthetic_video

REPO = Path(__file__).resolve().parents[2]
KNOWN = [synthetic_jpeg(7000 + i, 320, 240) for i in range(3)]


def reencoded(data: bytes) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(data)).save(out, "JPEG", quality=60)
    return out.getvalue()


@pytest.fixture
def banked(settings):
    """A trusted bank with the known stand-ins (SHA-256 and PDQ) and a known video (vPDQ)."""
    services = open_services(settings, SystemClock())
    try:
        services.auth.ensure_organisation(services.settings.operator_organisation)
        services.banks.create_bank(
            "known", owner=services.settings.operator_organisation, trust="auto", label="csam"
        )
        for data in KNOWN:
            result = hash_bytes(data, settings=settings)
            services.banks.add_entry("known", EntryRecord(SignalType.SHA256, result.sha256.hex))
            services.banks.add_entry("known", EntryRecord(SignalType.PDQ, result.pdq.hex))
        video = hash_bytes(synthetic_video(21, seconds=4), settings=settings)
        services.banks.add_entry("known", EntryRecord(SignalType.VPDQ, video.vpdq.hex))
    finally:
        services.storage.close()
    return settings


def files() -> dict[str, bytes]:
    """Benign pictures, two known (one as is, one re-encoded), a corrupt and a truncated one,
    a text file and a video."""
    out = {f"photos/{i:03d}.jpg": synthetic_jpeg(i, 200 + i, 150) for i in range(20)}
    out["photos/known-as-is.jpg"] = KNOWN[0]
    out["photos/deeper/known-reencoded.jpg"] = reencoded(KNOWN[1])
    out["photos/corrupt.jpg"] = b"\xff\xd8\xff\xe0" + os.urandom(300)
    out["photos/truncated.jpg"] = synthetic_jpeg(55)[:900]
    out["notes.txt"] = b"not a picture"
    out["clips/known-clip.webm"] = synthetic_video(21, seconds=4, fmt="webm")
    return out


def write_folder(root: Path) -> Path:
    for name, data in files().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def run_scan(settings, *args: str, env: dict[str, str] | None = None):
    runner = CliRunner(env=env)
    base = ["--data-dir", str(settings.data_path)]
    return runner.invoke(cli, [*base, "scan", *args, "--no-progress"])


def rows_of(report: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    by_path = {r["path"]: r for r in rows}
    assert len(by_path) == len(rows), "an item is in the report twice"
    return by_path


def check_rows(rows: dict[str, dict], prefix: str = "") -> None:
    assert rows[f"{prefix}photos/known-as-is.jpg"]["match"] is True
    assert rows[f"{prefix}photos/known-as-is.jpg"]["match_type"] == "exact"
    assert rows[f"{prefix}photos/known-as-is.jpg"]["bank"] == "known"
    near = rows[f"{prefix}photos/deeper/known-reencoded.jpg"]
    assert near["match"] is True
    assert near["signal_type"] == "pdq"
    assert near["distance"] <= 31
    assert near["variant"] == "original"
    assert rows[f"{prefix}photos/corrupt.jpg"]["error"].startswith("decode_error")
    assert rows[f"{prefix}photos/corrupt.jpg"]["sha256"]  # exact hashes all the same
    assert rows[f"{prefix}photos/truncated.jpg"]["error"]
    assert rows[f"{prefix}notes.txt"]["error"]
    assert not rows[f"{prefix}notes.txt"]["match"]
    matched = {p for p, r in rows.items() if r["match"]}
    assert matched <= {
        f"{prefix}photos/known-as-is.jpg",
        f"{prefix}photos/deeper/known-reencoded.jpg",
        f"{prefix}clips/known-clip.webm",
    }


def test_folder_scan_matches_reports_and_writes_csv(banked, tmp_path):
    folder = write_folder(tmp_path / "share")
    report = tmp_path / "out" / "scan.jsonl"
    done = run_scan(banked, str(folder), "--report", str(report), "--processes", "2", "--video")

    assert done.exit_code == 1, done.output  # something matched
    rows = rows_of(report)
    assert len(rows) == len(files())
    check_rows(rows)
    clip = rows["clips/known-clip.webm"]
    assert clip["match"] is True
    assert clip["signal_type"] in ("vpdq", "pdq")
    assert clip["frames"] == 4
    with (tmp_path / "out" / "scan.csv").open() as stream:
        table = list(csv.DictReader(stream))
    assert {r["path"] for r in table} == set(rows)

    again = run_scan(banked, str(folder), "--report", str(report))
    assert "0 hashed now" in again.output  # all done: nothing hashed twice
    assert len(rows_of(report)) == len(files())


def test_without_video_a_video_gets_file_hashes_only(banked, tmp_path):
    folder = write_folder(tmp_path / "share")
    report = tmp_path / "scan.jsonl"
    run_scan(banked, str(folder), "--report", str(report), "--processes", "1")
    clip = rows_of(report)["clips/known-clip.webm"]
    assert clip["sha256"]
    assert clip["match"] is False
    assert "--video" in clip["error"]


def test_zip_and_tar_archives(banked, tmp_path):
    members = files()
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        z.writestr("bomb.bin", b"\0" * 5_000_000)  # compresses over 1000:1
    done = run_scan(banked, str(archive), "--report", str(tmp_path / "z.jsonl"))
    assert done.exit_code == 1, done.output
    rows = rows_of(tmp_path / "z.jsonl")
    check_rows(rows, prefix="upload.zip!")
    assert rows["upload.zip!bomb.bin"]["error"].startswith("zip_bomb")
    assert rows["upload.zip!bomb.bin"]["sha256"] is None  # never inflated

    tar_path = tmp_path / "upload.tar.gz"
    with tarfile.open(tar_path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    done = run_scan(banked, str(tar_path), "--report", str(tmp_path / "t.jsonl"))
    assert done.exit_code == 1, done.output
    check_rows(rows_of(tmp_path / "t.jsonl"), prefix="upload.tar.gz!")


def test_archive_limits_are_reported_per_member(banked, tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(5):
            z.writestr(f"{i}.jpg", synthetic_jpeg(i, 64, 64))
    limit = {"KEEPDOWN_SCAN_MAX_ARCHIVE_MEMBERS": "3"}
    run_scan(banked, str(archive), "--report", str(tmp_path / "m.jsonl"), env=limit)
    rows = rows_of(tmp_path / "m.jsonl")
    skipped = [r for r in rows.values() if r["error"] and "scan_max_archive_members" in r["error"]]
    assert len(rows) == 5
    assert len(skipped) == 2


class _Site(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.routes.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


def test_url_list_goes_through_the_ssrf_guard(banked, tmp_path):
    _Site.routes = {"/a.jpg": KNOWN[2], "/b.jpg": synthetic_jpeg(3)}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# found by a platform\n{base}/a.jpg\n{base}/b.jpg\n{base}/gone.jpg\n")
    try:
        refused = run_scan(banked, str(listing), "--report", str(tmp_path / "r1.jsonl"))
        rows = rows_of(tmp_path / "r1.jsonl")  # loopback not allowed: refused, not fetched
        assert all(r["error"].startswith("invalid_input: blocked_address") for r in rows.values())
        assert refused.exit_code == 0

        allow = {"KEEPDOWN_CRAWL_ALLOWED_NETWORKS": "127.0.0.1/32"}
        done = run_scan(banked, str(listing), "--report", str(tmp_path / "r2.jsonl"), env=allow)
        rows = rows_of(tmp_path / "r2.jsonl")
        assert done.exit_code == 1, done.output
        assert rows[f"{base}/a.jpg"]["match"] is True
        assert rows[f"{base}/b.jpg"]["match"] is False
        assert "404" in rows[f"{base}/gone.jpg"]["error"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def s3_bucket(tmp_path):
    """A moto S3 server on loopback with a bucket of the test files."""
    pytest.importorskip("moto.server")
    from moto.server import ThreadedMotoServer

    from tests.notices.conftest import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    import boto3

    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="platform-media")
    for name, data in files().items():
        client.put_object(Bucket="platform-media", Key=f"uploads/{name}", Body=data)
    client.put_object(Bucket="platform-media", Key="other/skip.jpg", Body=KNOWN[0])
    yield endpoint
    server.stop()


def test_s3_bucket_through_boto3(banked, tmp_path, s3_bucket):
    env = {"KEEPDOWN_S3_ENDPOINT_URL": s3_bucket, "KEEPDOWN_S3_REGION": "us-east-1"}
    report = tmp_path / "s3.jsonl"
    done = run_scan(banked, "s3://platform-media/uploads/", "--report", str(report), env=env)
    assert done.exit_code == 1, done.output
    rows = rows_of(report)
    assert len(rows) == len(files())
    check_rows(rows, prefix="s3://platform-media/uploads/")


def test_killed_scan_resumes_with_each_item_once(banked, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(400):
        (folder / f"{i:04d}.jpg").write_bytes(synthetic_jpeg(i, 120, 90))
    (folder / "known.jpg").write_bytes(KNOWN[0])
    report = tmp_path / "scan.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPDOWN_")}
    env |= {"KEEPDOWN_DATA_DIR": str(banked.data_path), "KEEPDOWN_SCAN_BATCH_SIZE": "8"}
    command = [sys.executable, "-m", "keepdown", "scan", str(folder), "--report", str(report)]
    first = subprocess.Popen(
        [*command, "--processes", "1", "--no-progress"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not report.exists() or report.read_text().count("\n") < 60:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    with report.open("ab") as stream:
        stream.write(b'{"path": "cut-short')  # as if the kill had landed mid-line
    written = report.read_text().count("\n")
    assert 60 <= written < 401

    second = subprocess.run(
        [*command, "--processes", "2", "--no-progress"], cwd=REPO, env=env, capture_output=True
    )
    assert second.returncode == 1, second.stderr.decode()[-2000:]
    assert f"{401 - written} hashed now" in second.stdout.decode()
    rows = rows_of(report)
    assert len(rows) == 401
    assert set(rows) == {p.name for p in folder.iterdir()}
    assert rows["known.jpg"]["match"] is True
