"""A second process hashes and searches without compiling: numba's on-disk cache is hit.

The first process on a machine (or after an install) compiles the kernels and writes the
cache; every later process must load them. Each subprocess reports every kernel's cache
misses (a miss is a compilation), and the second must report none.
"""

from __future__ import annotations

import json
import subprocess
import sys

_REPORT = r"""
import json
from keepdown.hashing import hash_bytes, warm_up
from keepdown.hashing import fast, pdq_filter
from keepdown.index import kernels, warm_up as index_warm_up
from keepdown.settings import load_settings
from keepdown.testing import synthetic_jpeg

warm_up()
index_warm_up()
settings = load_settings(environ={})
jpeg = synthetic_jpeg(3, 320, 240)
for mode in ("exact", "fast"):
    hash_bytes(jpeg, settings=settings, mode=mode, dihedral=True)
dispatchers = [
    *(getattr(m, n) for m in (pdq_filter, kernels) for n in dir(m)),
    *fast._kernel,
]
misses = {}
hits = 0
for d in dispatchers:
    if hasattr(d, "stats") and hasattr(d, "py_func"):
        misses[d.py_func.__qualname__] = sum(d.stats.cache_misses.values())
        hits += sum(d.stats.cache_hits.values())
print(json.dumps({"misses": misses, "hits": hits}))
"""


def _run() -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _REPORT], check=True, capture_output=True, text=True, timeout=600
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_every_kernel_from_the_cache() -> None:
    _run()  # compiles whatever this checkout has not cached yet
    second = _run()
    assert {name: n for name, n in second["misses"].items() if n} == {}
    assert second["hits"] >= 8  # the PDQ filter, DCT, quality, median, fast mode, index
