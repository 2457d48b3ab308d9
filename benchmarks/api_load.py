"""API load: hash lookups and image-upload matches per second, next to the framework ceiling.

Everything is measured in one run, on loopback, each server in its own process(es):

1. a data dir with one bank of ``--entries`` random PDQ hashes (1,000,000 by default) plus
   the hash of one benign synthetic picture, and a platform key (rate limit off);
2. for each ``--workers`` value (default ``1,2``): ``keepdown serve`` with that many
   uvicorn worker processes, and a bare FastAPI app whose POST endpoint reads the body and
   returns a constant (the framework's own ceiling: same uvicorn, same loop and parser, same
   worker count, same JSON body);
3. ``wrk`` as the load generator (``apt-get install -y wrk``), one Lua script per scenario,
   ``--seconds`` (60 by default, as the issue asks) per scenario:
   - framework ceiling (bare FastAPI)
   - single-hash lookup: ``POST /api/v1/match/hashes`` with 1 PDQ hash
   - single-hash lookup, HMA style: ``GET /m/raw_lookup?signal_type=pdq&signal=...``
   - batches of 100: ``POST /api/v1/match/hashes`` with 100 PDQ hashes
   - 1920x1080 JPEG uploads: ``POST /api/v1/match`` (exact-mode PDQ with the 8 dihedral
     variants, as the API matches)
4. in the same run, in this process, right before each upload scenario (the servers idle): the
   hashing-only rate of the same JPEG (``hash_bytes(..., dihedral=True)`` on as many threads
   as there are cores), the most the upload scenario could reach if serving cost nothing.

5. last, in this process: one upload request served through the ASGI app (no network, no
   load generator) against hashing the same JPEG alone, alternated, to show what serving adds
   to the hashing an upload costs.

It prints one table per worker count with requests/s, p50 and p99, the ratio to the
ceiling, the resident memory of the server processes (each worker holds its own index), and
the load average of the machine before and after (the machine may be shared).

    python benchmarks/api_load.py                       # the issue's figures: 1e6, 60 s
    python benchmarks/api_load.py --entries 100000 --seconds 5 --workers 1
    python benchmarks/api_load.py --workers ''    # only the in-process upload comparison
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import psutil

from keepdown.app import open_services
from keepdown.auth import Role
from keepdown.clock import SystemClock
from keepdown.hashing import hash_bytes
from keepdown.settings import load_settings
from keepdown.testing import flip_bits, synthetic_jpeg

CEILING_APP = textwrap.dedent(
    """
    from fastapi import FastAPI, Request
    app = FastAPI()

    @app.post("/ceiling")
    async def ceiling(request: Request) -> dict:
        await request.body()
        return {"results": [{"matched": False, "matches": []}]}
    """
)

LUA = """
wrk.method = "{method}"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "{content_type}"
local f = io.open("{body_path}", "rb")
wrk.body = f:read("*a")
f:close()
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    body: bytes
    content_type: str = "application/json"
    method: str = "POST"
    connections: int = 32
    ceiling: bool = False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(data_dir: Path, entries: int) -> tuple[str, str]:
    """A bank of ``entries`` random PDQ hashes (plus the known picture's); a platform key."""
    settings = load_settings(environ={}, overrides={"data_dir": str(data_dir)})
    services = open_services(settings, SystemClock())
    known = hash_bytes(synthetic_jpeg(1, 1920, 1080), mode="exact").pdq.hex
    raw = np.random.default_rng(7).integers(0, 256, size=(entries, 32), dtype=np.uint8)
    bank_file = data_dir / "bank.txt"
    with bank_file.open("w") as out:
        out.write(known + "\n")
        for row in raw:
            out.write(row.tobytes().hex() + "\n")
    services.auth.ensure_organisation("bench")
    services.banks.create_bank("bench", owner="bench", label="csam")
    started = time.perf_counter()
    services.banks.import_file("bench", bank_file, fmt="plain", signal_type="pdq")
    print(f"imported {entries + 1:,} PDQ entries in {time.perf_counter() - started:.1f} s")
    token = services.auth.issue_key("bench", Role.PLATFORM).token
    services.storage.close()
    bank_file.unlink()
    return token, known


