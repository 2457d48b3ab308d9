"""How often a picture is still found after the edits re-uploaders make, and at what cost.

Run (from the repository root; augly and scikit-image are optional, see below):

    pip install -e '.[bench]' augly scikit-image
    python benchmarks/robustness.py                       # full size: 2,000 distractors, 1e7 index
    python benchmarks/robustness.py --scenes 20 --distractors 300 --index-size 1e5   # a quick look
    python benchmarks/robustness.py --choose --budget 12  # which variants (docs/matching.md)

Steps:

1. **Originals** (the bank): benign pictures that ship or install here, read in place: the
   PDQ reference photos (``KEEPDOWN_TESTDATA`` or /work/shared/testdata), scikit-image's
   bundled pictures when it is installed, and ``--scenes`` generated scenes
   (``benchmarks/scenes.py``); long sides capped at 1600 px; pictures under PDQ's quality
   floor are left out. Each original's exact PDQ is a bank entry.
2. **Queries**: every edit of ``benchmarks/robust_edits.py`` (augly's where it has them) on
   every original, saved as JPEG q90 bytes, as a re-upload would arrive.
3. **Pipelines**, each matching every query against the bank at distance 31:
   python-threatexchange (``PdqSignal.hash_from_bytes``, its own quality floor, no
   rotations), the same after its ``unletterbox`` (black bars), keepdown plain (exact mode,
   8 rotations and mirrors, as the doors match), keepdown with trimming (plus the ``trim*``
   variants), keepdown with expansion (plus :data:`keepdown.hashing.robust.DEFAULT_VARIANTS`).
   A query counts as found when its own original is matched.
4. **False matches**: ``--distractors`` unrelated benign pictures (generated scenes and
   abstract pictures, never an original) go through every pipeline; any match, and any query
   matching another original than its own, is a false match. Then every hash keepdown looked
   up (queries and distractors, all variants) is searched in an index of ``--index-size``
   random PDQ hashes plus the bank: any hit on a random entry is a false match.
5. **Cost**: CPU time (this thread) of a normal match (hash with rotations and mirrors, look
   up in that index) against an expanded one, per query picture; the issue's bound is 3x.

``--choose`` measures every candidate of :data:`keepdown.hashing.robust.CATALOGUE` on the
queries and picks, greedily, the ``--budget`` variants that find the most queries not found
otherwise (each edit weighted alike), printing what each one buys.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.robust_corpus import distractor_jpegs, originals
from benchmarks.robust_edits import EDITS, SOURCES, augly_available
from keepdown.hashing import hash_bytes
from keepdown.hashing.decode import DecodeLimits, decode_image
from keepdown.hashing.pdq import pdq_from_rgb
from keepdown.hashing.plane import plane_from_rgb
from keepdown.hashing.robust import CATALOGUE, DEFAULT_VARIANTS, robust_hashes
from keepdown.settings import load_settings

THRESHOLD = 31
FLOOR = 50
PIPELINES = ("pytx", "pytx unletterbox", "keepdown plain", "keepdown trim", "keepdown expand")


@dataclass
class Query:
    """One picture looked up: its own original (or -1 for a distractor) and its hashes."""

    edit: str
    original: int
    pytx: list[bytes] = field(default_factory=list)  # hashes per pytx pipeline (b"" = none)
    plain: list[bytes] = field(default_factory=list)  # the 8 rotations and mirrors
    variants: dict[str, bytes] = field(default_factory=dict)  # robust variants by name


def _pdq_bytes(hex_value: str) -> bytes:
    return bytes.fromhex(hex_value) if hex_value else b""


def _pytx_hashes(data: bytes) -> list[bytes]:
    """python-threatexchange's pipeline, then the same after its unletterboxing."""
    from threatexchange.content_type.preprocess import unletterboxing as ub
    from threatexchange.signal_type.pdq.signal import PdqSignal

    plain = _pdq_bytes(PdqSignal.hash_from_bytes(data))
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
        cuts = [
            f(rgb, 0)
            for f in (
                ub.detect_top_border,
                ub.detect_bottom_border,
                ub.detect_left_border,
                ub.detect_right_border,
            )
        ]
        if not any(cuts) or cuts[0] + cuts[1] >= rgb.height or cuts[2] + cuts[3] >= rgb.width:
            return [plain, plain]
        box = (cuts[2], cuts[0], rgb.width - cuts[3], rgb.height - cuts[1])
        buf = io.BytesIO()
        rgb.crop(box).save(buf, "PNG")
    return [plain, _pdq_bytes(PdqSignal.hash_from_bytes(buf.getvalue()))]


def hash_query(data: bytes, edit: str, original: int, names: tuple[str, ...]) -> Query:
    settings = load_settings()
    query = Query(edit, original, pytx=_pytx_hashes(data))
    result = hash_bytes(data, settings=settings, dihedral=True)
    if result.dihedral is None:
        return query
    query.plain = [r.hash.raw for r in result.dihedral.values() if r.quality >= FLOOR]
    rgb = decode_image(data, limits=DecodeLimits.from_settings(settings)).rgb
    for name, r in robust_hashes(plane_from_rgb(rgb), names).items():
        if r.quality >= FLOOR:
            query.variants[name] = r.hash.raw
    return query


def queries(bank: list[Image.Image], names: tuple[str, ...], seed: int) -> Iterator[Query]:
    rng = np.random.default_rng(seed)
    for edit, (apply, _target) in EDITS.items():
        if SOURCES[edit] == "Pillow/numpy" and edit in ("web screenshot", "rotate 2°"):
            continue
        for index, picture in enumerate(bank):
            try:
                edited = apply(picture, rng)
            except RuntimeError:  # an edit that needs augly, without augly
                break
            buf = io.BytesIO()
            edited.convert("RGB").save(buf, "JPEG", quality=90)
            yield hash_query(buf.getvalue(), edit, index, names)


