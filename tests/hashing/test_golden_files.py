"""Golden values from files: every row of the reference data's measured CSVs, hashed through
``keepdown.hash_file`` (decoding included), not from pixel arrays.

The CSVs were measured with python-threatexchange's pipeline (Pillow decode, no conversion to
RGB except LA and I;16, then pdqhash). keepdown must give exactly the same hash and quality for
every RGB, greyscale and alpha file. Four files differ on purpose, because keepdown converts
every mode to RGB first (docs/hashing.md, "Image modes to RGB"); each is checked against what
that conversion promises instead.
"""

from __future__ import annotations

import csv
from pathlib import Path

from keepdown import hash_file
from keepdown.hashing import DIHEDRAL_NAMES
from keepdown.hashing.types import PdqHash

ORIGINAL = "data/misc-images/modes/original.jpg"  # the bridge photo the mode files were made of
#: path -> why keepdown's hash differs from the measured pipeline's, on purpose.
DELIBERATE = {
    "data/misc-images/modes/1.png": "1-bit: pdqhash got a bool array (quality 0); as RGB it is 100",
    "data/misc-images/modes/CMYK.jpg": "CMYK read as if RGB lands 254-256 bits from the photo",
    "data/misc-images/modes/P.png": "palette indices read as grey land 36-38 bits away",
    "pytx-resources/I16.png": "16-bit grey clipped at 255 is almost white (quality 36); scaled",
}


def _rows(root: Path, name: str) -> list[dict[str, str]]:
    with (root / "expected" / name).open(newline="") as f:
        return list(csv.DictReader(f))


def _deliberate(root: Path, path: str, got: tuple[PdqHash, int], measured: tuple[str, int]):
    """What the conversion to RGB promises for each deliberately different file."""
    value, quality = got
    assert quality >= 50, path  # every one is matchable once converted
    if path == "pytx-resources/I16.png":
        assert value - PdqHash.from_hex(measured[0]) > 31  # not the clipped white picture
        return
    original = hash_file(root / ORIGINAL)
    assert value - original.pdq <= 2, path  # the same photo as its RGB original
    if path.endswith("1.png"):
        assert (value.hex, measured[1]) == (measured[0], 0)  # same bits, quality no longer 0
    else:
        assert value - PdqHash.from_hex(measured[0]) > 31, path


def test_every_measured_file_hashes_to_the_measured_value(pdq_reference):
    identical = 0
    for row in _rows(pdq_reference, "pdqhash-pillow-measured.csv"):
        result = hash_file(pdq_reference / row["path"])
        assert result.pdq_error is None, row["path"]
        got, measured = (result.pdq, result.quality), (row["hash"], int(row["quality"]))
        if row["path"] in DELIBERATE:
            _deliberate(pdq_reference, row["path"], got, measured)
            continue
        assert (result.pdq.hex, result.quality) == measured, (row["path"], row["pil_mode"])
        identical += 1
    assert identical == 51  # 44 RGB (JPEG, WebP), 4 RGBA, 2 LA and 1 L file


def test_every_measured_file_gives_the_measured_dihedral_variants(pdq_reference):
    by_path: dict[str, dict[str, tuple[str, int]]] = {}
    for row in _rows(pdq_reference, "pdqhash-pillow-dihedral-measured.csv"):
        by_path.setdefault(row["path"], {})[row["transform"]] = (row["hash"], int(row["quality"]))
    original = hash_file(pdq_reference / ORIGINAL, dihedral=True).dihedral
    identical = 0
    for path, want in by_path.items():
        result = hash_file(pdq_reference / path, dihedral=True)
        assert tuple(result.dihedral) == DIHEDRAL_NAMES == tuple(want), path
        got = {name: (v.hash.hex, v.quality) for name, v in result.dihedral.items()}
        if path in DELIBERATE:
            for name, variant in result.dihedral.items():
                assert variant.quality >= 50, (path, name)
                if path != "pytx-resources/I16.png":
                    assert variant.hash - original[name].hash <= 2, (path, name)
            continue
        assert got == want, path
        identical += 1
    assert identical == 51
