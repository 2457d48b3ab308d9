"""Hashing on the person's device, measured in headless Chromium: speed and drift.

The in-browser hashes (keepdown/web/static/js/selfhash: PDQ with its 8 rotations and mirrors,
MD5, SHA-256, in a worker) run in Debian's Chromium driven by Playwright, on a loopback page
that loads the same worker the submission page uses. Two measurements, each printed next to
keepdown's own Python on the same files in the same run:

- ``--speed``: 12-megapixel photos (the reference set's 4032x3024 JPEGs, and generated
  photo-like scenes at 4000x3000) hashed end to end in the worker: read, MD5, SHA-256,
  browser decode, PDQ + 8 variants. Also how long the page's main thread was ever blocked
  meanwhile (the longest gap between 10 ms timer ticks): a responsive page stays near 10 ms.
- ``--tolerance``: the browser's PDQ (its own decoder: createImageBitmap) against keepdown's
  (Pillow) on the reference photos and generated JPEG / PNG / WebP files, as a table of mean,
  p95 and max bits per format for quality >= 80 (Meta's rule for another decoder: within 10
  bits), with EXIF orientation handled as keepdown does.

    python benchmarks/browser_hashing.py --speed --tolerance

``tests/web/test_selfhash_browser.py`` uses the same harness to assert the bounds on a
smaller set. Nothing is downloaded: the pictures are the reference data read in place and
scenes drawn by ``benchmarks/scenes.py``; the page is served on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.server
import io
import json
import math
import mimetypes
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

STATIC = REPO / "keepdown" / "web" / "static"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

HARNESS_HTML = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>selfhash harness</title>
<script type="module" src="/harness.js"></script></head>
<body><input type="file" id="files" multiple></body></html>
"""

# A page that hashes through the worker exactly as the submission page does, and reports the
# longest stall of its own main thread meanwhile.
HARNESS_JS = b"""
const worker = new Worker("/static/js/selfhash/worker.js", { type: "module" });
const waiting = new Map();
let next = 1;
const ready = new Promise((resolve) => {
  worker.addEventListener("message", (event) => {
    const data = event.data;
    if (data.ready) return resolve();
    const done = waiting.get(data.id);
    waiting.delete(data.id);
    done(data);
  });
});
function hashBlob(blob, options) {
  return new Promise((resolve) => {
    const id = next++;
    waiting.set(id, resolve);
    worker.postMessage({ id, file: blob, options });
  });
}
async function timed(blob, options) {
  await ready;
  let last = performance.now();
  let stall = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 10);
  const start = performance.now();
  const answer = await hashBlob(blob, options);
  const wall = performance.now() - start;
  clearInterval(ticker);
  return { ...answer, wall, stall };
}
window.hashUrl = async (url, options) => timed(await (await fetch(url)).blob(), options);
window.hashPicked = async (options) => {
  const out = [];
  for (const file of document.getElementById("files").files) out.push(await timed(file, options));
  return out;
};
window.harnessReady = ready.then(() => true);
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        body, kind = self._lookup(path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'",
        )
        self.end_headers()
        self.wfile.write(body)

    def _lookup(self, path: str) -> tuple[bytes | None, str]:
        if path == "/harness.html":
            return HARNESS_HTML, "text/html; charset=utf-8"
        if path == "/harness.js":
            return HARNESS_JS, "text/javascript"
        if path.startswith("/files/") and path[7:] in self.files:
            return self.files[path[7:]], "application/octet-stream"
        if path.startswith("/static/"):
            target = (STATIC / path[8:]).resolve()
            if target.is_file() and STATIC in target.parents:
                kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                return target.read_bytes(), "text/javascript" if target.suffix == ".js" else kind
        return None, ""

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Harness:
    """A Chromium page on the loopback harness; :meth:`hash` sends one file to the worker."""

    page: Any
    base: str
    files: dict[str, bytes]

    def hash(self, name: str, data: bytes, **options: Any) -> dict[str, Any]:
        self.files[name] = data
        answer: dict[str, Any] = self.page.evaluate(
            "([url, options]) => window.hashUrl(url, options)",
            [f"{self.base}/files/{name}", options],
        )
        del self.files[name]
        return answer


@contextmanager
def harness() -> Iterator[Harness]:
    """The loopback site and a headless Chromium page on it (Playwright, Debian's chromium)."""
    from playwright.sync_api import sync_playwright

    files: dict[str, bytes] = {}
    handler = type("Handler", (_Handler,), {"files": files})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"{base}/harness.html")
                page.evaluate("window.harnessReady")
                yield Harness(page, base, files)
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()


