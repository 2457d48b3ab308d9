"""keepdown reads what the real python-threatexchange (pytx) writes, and pytx reads keepdown.

Every file here is produced by the installed ``threatexchange`` package itself: its CLI run in
a subprocess with a temporary HOME (its demo mode uses the sample collaboration shipped inside
the package, no network), or its own serialisation classes. Images hashed are keepdown's benign
samples.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from keepdown.banks.formats import detect_format, read_entries, read_file, write_entries
from keepdown.banks.records import EntryRecord, LineError
from keepdown.hashing.types import SignalType

pytx = pytest.importorskip("threatexchange", reason="python-threatexchange is not installed")

from threatexchange.cli.dataset.simple_serialization import (  # noqa: E402
    CliIndicatorSerialization,
    HMASerialization,
)
from threatexchange.exchanges.clients.fb_threatexchange.descriptor import (  # noqa: E402
    SimpleDescriptorRollup,
)
from threatexchange.exchanges.impl.file_api import (  # noqa: E402
    FileCollaborationConfig,
    LocalFileSignalExchangeAPI,
)
from threatexchange.signal_type.md5 import VideoMD5Signal  # noqa: E402
from threatexchange.signal_type.pdq.signal import PdqSignal  # noqa: E402
from threatexchange.signal_type.sha256 import VideoSHA256Signal  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[2] / "keepdown" / "samples"
# Every shipped sample: they are drawn with edges and texture (PDQ quality 99-100), so pytx,
# which prints nothing below its quality floor of 50, hashes each of them.
HASHABLE = sorted(SAMPLES.glob("*.*"))
PYTX_TYPES = {"pdq": PdqSignal, "video_md5": VideoMD5Signal, "video_sha256": VideoSHA256Signal}


def run_pytx(home: Path, *args: str) -> str:
    env = {**os.environ, "HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "threatexchange", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def pytx_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pytx-home")


def test_reads_threatexchange_hash_output(pytx_home, tmp_path):
    out = run_pytx(pytx_home, "hash", "photo", *map(str, HASHABLE))
    path = tmp_path / "hashes.txt"
    path.write_text(out)
    assert detect_format(path) == "pytx"
    records = list(read_file(path))
    expected = [PdqSignal.hash_from_file(p) for p in HASHABLE]
    assert records == [EntryRecord(SignalType.PDQ, value) for value in expected]


def test_reads_threatexchange_hash_rotations_output(pytx_home):
    out = run_pytx(pytx_home, "hash", "--photo-preprocess", "rotations", "photo", str(HASHABLE[1]))
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 8
    got = list(read_entries(io.StringIO(out), "pytx"))
    assert all(isinstance(r, EntryRecord) and r.signal_type is SignalType.PDQ for r in got)
    assert [r.value for r in got] == [line.split()[-1] for line in lines]


@pytest.fixture(scope="module")
def dataset_outputs(pytx_home) -> dict[str, str]:
    """The three `threatexchange dataset -P` outputs of the sample collaboration."""
    return {
        "csv": run_pytx(pytx_home, "dataset", "-P", "--csv"),
        "full": run_pytx(pytx_home, "dataset", "-P"),
        "signals": run_pytx(pytx_home, "dataset", "-P", "-S"),
    }


def _sample_media_signals() -> Counter:
    """What pytx's sample collaboration holds, by keepdown type (from pytx's own examples)."""
    return Counter(
        {
            SignalType.PDQ: len(set(PdqSignal.get_examples())),
            SignalType.MD5: len(set(VideoMD5Signal.get_examples())),
            SignalType.SHA256: len(set(VideoSHA256Signal.get_examples())),
        }
    )


@pytest.mark.parametrize("which", ["csv", "full", "signals"])
def test_reads_threatexchange_dataset_exports(dataset_outputs, which, tmp_path):
    path = tmp_path / ("dataset.csv" if which == "csv" else "dataset.txt")
    path.write_text(dataset_outputs[which])
    assert detect_format(path) == "pytx"
    got = list(read_file(path))
    records = [r for r in got if isinstance(r, EntryRecord)]
    errors = [e for e in got if isinstance(e, LineError)]
    assert Counter(r.signal_type for r in records) == _sample_media_signals()
    assert set(r.value for r in records if r.signal_type is SignalType.PDQ) == set(
        PdqSignal.get_examples()
    )
    # url, raw_text, trend_query, url_md5 are not media hashes: named, not silently dropped.
    assert errors
    assert all("is not a media hash" in e.message for e in errors)
    if which != "signals":
        assert all("Sample Signals" in (r.notes or "") for r in records)


def test_pytx_local_file_exchange_reads_what_keepdown_writes(tmp_path):
    pdq = PdqSignal.get_examples()[0]
    md5 = VideoMD5Signal.get_examples()[0]
    sha = VideoSHA256Signal.get_examples()[0]
    records = [
        EntryRecord("pdq", pdq),
        EntryRecord("md5", md5),
        EntryRecord("sha256", sha),
        EntryRecord("pdq", PdqSignal.get_examples()[1], removed=True),
    ]
    path = tmp_path / "bank.pytx.txt"
    with path.open("w") as handle:
        assert write_entries(records, handle, "pytx") == 3
    collab = FileCollaborationConfig(
        name="keepdown", api="local_file", enabled=True, filename=str(path), signal_type=None
    )
    api = LocalFileSignalExchangeAPI(collab)
    fetched = set()
    for delta in api.fetch_iter([PdqSignal, VideoMD5Signal, VideoSHA256Signal], None):
        fetched.update(delta.updates)
    assert fetched == {("pdq", pdq), ("video_md5", md5), ("video_sha256", sha)}
    for name, value in fetched:
        assert PYTX_TYPES[name].validate_signal_str(value) == value


def test_threatexchange_cli_fetches_a_keepdown_export_and_gives_it_back(tmp_path):
    """keepdown -> pytx file -> `threatexchange fetch` (local_file) -> dataset -> keepdown."""
    records = [
        EntryRecord("pdq", PdqSignal.get_examples()[3]),
        EntryRecord("md5", VideoMD5Signal.get_examples()[0]),
        EntryRecord("sha256", VideoSHA256Signal.get_examples()[1]),
    ]
    export = tmp_path / "bank.txt"
    with export.open("w") as handle:
        write_entries(records, handle, "pytx")
    home = tmp_path / "home"
    home.mkdir()
    run_pytx(home, "config", "collab", "edit", "local_file", "--create",
             "--filename", str(export), "keepdown-bank")  # fmt: skip
    run_pytx(home, "fetch")
    out = run_pytx(home, "dataset", "-P", "-S", "-c", "keepdown-bank")
    back = list(read_entries(io.StringIO(out), "pytx"))
    assert sorted(back, key=repr) == sorted(records, key=repr)


def test_reads_hma_te_files_written_by_pytx(tmp_path):
    pdq = PdqSignal.get_examples()
    rows = [
        HMASerialization(
            pdq[0],
            "HASH_PDQ",
            "1001",
            SimpleDescriptorRollup(7, "2021-05-04T10:00:00+0000", {"csam"}),
        ),
        HMASerialization(
            pdq[1], "HASH_PDQ", "1002", SimpleDescriptorRollup(8, "2021-05-05T10:00:00+0000", set())
        ),
    ]
    (path,) = HMASerialization.store(tmp_path, rows)
    assert path.name == "simple.HASH_PDQ.te"
    assert detect_format(path) == "hma"
    got = list(read_file(path, default_label="csam"))
    assert [(r.value, r.source_id, r.added_at.isoformat()) for r in got] == [
        (pdq[0], "1001", "2021-05-04T10:00:00+00:00"),
        (pdq[1], "1002", "2021-05-05T10:00:00+00:00"),
    ]
    assert got[0].notes == "threatexchange labels: csam"


def test_reads_pytx_cli_te_files_without_indicator_id(tmp_path):
    md5 = VideoMD5Signal.get_examples()[0]
    item = CliIndicatorSerialization(
        "HASH_VIDEO_MD5", md5, SimpleDescriptorRollup(3, "2022-01-01T00:00:00+0000", set())
    )
    (path,) = CliIndicatorSerialization.store(tmp_path, [item])
    (record,) = read_file(path)
    assert record == EntryRecord("md5", md5, added_at=record.added_at, notes=None)
    assert record.added_at.year == 2022


def test_hma_output_is_what_hma2_bank_signal_endpoint_validates(tmp_path):
    """Each line is a {signal type name: value} body HMA 2 checks with pytx's own validators."""
    records = [
        EntryRecord("pdq", PdqSignal.get_examples()[2]),
        EntryRecord("md5", VideoMD5Signal.get_examples()[0]),
    ]
    out = io.StringIO()
    assert write_entries(records, out, "hma") == 2
    for line in out.getvalue().splitlines():
        body = json.loads(line)
        ((name, value),) = body.items()
        assert PYTX_TYPES[name].validate_signal_str(value) == value
    assert list(read_entries(io.StringIO(out.getvalue()), "hma")) == records
