"""Workers, scans and video (keepdown.tasks, keepdown.scan; docs/operations.md).

Each attribute is one setting (:mod:`keepdown.settings.setting`); docs/settings.md lists them.
"""

from __future__ import annotations

from keepdown.settings.setting import MiB, integer, number, secret_ref, text

__all__ = ["WorkerSettings"]


class WorkerSettings:
    """Workers, scans and video."""

    task_queue_url = text(
        "",
        "Task queue backend: '' is an embedded SQLite queue at <data_dir>/tasks.sqlite3 (one "
        "machine, no server); redis://host:6379/0 shares the queue between machines; "
        "memory:// keeps it in this process only.",
    )
    task_queue_name = text(
        "keepdown",
        "Name of the queue (the Redis key prefix): processes with the same URL and name share "
        "work.",
    )
    worker_concurrency = integer(
        2,
        "Tasks one `keepdown worker` runs at once (threads).",
        minimum=1,
    )
    serve_workers = integer(
        1,
        "In-process workers `keepdown serve` runs next to the API (0: API only; run "
        "`keepdown worker` elsewhere).",
        minimum=0,
    )
    worker_periodic_seconds = number(
        30.0,
        "How often a worker looks in the database for due work (pending crawls, due notices "
        "and re-checks) and queues it.",
        above=0,
    )
    worker_crawl_slice_seconds = number(
        60.0,
        "Longest one crawl task runs before it hands the rest of the crawl to a new task.",
        above=0,
    )
    worker_crawl_slice_urls = integer(
        200,
        "Most URLs one crawl task leases before it hands the rest of the crawl to a new task.",
        minimum=1,
    )
    worker_crawl_parallelism = integer(
        2,
        "Crawl tasks queued at once for one crawl (they share its frontier through leases).",
        minimum=1,
    )
    scan_processes = integer(
        0,
        "Processes `keepdown scan` hashes with (0: one per core).",
        minimum=0,
    )
    scan_batch_size = integer(
        32,
        "Items hashed per batch (per task with --distributed).",
        minimum=1,
    )
    scan_max_archive_members = integer(
        1_000_000,
        "Most members read from one ZIP/TAR archive scanned; the rest are reported skipped.",
        minimum=1,
    )
    scan_max_archive_bytes = integer(
        64 * 1024 * MiB,
        "Most uncompressed bytes read from one archive scanned; the rest are reported skipped.",
        minimum=1,
    )
    scan_max_member_ratio = integer(
        200,
        "Largest compression ratio of an archive member; a higher one is a zip bomb, skipped.",
        minimum=1,
    )
    s3_endpoint_url = text(
        "",
        "Endpoint of an S3-compatible store for `keepdown scan s3://...` ('' = AWS).",
    )
    s3_region = text("", "Region of the S3 store ('' = boto3's default).")
    s3_access_key_env = secret_ref(
        "Name of an environment variable holding the S3 access key id ('' = boto3's own "
        "credential chain).",
    )
    s3_secret_key_env = secret_ref(
        "Name of an environment variable holding the S3 secret access key.",
    )
    video_seconds_per_hash = number(
        1.0,
        "vPDQ: seconds of video between two hashed frames (0: every frame).",
        minimum=0,
    )
    video_downsample = integer(
        0,
        "vPDQ: scale each frame to N x N pixels before hashing (0: native size; 128 is "
        "faster and what some hash lists use).",
        minimum=0,
    )
    video_max_bytes = integer(500 * MiB, "Largest video file keepdown hashes, in bytes.", minimum=1)
    video_max_seconds = number(3600.0, "Longest video keepdown hashes, in seconds.", above=0)
    video_max_frames = integer(20_000, "Most frames hashed from one video.", minimum=1)
    video_max_pixels = integer(
        3840 * 2160,
        "Largest video frame (width x height) keepdown decodes.",
        minimum=1,
    )
    vpdq_match_threshold = integer(
        31,
        "Largest PDQ distance at which two video frames match (vPDQ).",
        minimum=0,
        maximum=256,
    )
    vpdq_quality_floor = integer(
        50,
        "Video frames with a PDQ quality below this are left out of vPDQ matching.",
        minimum=0,
        maximum=100,
    )
    vpdq_query_match_percent = number(
        80.0,
        "vPDQ: share of the query video's frames that must match a bank video's frames.",
        minimum=0,
        maximum=100,
    )
    vpdq_compared_match_percent = number(
        0.0,
        "vPDQ: share of the bank video's frames that must match the query's frames.",
        minimum=0,
        maximum=100,
    )