# --- what is measured --------------------------------------------------------------------------


def reference_photos(root: Path) -> list[Path]:
    """The reference set's pictures (JPEG, PNG, WebP), read in place."""
    found = [*(root / "data").rglob("*"), *(root / "pytx-resources").glob("*")]
    keep = (".jpg", ".jpeg", ".png", ".webp")
    return sorted(p for p in found if p.suffix.lower() in keep)


def generated_files(sizes: list[tuple[int, int]], seeds: range) -> Iterator[tuple[str, bytes]]:
    """Benign photo-like scenes as JPEG (quality 75-95), PNG, WebP (lossy q 90 and lossless),
    GIF and BMP; every second scene carries an EXIF orientation tag (2-8) in its JPEG, PNG
    and WebP files, so both ways of handling it are measured."""
    from PIL import Image

    from benchmarks.scenes import scene_image

    for width, height in sizes:
        for seed in seeds:
            image = scene_image(seed, width, height)
            exif = Image.Exif()
            if seed % 2:
                exif[0x0112] = 2 + seed % 7
            tagged = {"exif": exif.tobytes()} if seed % 2 else {}
            for fmt, kwargs, suffix in (
                ("JPEG", {"quality": 75 + (seed * 7) % 21, **tagged}, "jpg"),
                ("PNG", tagged, "png"),
                ("WEBP", {"quality": 90, **tagged}, "webp"),
                ("WEBP", {"lossless": True}, "lossless.webp"),
                ("GIF", {}, "gif"),
                ("BMP", {}, "bmp"),
            ):
                buf = io.BytesIO()
                image.save(buf, fmt, **kwargs)
                yield f"scene-{seed}-{width}x{height}.{suffix}", buf.getvalue()


def has_orientation(data: bytes) -> bool:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return im.getexif().get(0x0112, 1) != 1


def format_of(name: str, data: bytes) -> str:
    from keepdown.hashing.decode import probe_image

    info = probe_image(data)
    if info.format == "PNG" and info.source_mode in ("RGBA", "LA", "PA", "P") and b"tRNS" in data:
        return "PNG (transparency)"
    if info.format == "PNG" and info.source_mode in ("RGBA", "LA", "PA"):
        return "PNG (transparency)"
    return info.format


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def compare(h: Harness, name: str, data: bytes, *, exif: bool = False) -> dict[str, Any]:
    """keepdown's exact-mode hashes of ``data`` against the browser's: distances per variant."""
    from keepdown.hashing import hash_bytes
    from keepdown.settings import load_settings

    settings = load_settings(environ={}, overrides={"apply_exif_orientation": exif})
    ours = hash_bytes(data, settings=settings, dihedral=True)
    answer = h.hash(name, data, applyExifOrientation=exif)
    if "error" in answer:
        raise RuntimeError(f"{name}: {answer['error']}")
    got = answer["result"]
    row: dict[str, Any] = {
        "name": name,
        "format": format_of(name, data),
        "quality": ours.quality,
        "browser_quality": got.get("quality"),
        "md5_equal": got["md5"] == ours.md5.hex,
        "sha256_equal": got["sha256"] == ours.sha256.hex,
    }
    if ours.dihedral is None or "pdq" not in got:
        row["distance"] = None
        row["pdq_error"] = got.get("pdq_error") or (ours.pdq_error and ours.pdq_error.code)
        return row
    dists = {v: distance(got["pdq"][v], r.hash.hex) for v, r in ours.dihedral.items()}
    row.update(distance=dists["original"], worst_variant=max(dists.values()))
    return row


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(q * len(ordered)) - 1)])


def tolerance_table(rows: list[dict[str, Any]], floor: int = 80) -> list[dict[str, Any]]:
    """Per format: files, mean / p95 / max bits (original and worst of the 8 variants)."""
    table = []
    for fmt in sorted({r["format"] for r in rows}):
        picked = [r for r in rows if r["format"] == fmt and r["distance"] is not None]
        picked = [r for r in picked if (r["quality"] or 0) >= floor]
        if not picked:
            continue
        d = [r["distance"] for r in picked]
        worst = [r["worst_variant"] for r in picked]
        table.append(
            {
                "format": fmt,
                "files": len(picked),
                "mean": round(statistics.fmean(d), 2),
                "p95": percentile(d, 0.95),
                "max": max(d),
                "max_any_variant": max(worst),
            }
        )
    return table


