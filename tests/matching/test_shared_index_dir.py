"""Two processes share one index_dir while the banks change: each always loads a complete
checkpoint (or none), never a half-written one, and answers exactly for the database."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

from keepdown.index.checkpoint import CheckpointDir
from keepdown.storage import open_storage_url
from tests.conftest import REPO

from .helpers import pdq_values, put
from .test_checkpoints import _banks, _index, _same


def test_two_processes_share_one_index_dir(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    folder = tmp_path / "idx"
    storage = open_storage_url(url)
    rng = random.Random(11)
    _banks(storage)
    values = pdq_values(6000, rng)
    put(storage, "wide", values)
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.matching.checkpoint_child", url, str(folder), "8"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    while any(c.poll() is None for c in children):  # the banks change under them
        more = pdq_values(100, rng)
        put(storage, "tight", more)
        values += more
        time.sleep(0.2)
    rounds = []
    for child in children:
        out, err = child.communicate()
        assert child.returncode == 0, out + err
        rounds += [json.loads(line) for line in out.splitlines()]
    assert len(rounds) == 16
    assert any(r["loaded_from"].startswith("ck-") for r in rounds)  # they used each other's
    assert sum(r["saved"] is not None for r in rounds) >= 8
    # What is left on disk: CURRENT and at most two checkpoints, no temporaries.
    names = sorted(p.name for p in folder.iterdir() if p.name != ".lock")
    assert names[0] == "CURRENT", names
    assert all(n.startswith("ck-") for n in names[1:]), names
    assert 1 <= len(names[1:]) <= 2, names
    index = _index(storage, folder)
    assert index.loaded_from == CheckpointDir(folder).current()
    _same(storage, index, values, rng)
    storage.close()
