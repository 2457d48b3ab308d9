"""scripts/fetch_testdata.sh's checking logic, offline: the pins, the derivations, refusals.

The download itself from raw.githubusercontent.com needs the internet, which the test machine
does not have: here a loopback server plays the upstream, serving the local copy of the data
at the upstream paths (and one tampered file).
"""

from __future__ import annotations

import base64
import csv
import functools
import http.server
import importlib.util
import io
import shutil
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import REPO, skip_or_fail
from tests.conftest import testdata_root as reference_root

_spec = importlib.util.spec_from_file_location("testdata", REPO / "scripts" / "testdata.py")
assert _spec is not None
assert _spec.loader is not None
testdata = importlib.util.module_from_spec(_spec)
sys.modules["testdata"] = testdata  # dataclasses look their module up there
_spec.loader.exec_module(testdata)

ENTRIES = testdata.read_manifest()
BY_TARGET = {e.target: e for e in ENTRIES if e.target != "-"}
PNG = "pdq-reference/pytx-resources/test_pdq_hasher-embedded-26x28.png"
CPP = "pdq-reference/expected/cpp-reference-int64-from-sql-readme.csv"


@pytest.fixture(scope="module")
def local_copy() -> Path:
    root = reference_root()
    if not (root / "pdq-reference").is_dir():
        skip_or_fail(f"no reference data at {root} to check", "KEEPDOWN_REQUIRE_TESTDATA")
    return root


def test_the_manifest_pins_every_file_once_and_every_input():
    targets = [e.target for e in ENTRIES if e.target != "-"]
    assert len(targets) == len(set(targets)) >= 100
    inputs = {e.source for e in ENTRIES if e.target == "-"}
    for entry in ENTRIES:
        kind, _, rest = entry.source.partition(":")
        assert kind in ("git", "derive"), entry
        if kind == "derive":
            recipe, _, source = rest.partition(":")
            assert recipe in ("embedded-png", "cpp-int64", "measured", "measured-dihedral")
            if recipe in ("embedded-png", "cpp-int64"):
                assert f"git:{source}" in inputs, entry
    assert len(testdata.COMMIT) == 40


def test_the_local_copy_matches_every_pin(local_copy):
    assert testdata.verify(local_copy, ENTRIES) == []


