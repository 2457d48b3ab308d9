"""Where things live, hashing and matching (keepdown.hashing, keepdown.index, keepdown.matching).

Each attribute is one setting (:mod:`keepdown.settings.setting`); docs/settings.md lists them.
"""

from __future__ import annotations

from keepdown.settings.setting import MiB, flag, integer, names, number, text

__all__ = ["HashingSettings"]


class HashingSettings:
    """Where things live, hashing and matching."""

    data_dir = text(
        "~/.local/share/keepdown",
        "Folder for the embedded database, saved indexes and signing keys.",
    )
    database_url = text(
        "",
        "SQLAlchemy URL of the database; empty means SQLite at <data_dir>/keepdown.sqlite3. "
        "Use postgresql+psycopg://... for PostgreSQL.",
    )
    max_image_bytes = integer(
        50 * MiB,
        "Largest image file keepdown will decode, in bytes.",
        minimum=1,
    )
    max_image_pixels = integer(
        100_000_000,
        "Largest image, in pixels (width x height), keepdown will decode; larger is refused "
        "before any pixel is allocated (decompression bombs).",
        minimum=1,
    )
    max_gif_frames = integer(
        500,
        "Most frames hashed from one animated image when every frame is asked for.",
        minimum=1,
    )
    pdq_quality_floor = integer(
        50,
        "PDQ hashes with a quality below this are not matched (the reference recommends 50).",
        minimum=0,
        maximum=100,
    )
    hash_mode = text(
        "exact",
        "Default PDQ mode for scanning: 'exact' (bit-identical to the reference) or 'fast' "
        "(reduced-scale JPEG decode). Bank entries are always hashed in exact mode.",
        choices=("exact", "fast"),
    )
    apply_exif_orientation = flag(
        False,
        "Rotate images by their EXIF orientation before hashing. Off by default, as the "
        "reference does not, so hashes agree with existing hash lists.",
    )
    pdq_match_threshold = integer(
        31,
        "Default largest Hamming distance at which two PDQ hashes match (per bank overridable).",
        minimum=0,
        maximum=256,
    )
    hash_memory_budget_bytes = integer(
        768 * MiB,
        "Decoded-picture memory one process holds at once, across every request and worker: "
        "a decode takes its share (estimated from the picture's header) before any pixel and "
        "waits while others hold the rest; one picture larger than the budget runs alone.",
        minimum=16 * MiB,
    )
    hash_memory_wait_seconds = number(
        10.0,
        "How long an API request waits for its share of hash_memory_budget_bytes before it "
        "is answered 503 with Retry-After (batch work waits as long as it takes).",
        minimum=0,
    )
    bank_max_pdq_distance = integer(
        63,
        "Largest PDQ (and vPDQ frame) distance a bank may match at: a per-bank threshold above "
        "it is refused, and pdq_match_threshold or a value stored before is matched at it "
        "(unrelated pictures lie around 128 apart; 256 would match everything).",
        minimum=0,
        maximum=96,
    )
    match_dihedral = flag(True, "Also match the 8 rotations and mirrors of each image's PDQ hash.")
    robust_doors = names(
        ("crawl", "scan", "match", "recheck"),
        "Doors that also hash the robust query variants (trimmed, un-cropped, turned back) and "
        "look them up in the banks that opted in (`keepdown bank robust NAME on`): any of "
        "crawl, scan, match (keepdown match), recheck, upload (the API's uploads, Shield and "
        "HMA). An entry found only that way is a 'near (robust)' match, always for review. "
        "Costs at most 3x a normal match, and nothing while no bank opted in.",
    )
    robust_max_distance = integer(
        31,
        "Largest PDQ distance of a 'near (robust)' match (also held to the bank's threshold).",
        minimum=0,
        maximum=256,
    )
    index_dir = text("", "Folder for saved match indexes; empty means <data_dir>/index.")
    index_checkpoint_after = integer(
        100_000,
        "Write a new match index checkpoint to index_dir once this many entry changes were "
        "applied since the last one (so the next start loads it instead of rebuilding); 0: only "
        "by `keepdown index save`.",
        minimum=0,
    )
    index_verify_checkpoints = flag(
        True,
        "Check every file of a match index checkpoint against its SHA-256 before using it "
        "(about a second per GB); off checks only sizes and headers.",
    )
