"""Issue 16, item 6: the pictures decoded at once hold a bounded amount of memory.

Three 9999 x 9999 PNG uploads at once peaked at 3.1 GB and the process stayed at 1.1 GB
after. Now every decode draws on the process's budget (keepdown/hashing/budget.py): these
tests check the bound at a smaller scale (a 64 MiB budget, pictures of ~60 MB each, eight
threads), the 503 a caller with a deadline gets, that the strip-wise conversion gives the
same pixels as converting the whole picture, and that memory goes back after. The full-size
measurement (16 uploads of the largest picture through the API) is benchmarks/upload_memory.py.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from PIL import Image

from keepdown.errors import Overloaded
from keepdown.hashing import budget, decode, hash_bytes
from keepdown.hashing.budget import DecodeBudget
from keepdown.settings import load_settings


def test_holders_never_exceed_the_capacity() -> None:
    pool = DecodeBudget(100)
    inside, most = 0, 0
    lock = threading.Lock()

    def work(cost: int) -> None:
        nonlocal inside, most
        with pool.hold(cost):
            with lock:
                inside += cost
                most = max(most, inside)
            time.sleep(0.01)
            with lock:
                inside -= cost

    threads = [threading.Thread(target=work, args=(30 + i % 3 * 10,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 0 < most <= 100
    assert pool.peak <= 100
    assert pool.in_use == 0


def test_a_picture_larger_than_the_budget_runs_alone() -> None:
    pool = DecodeBudget(100)
    with pool.hold(500):
        assert pool.in_use == 100  # it takes the whole budget...
        with pytest.raises(Overloaded), pool.hold(1, wait=0.05):  # ...nothing runs beside it
            pass
    with pool.hold(500):  # and it is admitted again once alone
        pass


def test_a_caller_with_a_deadline_gets_503_with_retry_after() -> None:
    png = io.BytesIO()
    Image.new("RGB", (200, 200), (10, 200, 30)).save(png, "PNG")
    process = budget.process_budget()
    with process.hold(process.capacity), pytest.raises(Overloaded) as refused:
        hash_bytes(png.getvalue(), wait=0.05)
    assert refused.value.http_status == 503
    assert refused.value.details["retry_after"] >= 1
    assert hash_bytes(png.getvalue(), wait=0.05).pdq is not None  # free again


MODES = ["RGB", "RGBA", "P", "L", "LA", "PA", "CMYK", "I;16", "I", "F", "1"]


@pytest.mark.parametrize("mode", MODES)
def test_strip_conversion_gives_the_whole_pictures_pixels(monkeypatch, mode: str) -> None:
    rng = np.random.default_rng(7)
    base = Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8), "RGB")
    if mode in ("I", "F"):
        values = rng.normal(300.0, 900.0, (37, 53)).astype(np.float32 if mode == "F" else np.int32)
        if mode == "F":
            values[3, 4] = np.nan
        im = Image.fromarray(values, mode)
    elif mode == "I;16":
        im = Image.fromarray(rng.integers(0, 65536, (37, 53), dtype=np.uint16))
        assert im.mode == "I;16"
    elif mode == "PA":
        im = base.convert("P").convert("PA")
    else:
        im = base.convert(mode)
    whole = decode.to_rgb(im)
    monkeypatch.setattr(decode, "STRIP_PIXELS", 53 * 4)  # four rows a strip: ten strips
    assert np.array_equal(decode.to_rgb(im), whole)


def test_an_exact_jpeg_decodes_without_pillow_and_hashes_the_same() -> None:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=85)
    data = out.getvalue()
    settings = load_settings(environ={})
    with Image.open(io.BytesIO(data)) as im:
        reference = hash_bytes(data, settings=settings).pdq
        from keepdown.hashing.pdq import pdq_from_rgb

        assert pdq_from_rgb(np.asarray(im.convert("RGB"))).hash == reference


CHILD = textwrap.dedent(
    """
    import io, resource, sys, threading
    from PIL import Image, ImageDraw
    from keepdown.hashing import budget, hash_bytes, memory
    from keepdown.hashing.pdq import warm_up

    capacity = int(sys.argv[1])
    memory.tune_allocator()
    budget.configure(capacity)
    warm_up()
    pictures = []
    for i in range(8):  # 3000 x 3000 RGB: ~63 MB each to decode (7 bytes a pixel)
        im = Image.new("RGB", (3000, 3000), (40 + i, 90, 160))
        ImageDraw.Draw(im).rectangle([100 * i, 50, 900 + 100 * i, 2000], fill=(200, 30, 30))
        out = io.BytesIO()
        im.save(out, "PNG")
        pictures.append(out.getvalue())
        del im
    def rss():
        return int(open("/proc/self/statm").read().split()[1]) * 4096
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    idle = rss()
    threads = [threading.Thread(target=hash_bytes, args=(p,)) for p in pictures]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(peak - base, rss() - idle, budget.process_budget().peak)
    """
)


def test_eight_large_pictures_at_once_stay_within_the_budget_and_memory_goes_back() -> None:
    capacity = 70 * 1024 * 1024  # one 3000 x 3000 picture at a time
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(capacity)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    growth, kept, held = (int(x) for x in run.stdout.split())
    assert held <= capacity
    # unbounded, eight decodes at once grow the process by ~500 MB
    assert growth < 2 * capacity, f"grew {growth / 2**20:.0f} MiB"
    assert kept < 40 * 1024 * 1024, f"kept {kept / 2**20:.0f} MiB after"


def test_the_api_waits_for_the_budget_then_answers_503(tmp_path) -> None:
    """The wiring: the settings size the process budget (hash_memory_budget_bytes), and an
    upload that cannot get its share within hash_memory_wait_seconds is a 503 with
    Retry-After; once the budget is free the same upload is matched."""
    from fastapi.testclient import TestClient

    from keepdown.app import build_app
    from keepdown.auth import Role
    from keepdown.testing import synthetic_jpeg
    from tests.api.conftest import make_settings

    settings = make_settings(
        tmp_path, hash_memory_budget_bytes=32 * 1024 * 1024, hash_memory_wait_seconds=0
    )
    try:
        app, runtime = build_app(settings, refresh_in_background=False)
        assert budget.process_budget().capacity == 32 * 1024 * 1024
        with TestClient(app) as client:
            runtime.auth.ensure_organisation("acme")
            key = runtime.auth.issue_key("acme", Role.PLATFORM).token
            headers = {"Authorization": f"Bearer {key}"}
            with budget.process_budget().hold(32 * 1024 * 1024):  # other decodes hold it all
                busy = client.post("/api/v1/match", content=synthetic_jpeg(5), headers=headers)
            assert busy.status_code == 503, busy.text
            assert int(busy.headers["Retry-After"]) >= 1
            assert busy.json()["code"] == "overloaded"
            free = client.post("/api/v1/match", content=synthetic_jpeg(5), headers=headers)
            assert free.status_code == 200, free.text
    finally:
        budget.configure(budget.DEFAULT_BUDGET_BYTES)