def test_a_changed_or_missing_file_is_reported(local_copy, tmp_path):
    entries = [BY_TARGET[PNG], BY_TARGET[CPP]]
    for entry in entries:
        (tmp_path / entry.target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(local_copy / entry.target, tmp_path / entry.target)
    assert testdata.verify(tmp_path, entries) == []
    with (tmp_path / CPP).open("ab") as changed:
        changed.write(b" ")
    (tmp_path / PNG).unlink()
    problems = testdata.verify(tmp_path, entries)
    assert problems[0] == f"{PNG}: missing"
    assert problems[1].startswith(f"{CPP}: SHA-256 ")


def test_the_embedded_png_is_rebuilt_from_its_base64(local_copy):
    png = (local_copy / PNG).read_bytes()
    text = base64.b64encode(png).decode()
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    source = f'import base64\n\nRANDOM_IMAGE_BASE64 = """{wrapped}"""\n'
    assert testdata.check(BY_TARGET[PNG], testdata.embedded_png(source)) == png


def test_the_int64_listing_becomes_the_same_csv(local_copy):
    rows = list(csv.DictReader(io.StringIO((local_copy / CPP).read_text())))
    listing = "\n".join(
        ",".join(r["int64_words_as_printed"].split())
        + f",{r['quality']},{r['path_as_printed_in_repo']}"
        for r in rows
    )
    readme = f"# PDQ SQL\n\n```\n$ ./cpp/pdq-photo-hasher --int64 $(./lsr *.jpg)\n{listing}\n```\n"
    built = testdata.cpp_int64_csv(readme)
    assert testdata.check(BY_TARGET[CPP], built) == (local_copy / CPP).read_bytes()
    hexes = {r["path_as_printed_in_repo"]: r["hash"] for r in rows}
    assert hexes["./data/misc-images/b.jpg"].startswith("f8f8f0cee0f4a84f")  # the known bridge


def test_the_measured_pictures_are_every_image_of_the_data(local_copy):
    pdq = local_copy / "pdq-reference"
    text = (pdq / "expected/pdqhash-pillow-measured.csv").read_text()
    listed = [r["path"] for r in csv.DictReader(io.StringIO(text))]
    assert testdata.measured_images(pdq) == listed


def test_measuring_reproduces_the_measured_rows(local_copy):
    """The recipe, on one picture of each tricky mode (the whole files take ~30 s: measured
    byte for byte when the script was written, and by every run of the script)."""
    pytest.importorskip("pdqhash", reason="the measured files need pdqhash 0.2.8 (bench extra)")
    from importlib.metadata import version

    if (version("pdqhash"), version("Pillow"), version("numpy")) != ("0.2.8", "13.0.0", "2.4.6"):
        pytest.skip("measured with pdqhash 0.2.8, Pillow 13.0.0, numpy 2.4.6 only")
    pdq = local_copy / "pdq-reference"
    some = [
        "data/misc-images/modes/1.png",
        "data/misc-images/modes/CMYK.jpg",
        "data/misc-images/modes/P.png",
        "data/misc-images/wee.jpg",
        "pytx-resources/I16.png",
        "pytx-resources/LA.png",
    ]
    plain, turned = testdata.measure(pdq, only=some)
    for built, name in ((plain, "measured"), (turned, "dihedral-measured")):
        pinned = (pdq / f"expected/pdqhash-pillow-{name}.csv").read_text().splitlines()
        rows = built.decode().splitlines()
        assert rows[0] == pinned[0]
        assert set(rows[1:]) <= set(pinned[1:]), name
        assert len(rows) == 1 + len(some) * (8 if name.startswith("dihedral") else 1)


class _Upstream(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _serve(folder: Path):
    handler = functools.partial(_Upstream, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _upstream(local_copy: Path, tmp_path: Path, entries, tamper: str | None = None) -> Path:
    """The upstream's layout, as raw.githubusercontent.com serves it, from the local copy."""
    served = tmp_path / "served"
    for entry in entries:
        path = served / testdata.COMMIT / entry.source.removeprefix("git:")
        path.parent.mkdir(parents=True, exist_ok=True)
        data = (local_copy / entry.target).read_bytes()
        path.write_bytes(data + b"x" if entry.target == tamper else data)
    return served


def test_fetch_checks_each_file_before_it_lands(local_copy, tmp_path):
    entries = [e for e in ENTRIES if e.target.startswith("vpdq-reference/sample-hashes/door")]
    assert len(entries) == 2
    server = _serve(_upstream(local_copy, tmp_path, entries))
    base = f"http://127.0.0.1:{server.server_port}"
    dest = tmp_path / "data"
    try:
        assert testdata.Fetch(dest, base, log=lambda _t: None).run(entries) == []
        assert testdata.verify(dest, entries) == []
        assert not (tmp_path / "data.partial").exists()
        said: list[str] = []
        testdata.Fetch(dest, base, log=said.append).run(entries)
        assert said == [], "files in place with the right SHA-256 are not fetched again"
    finally:
        server.shutdown()


def test_a_tampered_download_is_refused_and_nothing_lands(local_copy, tmp_path):
    entries = [e for e in ENTRIES if e.target.startswith("vpdq-reference/sample-hashes/door")]
    bad = entries[1].target
    server = _serve(_upstream(local_copy, tmp_path, entries, tamper=bad))
    dest = tmp_path / "data"
    try:
        job = testdata.Fetch(dest, f"http://127.0.0.1:{server.server_port}", log=lambda _t: None)
        with pytest.raises(testdata.DataError, match=f"{bad}: SHA-256 .* \\(refused\\)"):
            job.run(entries)
    finally:
        server.shutdown()
    assert not dest.exists(), "the good file did not land either"
    assert not (tmp_path / "data.partial").exists()


def test_a_missing_upstream_file_and_plain_http_are_errors(tmp_path):
    server = _serve(tmp_path)
    try:
        with pytest.raises(testdata.DataError, match="could not fetch"):
            testdata.download(f"http://127.0.0.1:{server.server_port}/nope")
    finally:
        server.shutdown()
    with pytest.raises(testdata.DataError, match="https only"):
        testdata.download("http://example.org/file")
