"""Bulk scanning: hash and match everything a platform already stores.

``keepdown scan SOURCE`` reads a folder, a ZIP or TAR archive, a list of URLs or an S3 bucket
(:mod:`~keepdown.scan.sources`, :mod:`~keepdown.scan.remote`), hashes every item on every core
or as tasks across the workers (:mod:`~keepdown.scan.runner`, :mod:`~keepdown.scan.items`),
matches it against the banks and writes a resumable report in JSONL and CSV
(:mod:`~keepdown.scan.report`). ``docs/scan.md`` is the guide.
"""

from __future__ import annotations

from keepdown.scan.items import FIELDS, Hashed, HashOptions, hash_payload, report_row
from keepdown.scan.report import Report
from keepdown.scan.runner import Scanner, ScanSummary, hash_batch
from keepdown.scan.sources import Item, Source, open_source

__all__ = [
    "FIELDS",
    "HashOptions",
    "Hashed",
    "Item",
    "Report",
    "ScanSummary",
    "Scanner",
    "Source",
    "hash_batch",
    "hash_payload",
    "open_source",
    "report_row",
]
