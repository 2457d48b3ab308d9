"""Write the data tables of keepdown's in-browser hashing (keepdown/web/static/js/selfhash).

- ``pdq.js``, ``DCT_BITS``: the JavaScript PDQ must multiply by exactly the float32 DCT
  matrix keepdown's Python uses (``keepdown.hashing.pdq._dct_matrix``). Computing it in the
  browser with ``Math.cos`` would depend on each engine's last bit of cosine, so the table is
  shipped as data: the float32 bit patterns, little-endian, row-major, base64.
- ``orientation.js``, ``PROBES``: 2x1 JPEG, PNG and WebP pictures tagged EXIF orientation 6,
  which the page decodes once to learn whether the browser turns pictures upright itself.

Run this after changing the Python matrix (never needed otherwise);
``tests/web/test_selfhash_node.py`` fails when the DCT table differs from Python's.

    python scripts/selfhash_tables.py          # rewrite the tables
    python scripts/selfhash_tables.py --check  # exit 1 when a file holds other tables
"""

from __future__ import annotations

import argparse
import base64
import io
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from keepdown.hashing.pdq import _dct_matrix

SELFHASH = Path(__file__).resolve().parent.parent / "keepdown/web/static/js/selfhash"


def dct_table() -> str:
    """The base64 of the Python DCT matrix's float32 values, little-endian, row-major."""
    matrix = np.ascontiguousarray(_dct_matrix(), dtype="<f4")
    return base64.b64encode(matrix.tobytes()).decode("ascii")


def probe(fmt: str) -> str:
    """A 2x1 picture in ``fmt`` tagged EXIF orientation 6, base64."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    options = {"quality": 50} if fmt == "JPEG" else {}
    Image.new("RGB", (2, 1), (200, 30, 30)).save(buf, fmt, exif=exif.tobytes(), **options)
    return base64.b64encode(buf.getvalue()).decode("ascii")


#: (file, the line's pattern, what the line should hold)
TABLES: tuple[tuple[str, str, Callable[[], str]], ...] = (
    ("pdq.js", r'^const DCT_BITS = "[^"]*";$', lambda: f'const DCT_BITS = "{dct_table()}";'),
    *(
        ("orientation.js", rf'^  {fmt}: "[^"]*",$', lambda fmt=fmt: f'  {fmt}: "{probe(fmt)}",')
        for fmt in ("JPEG", "PNG", "WEBP")
    ),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, change nothing")
    args = parser.parse_args()
    stale = 0
    for name, pattern, make in TABLES:
        path = SELFHASH / name
        source = path.read_text(encoding="utf-8")
        line = re.compile(pattern, re.MULTILINE)
        found = line.search(source)
        if found is None:
            print(f"{path}: no line matching {pattern}", file=sys.stderr)
            return 2
        wanted = make()
        if found.group(0) == wanted:
            continue
        stale += 1
        if args.check:
            print(f"{name}: {pattern} differs")
        else:
            path.write_text(line.sub(lambda _m, w=wanted: w, source), encoding="utf-8")
            print(f"rewrote {pattern} in {name}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
