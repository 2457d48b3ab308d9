"""Fetch, rebuild and check keepdown's reference test data (PDQ and vPDQ vectors).

``bash scripts/fetch_testdata.sh`` runs ``python3 scripts/testdata.py fetch``. The data is
read in place by the tests (``KEEPDOWN_TESTDATA``, by default ``../shared/testdata`` beside
the checkout); it is never copied into the repository. Every file is pinned in
``scripts/testdata.sha256`` by its SHA-256, its place, and its source:

- ``git:PATH``: PATH in github.com/facebook/ThreatExchange at commit :data:`COMMIT`,
  downloaded from ``raw.githubusercontent.com`` (``--base-url`` to use a mirror);
- ``derive:RECIPE:INPUT``: rebuilt here as the data's README describes, from INPUT (itself
  downloaded and pinned on a line whose place is ``-``):

  - ``embedded-png``: the 26x28 PNG held as base64 in python-threatexchange's PDQ test;
  - ``cpp-int64``: the C++ ``pdq-photo-hasher --int64`` listing of ``pdq/sql/README.md`` as a
    CSV (each signed 64-bit word as 16 hex digits, first word first);
  - ``measured``, ``measured-dihedral``: python-threatexchange's pipeline measured on the
    downloaded pictures (Pillow decodes; LA and I;16 become RGB; a 2-D array is stacked to
    three channels; ``pdqhash.compute`` / ``compute_dihedral``), in a throwaway virtual
    environment with the versions pinned below (:data:`MEASURE_PINS`), since the hashes
    depend on the decoder. ``--no-measure`` leaves them out (the PDQ tests then skip).

Nothing lands until it is checked: files are fetched into ``<dest>.partial``, each checked
against its SHA-256 as it arrives, the derived ones built and checked, and only then moved
into place (on any error the partial folder is removed and nothing moves). A file already in
place with the right SHA-256 is kept (a rerun resumes).
``python3 scripts/testdata.py verify`` checks a copy without any network.

The data's own README files (provenance prose) and ``expected/published-hashes.csv`` (a
compilation with no single source) are not rebuilt; nothing in the tests reads them.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

COMMIT = "baefb4ed67b6cdc1d4c82dbaef858d50866ac424"
BASE_URL = "https://raw.githubusercontent.com/facebook/ThreatExchange"
MANIFEST = Path(__file__).with_name("testdata.sha256")
MEASURE_PINS = ("pdqhash==0.2.8", "Pillow==13.0.0", "numpy==2.4.6")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
DIHEDRAL = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
)
_B64 = re.compile(r'RANDOM_IMAGE_BASE64 = """([A-Za-z0-9+/=\s]+)"""')
_INT64_LINE = re.compile(r"^(-?\d+),(-?\d+),(-?\d+),(-?\d+),(\d+),(\S+)$")
_RENAMED = {"./data/misc-images/b.jpg": "data/reg-test-input/dih/bridge-1-original.jpg"}


class DataError(Exception):
    """A file that does not match its pin, or could not be fetched or built."""


@dataclass(frozen=True)
class Entry:
    sha256: str
    target: str  # where it lands under the destination, "-" for a derivation's input
    source: str  # git:PATH or derive:RECIPE:INPUT


def read_manifest(path: Path = MANIFEST) -> list[Entry]:
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            raise DataError(f"{path}:{number}: expected 'SHA256  TARGET  SOURCE'")
        entries.append(Entry(*parts))
    return entries


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check(entry: Entry, data: bytes) -> bytes:
    """The data if it matches its pin; :class:`DataError` naming the file otherwise."""
    got = sha256_of(data)
    if got != entry.sha256:
        name = entry.target if entry.target != "-" else entry.source
        raise DataError(f"{name}: SHA-256 {got}, expected {entry.sha256} (refused)")
    return data


# --- derivations ---------------------------------------------------------------------------


def embedded_png(test_source: str) -> bytes:
    """The PNG python-threatexchange's test_pdq_hasher.py holds as base64."""
    found = _B64.search(test_source)
    if found is None:
        raise DataError("test_pdq_hasher.py: no RANDOM_IMAGE_BASE64 block")
    return base64.b64decode("".join(found.group(1).split()))


def _hex_of_words(words: list[int]) -> str:
    return "".join(f"{word & (2**64 - 1):016x}" for word in words)