def print_table(table: list[dict[str, Any]]) -> None:
    print("| format | files (quality >= 80) | mean bits | p95 | max | max, any of 8 variants |")
    print("| --- | --- | --- | --- | --- | --- |")
    for t in table:
        print(
            f"| {t['format']} | {t['files']} | {t['mean']} | {t['p95']:g} | {t['max']} "
            f"| {t['max_any_variant']} |"
        )


def run_tolerance(h: Harness, reference: Path, n_seeds: int) -> list[dict[str, Any]]:
    """Every reference photo and generated file; those with an EXIF orientation tag twice,
    with keepdown's apply_exif_orientation off (the default) and on."""
    files = [(p.name, p.read_bytes()) for p in reference_photos(reference)]
    sizes = [(640, 480), (1024, 768), (1920, 1080), (600, 900)]
    files += list(generated_files(sizes, range(n_seeds)))
    rows = []
    for name, data in files:
        if not has_orientation(data):
            rows.append(compare(h, name, data))
            continue
        for exif in (False, True):
            row = compare(h, name, data, exif=exif)
            row["format"] += f", EXIF orientation {'applied' if exif else 'kept as stored'}"
            rows.append(row)
    return rows


def run_speed(h: Harness, reference: Path, repeats: int) -> list[dict[str, Any]]:
    from benchmarks.scenes import scene_jpeg
    from keepdown.hashing import hash_bytes

    photos = [(p.name, p.read_bytes()) for p in sorted(reference.rglob("exif-rotn-*.jpg"))]
    photos += [(f"scene-{s}-4000x3000.jpg", scene_jpeg(s, 4000, 3000, 90)) for s in range(2)]
    hash_bytes(photos[0][1], dihedral=True)  # compile / load the Python kernels first
    h.hash("warm-up", photos[0][1])
    out = []
    for name, data in photos:
        for _ in range(repeats):
            answer = h.hash(name, data)
            start = time.perf_counter()
            hash_bytes(data, dihedral=True)
            python_ms = (time.perf_counter() - start) * 1000
            result = answer["result"]
            out.append(
                {
                    "name": name,
                    "megapixels": round(result["width"] * result["height"] / 1e6, 1),
                    "bytes": len(data),
                    "wall_ms": round(answer["wall"]),
                    **{f"{k}_ms": round(v) for k, v in answer["timings"].items()},
                    "main_thread_stall_ms": round(answer["stall"]),
                    "python_ms": round(python_ms),
                }
            )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", action="store_true", help="12-megapixel photos in the worker")
    parser.add_argument("--tolerance", action="store_true", help="browser PDQ against keepdown's")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each photo (--speed)")
    parser.add_argument("--seeds", type=int, default=6, help="scenes per size (--tolerance)")
    parser.add_argument("--json", type=Path, help="also write every row to this file")
    args = parser.parse_args()
    reference = Path(os.environ.get("KEEPDOWN_TESTDATA", REPO.parent / "shared" / "testdata"))
    reference /= "pdq-reference"
    if not (args.speed or args.tolerance):
        parser.error("give --speed and/or --tolerance")
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}")
    rows: dict[str, Any] = {}
    with harness() as h:
        print(f"browser: {h.page.context.browser.version}")
        if args.speed:
            rows["speed"] = run_speed(h, reference, args.repeats)
            for r in rows["speed"]:
                print(json.dumps(r))
            walls = [r["wall_ms"] for r in rows["speed"]]
            median = statistics.median(walls)
            print(f"12 MP in the worker: median {median:.0f} ms, max {max(walls)} ms")
        if args.tolerance:
            rows["tolerance"] = run_tolerance(h, reference, args.seeds)
            print_table(tolerance_table(rows["tolerance"]))
            exact = all(r["md5_equal"] and r["sha256_equal"] for r in rows["tolerance"])
            print(f"MD5 and SHA-256 equal keepdown's on every file: {exact}")
    print(f"load average after: {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