def start(cmd: list[str], env: dict[str, str], ready_url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}: {' '.join(cmd)}")
        try:
            if httpx.get(ready_url, timeout=1).status_code in (200, 405):
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server did not start: {' '.join(cmd)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def rss_mb(process: subprocess.Popen[bytes]) -> tuple[float, int]:
    """Resident memory of a server and its worker processes (MB), and how many processes."""
    parent = psutil.Process(process.pid)
    family = [parent, *parent.children(recursive=True)]
    return sum(p.memory_info().rss for p in family) / 1e6, len(family)


def wrk(url: str, token: str, scenario: Scenario, seconds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        body_path = Path(folder) / "body"
        body_path.write_bytes(scenario.body)
        script = Path(folder) / "request.lua"
        script.write_text(
            LUA.format(
                method=scenario.method,
                token=token,
                content_type=scenario.content_type,
                body_path=body_path,
            )
        )
        cmd = ["wrk", "-t1", f"-c{scenario.connections}", f"-d{seconds}s", "--latency"]
        out = subprocess.run(
            [*cmd, "-s", str(script), url], capture_output=True, text=True, check=True
        ).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        "p50_ms": _ms(_find(r"50%\s+([\d.]+\w+)", out)),
        "p99_ms": _ms(_find(r"99%\s+([\d.]+\w+)", out)),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def _find(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise SystemExit(f"unexpected wrk output:\n{text}")
    return found.group(1)


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def hashing_rate(jpeg: bytes, seconds: float) -> float:
    """JPEGs/s hashed in-process as the upload endpoint hashes them, on every core."""
    settings = load_settings(environ={}, overrides={})
    threads = os.cpu_count() or 1

    def work(deadline: float) -> int:
        done = 0
        while time.perf_counter() < deadline:
            hash_bytes(jpeg, settings=settings, mode="exact", dihedral=True)
            done += 1
        return done

    hash_bytes(jpeg, settings=settings, mode="exact", dihedral=True)  # compile / warm up
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        counts = list(pool.map(work, [started + seconds] * threads))
    return sum(counts) / (time.perf_counter() - started)


def scenarios(known: str) -> list[Scenario]:
    rng = random.Random(3)
    near = flip_bits(known, 8, rng)
    single = json.dumps({"hashes": [{"signal_type": "pdq", "value": near}]}).encode()
    batch = [
        {"signal_type": "pdq", "value": flip_bits(known, rng.randrange(0, 60), rng)}
        for _ in range(100)
    ]
    return [
        Scenario("framework ceiling (bare FastAPI)", "/ceiling", single, ceiling=True),
        Scenario("single-hash lookup", "/api/v1/match/hashes", single),
        Scenario(
            "single-hash lookup, HMA GET /m/raw_lookup",
            f"/m/raw_lookup?signal_type=pdq&signal={near}",
            b"",
            method="GET",
        ),
        Scenario(
            "batch of 100 hashes", "/api/v1/match/hashes", json.dumps({"hashes": batch}).encode()
        ),
        Scenario(
            "1920x1080 JPEG upload match",
            "/api/v1/match",
            synthetic_jpeg(1, 1920, 1080),
            content_type="image/jpeg",
            connections=4,
        ),
    ]


def run_workers(args: argparse.Namespace, folder: Path, token: str, known: str, n: int) -> None:
    env = {
        **os.environ,
        "KEEPDOWN_DATA_DIR": str(folder / "data"),
        "KEEPDOWN_RATE_LIMIT_PLATFORM": "",
        "KEEPDOWN_API_WORKERS": str(n),
        "KEEPDOWN_NOTICE_WORKER_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    port, ceiling_port = free_port(), free_port()
    ceiling_cmd = [sys.executable, "-m", "uvicorn", "ceiling_app:app", "--app-dir", str(folder)]
    started = time.perf_counter()
    keepdown = start(
        [sys.executable, "-m", "keepdown", "serve", "--port", str(port)],
        env,
        f"http://127.0.0.1:{port}/api/v1/ready",
    )
    ready_s = time.perf_counter() - started
    ceiling = start(
        [*ceiling_cmd, "--port", str(ceiling_port), "--workers", str(n), "--no-access-log"],
        env,
        f"http://127.0.0.1:{ceiling_port}/ceiling",
    )
    try:
        if n > 1:
            time.sleep(5)  # let every worker load its index before the first request counts
        memory, processes = rss_mb(keepdown)
        print(
            f"\n## {n} worker process(es): keepdown ready in {ready_s:.0f} s, "
            f"{memory:,.0f} MB resident in {processes} process(es)\n"
        )
        urls = {False: f"http://127.0.0.1:{port}", True: f"http://127.0.0.1:{ceiling_port}"}
        measure(args, urls, token, known)
    finally:
        stop(keepdown)
        stop(ceiling)


def measure(args: argparse.Namespace, urls: dict[bool, str], token: str, known: str) -> None:
    """One table: every scenario against its server, the hashing-only rate before uploads."""
    print(f"load average before: {_load()}")
    print("| scenario | requests/s | p50 ms | p99 ms | non-2xx | vs ceiling |")
    print("| --- | --- | --- | --- | --- | --- |")
    ceiling_rps, hashing = 0.0, 0.0
    for s in scenarios(known):
        if s.content_type == "image/jpeg":
            hashing = hashing_rate(s.body, min(args.seconds, 20))
        r = wrk(urls[s.ceiling] + s.path, token, s, args.seconds)
        ceiling_rps = r["rps"] if s.ceiling else ceiling_rps
        ratio = "" if s.ceiling else f"{r['rps'] / ceiling_rps:.0%}"
        extra = f" ({r['rps'] * 100:,.0f} hashes/s)" if "100" in s.name else ""
        if hashing and s.content_type == "image/jpeg":
            ratio += f"; {r['rps'] / hashing:.0%} of hashing alone ({hashing:.1f}/s)"
        print(
            f"| {s.name} | {r['rps']:,.0f}{extra} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
            f"| {r['errors']} | {ratio} |"
        )
    print(f"load average after: {_load()}")


def upload_overhead(data_dir: Path, token: str, rounds: int = 3, n: int = 20) -> None:
    """Milliseconds per upload served in-process through the ASGI app vs hashing alone."""
    import asyncio

    from keepdown.app import build_app

    settings = load_settings(
        environ={}, overrides={"data_dir": str(data_dir), "rate_limit_platform": ""}
    )
    app, services = build_app(settings, refresh_in_background=False)
    jpeg = synthetic_jpeg(1, 1920, 1080)
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"image/jpeg"),
        (b"content-length", str(len(jpeg)).encode()),
    ]
    scope = {"type": "http", "method": "POST", "path": "/api/v1/match", "headers": headers}

    async def upload() -> None:
        chunks = [jpeg[i : i + 65536] for i in range(0, len(jpeg), 65536)]
        status: list[int] = []

        async def receive() -> dict[str, object]:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))  # type: ignore[call-overload]

        full = {**scope, "query_string": b"", "client": ("127.0.0.1", 1), "state": {}}
        await app(full, receive, send)
        assert status == [200], status

    async def rounds_of_both() -> None:
        await upload()
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(n):
                await upload()
            served = (time.perf_counter() - started) / n
            started = time.perf_counter()
            for _ in range(n):
                hash_bytes(jpeg, settings=settings, mode="exact", dihedral=True)
            alone = (time.perf_counter() - started) / n
            print(f"| {1e3 * served:.1f} | {1e3 * alone:.1f} | {served / alone:.2f} | {_load()} |")

    print("\none 1920x1080 JPEG upload, in-process, served through the app vs hashed alone:")
    print("| served ms | hashing alone ms | ratio | load average |\n| --- | --- | --- | --- |")
    asyncio.run(rounds_of_both())
    services.storage.close()


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=60, help="per scenario (issue: 60)")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, e.g. 1,2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keepdown-bench-") as name:
        folder = Path(name)
        (folder / "ceiling_app.py").write_text(CEILING_APP)
        token, known = seed(folder / "data", args.entries)
        print(
            f"\n{args.entries:,} PDQ entries, {args.seconds} s per scenario, wrk -t1, "
            f"32 connections (4 for uploads), {os.cpu_count()} cores"
        )
        counts = [int(w) for w in args.workers.split(",") if w.strip()]
        for n in counts:
            run_workers(args, folder, token, known, n)
        if counts:
            print(
                f"\nhashing only: in-process, {os.cpu_count()} threads, the upload's JPEG "
                "(exact PDQ + 8 dihedral variants + MD5/SHA-1/SHA-256), before each upload run"
            )
        upload_overhead(folder / "data", token)
        print(f"load average at the end: {_load()}")


if __name__ == "__main__":
    main()