def cpp_int64_csv(readme: str) -> bytes:
    """The ``--int64`` listing of pdq/sql/README.md as a CSV (see the module docstring)."""
    block = readme.split("pdq-photo-hasher --int64", 1)[-1].split("```", 1)[0]
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["path", "path_as_printed_in_repo", "hash", "quality", "int64_words_as_printed"]
    writer.writerow(header)
    for line in block.splitlines():
        found = _INT64_LINE.match(line.strip())
        if found is None:
            continue
        words = [int(found.group(i)) for i in range(1, 5)]
        printed = found.group(6)
        path = _RENAMED.get(printed, printed.removeprefix("./"))
        row = [path, printed, _hex_of_words(words), found.group(5), " ".join(map(str, words))]
        writer.writerow(row)
    if out.tell() < 100:
        raise DataError("pdq/sql/README.md: no --int64 listing found")
    return out.getvalue().encode("utf-8")


def measured_images(pdq_root: Path) -> list[str]:
    """The pictures the measured files cover: every image under data/ and pytx-resources/."""
    found = [
        path.relative_to(pdq_root).as_posix()
        for folder in ("data", "pytx-resources")
        for path in (pdq_root / folder).rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    return sorted(found)


def measure(pdq_root: Path, only: list[str] | None = None) -> tuple[bytes, bytes]:
    """Both measured CSVs (of ``only`` those pictures, if given); runs where pdqhash, Pillow
    and numpy are installed (the pins)."""
    # Imported here: only the measuring environment has them.
    import numpy as np
    import pdqhash
    from PIL import Image

    def hexes(bits: object) -> str:
        text = "".join(str(int(b)) for b in bits)  # type: ignore[attr-defined]
        return f"{int(text, 2):064x}"

    plain, turned = io.StringIO(), io.StringIO()
    one, all8 = csv.writer(plain), csv.writer(turned)
    one.writerow(["path", "hash", "quality", "width", "height", "pil_mode"])
    all8.writerow(["path", "transform", "hash", "quality"])
    for rel in measured_images(pdq_root) if only is None else only:
        image = Image.open(pdq_root / rel)
        mode = image.mode
        if mode in ("LA", "I;16"):
            image = image.convert("RGB")
        array = np.asarray(image)
        if array.ndim == 2:
            array = np.concatenate([array[..., np.newaxis]] * 3, axis=2)
        bits, quality = pdqhash.compute(array)
        one.writerow([rel, hexes(bits), quality, image.width, image.height, mode])
        variants, quality8 = pdqhash.compute_dihedral(array)
        for name, variant in zip(DIHEDRAL, variants, strict=True):
            all8.writerow([rel, name, hexes(variant), quality8])
    return plain.getvalue().encode(), turned.getvalue().encode()


def measure_in_venv(pdq_root: Path, python: str | None) -> tuple[bytes, bytes]:
    """Run :func:`measure` in ``python``, or in a new venv with :data:`MEASURE_PINS`."""
    with tempfile.TemporaryDirectory() as tmp:
        if python is None:
            subprocess.run([sys.executable, "-m", "venv", f"{tmp}/venv"], check=True)
            python = f"{tmp}/venv/bin/python"
            pip = [python, "-m", "pip", "install", "-q", *MEASURE_PINS]
            subprocess.run(pip, check=True)
        out = Path(tmp)
        command = [python, __file__, "measure", str(pdq_root), str(out)]
        subprocess.run(command, check=True)
        return (out / "measured.csv").read_bytes(), (out / "measured-dihedral.csv").read_bytes()


# --- fetching ------------------------------------------------------------------------------


def download(url: str, timeout: float = 60.0) -> bytes:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise DataError(f"refusing to fetch {url}: https only (or a loopback test server)")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # scheme checked above
            return bytes(response.read())
    except OSError as exc:
        raise DataError(f"could not fetch {url}: {exc}") from exc


@dataclass
class Fetch:
    dest: Path
    base_url: str = BASE_URL
    measure: bool = True
    python: str | None = None
    log: object = print

    def url(self, upstream: str) -> str:
        return f"{self.base_url.rstrip('/')}/{COMMIT}/{upstream}"

    def say(self, text: str) -> None:
        self.log(text)  # type: ignore[operator]

    def run(self, entries: list[Entry]) -> list[str]:
        """Fetch and build everything; the targets that were left out (``--no-measure``)."""
        staging = self.dest.with_name(self.dest.name + ".partial")
        inputs = {e.source.removeprefix("git:"): e for e in entries if e.target == "-"}
        kept = [e for e in entries if e.target != "-"]
        skipped: list[str] = []
        try:
            for entry in sorted(kept, key=lambda e: e.source.startswith("derive:measured")):
                if _in_place(self.dest, entry):
                    continue
                if entry.source.startswith("derive:measured") and not self.measure:
                    skipped.append(entry.target)
                    continue
                data = check(entry, self._build(entry, inputs, staging))
                _write(staging / entry.target, data)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # nothing unchecked is left behind
            raise
        self._move(staging)
        return skipped

    def _build(self, entry: Entry, inputs: dict[str, Entry], staging: Path) -> bytes:
        kind, _, rest = entry.source.partition(":")
        if kind == "git":
            self.say(f"fetch  {rest}")
            return download(self.url(rest))
        recipe, _, source = rest.partition(":")
        self.say(f"build  {entry.target} ({recipe})")
        if recipe in ("embedded-png", "cpp-int64"):
            text = check(inputs[source], download(self.url(source))).decode("utf-8")
            return embedded_png(text) if recipe == "embedded-png" else cpp_int64_csv(text)
        if recipe in ("measured", "measured-dihedral"):
            return self._measured(staging, source)[recipe == "measured-dihedral"]
        raise DataError(f"unknown recipe {recipe!r} for {entry.target}")

    def _measured(self, staging: Path, folder: str) -> tuple[bytes, bytes]:
        if not hasattr(self, "_measures"):
            merged = Path(tempfile.mkdtemp(prefix="keepdown-testdata-"))
            for side in (self.dest / folder, staging / folder):  # in place, then new
                if side.exists():
                    shutil.copytree(side, merged / folder, dirs_exist_ok=True)
            try:
                self._measures = measure_in_venv(merged / folder, self.python)
            finally:
                shutil.rmtree(merged, ignore_errors=True)
        return self._measures

    def _move(self, staging: Path) -> None:
        if not staging.exists():
            return
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            target = self.dest / path.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        shutil.rmtree(staging)


def _in_place(dest: Path, entry: Entry) -> bool:
    path = dest / entry.target
    return path.is_file() and sha256_of(path.read_bytes()) == entry.sha256


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def verify(dest: Path, entries: list[Entry]) -> list[str]:
    """Problems with a copy (missing or changed files), without any network."""
    problems = []
    for entry in entries:
        if entry.target == "-":
            continue
        path = dest / entry.target
        if not path.is_file():
            problems.append(f"{entry.target}: missing")
        elif (got := sha256_of(path.read_bytes())) != entry.sha256:
            problems.append(f"{entry.target}: SHA-256 {got}, expected {entry.sha256}")
    return problems


# --- command line --------------------------------------------------------------------------


def default_dest() -> Path:
    """Where the tests look: KEEPDOWN_TESTDATA, else ../shared/testdata beside the checkout."""
    checkout = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("KEEPDOWN_TESTDATA", checkout.parent / "shared" / "testdata"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="download, rebuild and check every file")
    fetch.add_argument("--dest", type=Path, default=None)
    fetch.add_argument("--base-url", default=BASE_URL)
    fetch.add_argument("--no-measure", action="store_true", help="leave out the measured CSVs")
    fetch.add_argument("--python", help="an interpreter that has the measuring pins already")
    check_cmd = sub.add_parser("verify", help="check a copy against the pins (no network)")
    check_cmd.add_argument("--dest", type=Path, default=None)
    inner = sub.add_parser("measure", help=argparse.SUPPRESS)
    inner.add_argument("pdq_root", type=Path)
    inner.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "measure":
        plain, turned = measure(args.pdq_root)
        (args.out / "measured.csv").write_bytes(plain)
        (args.out / "measured-dihedral.csv").write_bytes(turned)
        return 0
    dest = args.dest or default_dest()
    entries = read_manifest()
    try:
        if args.command == "fetch":
            print(f"reference test data -> {dest} (ThreatExchange at {COMMIT[:12]})")
            job = Fetch(dest, args.base_url, not args.no_measure, args.python)
            for target in job.run(entries):
                print(f"left out (--no-measure): {target}")
        problems = verify(dest, entries)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"ok: {sum(e.target != '-' for e in entries)} files match their SHA-256 in {dest}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
