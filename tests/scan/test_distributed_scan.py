"""``keepdown scan --distributed``: batches as tasks on a real Redis queue, hashed and matched by
a ``keepdown worker`` process; the report is the same as a local scan's."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from tests.tasks.conftest import REDIS_URL

from .test_scan import REPO, banked, check_rows, files, rows_of, run_scan, write_folder  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture
def queue_env(banked):  # noqa: F811
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc}): run scripts/services.sh")
    name = f"kd-scan-{uuid.uuid4().hex[:10]}"
    env = {
        "KEEPDOWN_DATA_DIR": str(banked.data_path),
        "KEEPDOWN_TASK_QUEUE_URL": REDIS_URL,
        "KEEPDOWN_TASK_QUEUE_NAME": name,
        "KEEPDOWN_NOTICE_WORKER_SECONDS": "0",
        "KEEPDOWN_SCAN_BATCH_SIZE": "4",
    }
    yield env
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)
    client.close()


def test_distributed_scan_on_a_worker(banked, queue_env, tmp_path):  # noqa: F811
    folder = write_folder(tmp_path / "shared")
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEEPDOWN_")}
    worker = subprocess.Popen(
        [sys.executable, "-m", "keepdown", "worker", "--concurrency", "2"],
        cwd=REPO,
        env=base | queue_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        report = tmp_path / "d.jsonl"
        done = run_scan(
            banked, str(folder), "--report", str(report), "--distributed", "--video", env=queue_env
        )
        assert done.exit_code == 1, done.output
    finally:
        worker.terminate()
        worker.wait(30)
    rows = rows_of(report)
    assert len(rows) == len(files())
    check_rows(rows)
    assert rows["clips/known-clip.webm"]["match"] is True