def bits(values: list[bytes]) -> np.ndarray:
    """Hashes as an n x 256 array of 0/1 (n may be 0)."""
    if not values:
        return np.zeros((0, 256), np.uint8)
    return np.unpackbits(np.frombuffer(b"".join(values), np.uint8).reshape(-1, 32), axis=1)


def distances(values: list[bytes], bank_bits: np.ndarray) -> np.ndarray:
    """len(values) x len(bank) Hamming distances."""
    q = bits(values).astype(np.int16)
    b = bank_bits.astype(np.int16)
    return (q[:, None, :] != b[None, :, :]).sum(axis=2)


def pipeline_hashes(query: Query, pipeline: str, names: tuple[str, ...]) -> list[bytes]:
    if pipeline == "pytx":
        return [h for h in query.pytx[:1] if h]
    if pipeline == "pytx unletterbox":
        return [h for h in query.pytx if h]
    extra: list[bytes] = []
    if pipeline != "keepdown plain":
        extra = [h for n, h in query.variants.items() if n.startswith("trim")]
    if pipeline == "keepdown expand":
        extra += [h for n, h in query.variants.items() if n in names]
    return query.plain + extra


def matched(query: Query, hashes: list[bytes], bank_bits: np.ndarray) -> set[int]:
    if not hashes:
        return set()
    near = distances(hashes, bank_bits) <= THRESHOLD
    return set(np.flatnonzero(near.any(axis=0)).tolist())


def rates(found: list[Query], bank_bits: np.ndarray, names: tuple[str, ...]) -> dict:
    """edit -> pipeline -> (found, total, false matches)."""
    table: dict[str, dict[str, list[int]]] = {}
    for q in found:
        row = table.setdefault(q.edit, {p: [0, 0, 0] for p in PIPELINES})
        for p in PIPELINES:
            hits = matched(q, pipeline_hashes(q, p, names), bank_bits)
            row[p][0] += q.original in hits
            row[p][1] += 1
            row[p][2] += len(hits - {q.original})
    return table


def print_table(table: dict, names: tuple[str, ...]) -> list[str]:
    print(
        f"\nmatch rate per edit at distance {THRESHOLD} (expansion: trims + {len(names)} "
        "variants); false = matches of another original"
    )
    print("| edit | drawn by | " + " | ".join(PIPELINES) + " | target | met |")
    print("|---" * (len(PIPELINES) + 4) + "|")
    missed = []
    for edit, row in table.items():
        target = EDITS[edit][1]
        cells = []
        for p in PIPELINES:
            hit, total, false = row[p]
            cells.append(f"{100 * hit / total:.0f}%" + (f" ({false} false)" if false else ""))
        expand = row["keepdown expand"][0] / row["keepdown expand"][1]
        plain = row["keepdown plain"][0] / row["keepdown plain"][1]
        if target is None:
            ok = expand >= plain
            shown = ">= plain"
        else:
            ok = expand >= target
            shown = f">= {100 * target:.0f}%"
        if not ok:
            missed.append(f"{edit}: {100 * expand:.0f}% ({shown})")
        print(
            f"| {edit} | {SOURCES[edit]} | "
            + " | ".join(cells)
            + f" | {shown} | {'yes' if ok else '**no**'} |"
        )
    return missed


def main() -> None:
    args = _arguments()
    started = time.time()
    load = os.getloadavg()[0]
    bank_pictures, labels = originals(args.scenes, args.testdata)
    bank = [pdq_from_rgb(np.asarray(p)) for p in bank_pictures]
    bank_bits = bits([r.hash.raw for r in bank])
    names = tuple(CATALOGUE) if args.choose else DEFAULT_VARIANTS
    print(
        f"{len(bank)} originals ({labels}); augly {'yes' if augly_available() else 'no'}; "
        f"{len(EDITS)} edits; load average {load:.2f}"
    )
    found = list(queries(bank_pictures, names, args.seed))
    print(f"{len(found)} queries hashed in {time.time() - started:.0f} s")
    if args.choose:
        from benchmarks.robust_choose import choose

        choose(found, bank_bits, args.budget, THRESHOLD, distances)
        return
    table = rates(found, bank_bits, names)
    missed = print_table(table, names)
    from benchmarks.robust_false import cost, false_matches, random_index

    distractors = [
        hash_query(d, "distractor", -1, names)
        for d in distractor_jpegs(args.distractors, args.seed)
    ]
    false_matches(distractors, bank_bits, names, pipeline_hashes, matched, PIPELINES)
    snapshot = random_index(args.index_size, bank, args.seed)
    everything = [h for q in found + distractors for h in q.plain + list(q.variants.values())]
    cost(snapshot, bank_pictures, everything, args.cost_pictures)
    print("\ntargets missed: " + ("; ".join(missed) if missed else "none"))
    print(f"load average at the end {os.getloadavg()[0]:.2f}; {time.time() - started:.0f} s")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", type=int, default=60, help="generated originals")
    parser.add_argument("--distractors", type=int, default=2000)
    parser.add_argument("--index-size", type=float, default=1e7, help="random PDQ hashes")
    parser.add_argument("--cost-pictures", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--testdata", default=os.environ.get("KEEPDOWN_TESTDATA", "/work/shared/testdata")
    )
    parser.add_argument("--choose", action="store_true", help="measure every candidate")
    parser.add_argument("--budget", type=int, default=12)
    return parser.parse_args()


if __name__ == "__main__":
    main()
