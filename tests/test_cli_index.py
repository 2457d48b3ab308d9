"""`keepdown index save|status|clear`, and `keepdown match` starting from the checkpoint."""

# ruff: noqa: F401, F811 (the fixtures `run` and `scene` come from test_cli_match)

from __future__ import annotations

import logging
from pathlib import Path

from keepdown.hashing import hash_file
from tests.test_cli_match import _textured, run, scene


def _started_from(caplog) -> str:
    starts = [r.getMessage() for r in caplog.records if "refreshed (start" in r.getMessage()]
    assert starts, [r.getMessage() for r in caplog.records]
    return starts[-1]


def test_save_status_and_match_from_the_checkpoint_plus_changes(run, scene, tmp_path, caplog):
    index_dir = tmp_path / "data" / "index"
    assert "no checkpoint" in run("index", "status").stdout
    saved = run("index", "save").stdout
    assert saved.startswith("checkpoint ck-")
    assert "pdq 2, md5 2" in saved
    status = run("index", "status").stdout
    assert "0 newer active entries" in status
    assert "usable" in status
    current = (index_dir / "CURRENT").read_text().strip()

    # Changes after the checkpoint: a new stand-in, and the removal of an old one's hashes.
    newcomer = _textured(tmp_path / "newcomer.jpg", 77)
    result = hash_file(newcomer)
    (tmp_path / "new.csv").write_text(f"signal_type,value\npdq,{result.pdq.hex}\n")
    run("bank", "import", "standins", str(tmp_path / "new.csv"), "-q")
    gone = hash_file(scene["as_is"])
    run("bank", "remove-entry", "standins", "md5", gone.md5.hex)
    run("bank", "remove-entry", "standins", "pdq", gone.pdq.hex)
    status = run("index", "status").stdout
    assert "1 newer active entries, and removals or restores to apply" in status

    caplog.set_level(logging.INFO, logger="keepdown.matching.live")
    out = run("match", str(newcomer), str(scene["as_is"]), code=1).stdout
    assert f"'loaded_from': '{current}'" in _started_from(caplog)
    assert [line.split(" ")[-1] for line in out.splitlines()] == [str(newcomer)]
    assert (index_dir / "CURRENT").read_text().strip() == current  # small delta: not rewritten

    assert "1 checkpoint(s) deleted" in run("index", "clear").stdout
    caplog.clear()
    assert run("match", str(newcomer), code=1).stdout.endswith(f"{newcomer}\n")
    assert "'loaded_from': 'database'" in _started_from(caplog)


def test_a_damaged_checkpoint_is_reported_by_status_and_not_used(run, scene, tmp_path, caplog):
    run("index", "save")
    index_dir = tmp_path / "data" / "index"
    folder = index_dir / (index_dir / "CURRENT").read_text().strip()
    words = folder / "pdq.main.words.npy"
    words.write_bytes(words.read_bytes()[:-8])
    assert "would be refused" not in run("index", "status").stdout  # status reads no arrays
    caplog.set_level(logging.INFO, logger="keepdown.matching.live")
    out = run("match", str(scene["as_is"]), code=1).stdout
    assert "standins exact md5" in out
    assert "'loaded_from': 'database'" in _started_from(caplog)
    assert any("refused" in r.getMessage() for r in caplog.records)
    assert Path(index_dir / "CURRENT").read_text().strip() != folder.name  # replaced
