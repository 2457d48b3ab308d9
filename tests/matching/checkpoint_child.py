"""One of two processes sharing an index_dir (run by test_shared_index_dir.py).

Each round it starts a BankIndex from the shared checkpoints (or the database), checks that
the index answers for exactly the database's active entries up to the id it reached, and
writes a checkpoint (or finds the other process writing one). One JSON line per round.

    python -m tests.matching.checkpoint_child DATABASE_URL INDEX_DIR ROUNDS
"""

from __future__ import annotations

import json
import sys

from sqlalchemy import text

from keepdown.index.checkpoint import CheckpointDir
from keepdown.matching.live import BankIndex
from keepdown.storage import open_storage_url
from keepdown.storage.index_feed import IndexFeed

from .helpers import visible


def main(url: str, folder: str, rounds: int) -> int:
    storage = open_storage_url(url, migrate=False)
    for _ in range(rounds):
        index = BankIndex(
            IndexFeed(storage.engine),
            storage.banks.list_banks,
            checkpoints=CheckpointDir(folder),
            checkpoint_after=0,
            background=False,
        )
        index.refresh()
        top = index.status()["max_entry_id"]
        with storage.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, bank_id, value FROM bank_entries "
                    "WHERE id <= :top AND removed_at IS NULL"
                ),
                {"top": top},
            ).all()
        want = {("pdq", int(i), int(b), v) for i, b, v in rows}
        got = visible(index.snapshot)
        if got != want:
            print(json.dumps({"error": f"{len(got ^ want)} entries differ at id {top}"}))
            return 1
        saved = index.checkpoint()
        print(json.dumps({"loaded_from": index.loaded_from, "saved": saved, "top": top}))
        sys.stdout.flush()
    storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
