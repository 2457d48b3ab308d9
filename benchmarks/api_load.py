"""API load: hash lookups and image-upload matches per second, next to the framework ceiling.

Runs, each in its own process on loopback:
1. a data dir with one bank of ``--entries`` random PDQ hashes (1,000,000 by default) plus
   the hash of one benign synthetic picture, and a platform key;
2. ``keepdown serve`` on that data dir;
3. a bare FastAPI app whose POST endpoint returns a constant (the framework ceiling, same
   uvicorn, same JSON body size);
4. ``wrk`` as the load generator (``apt-get install -y wrk``), a Lua script per scenario.

Scenarios: single-hash lookup (``POST /api/v1/match/hashes`` with 1 hash), batches of 100,
and 1920x1080 JPEG uploads to ``POST /api/v1/match``. Prints requests/s and p50/p99.

    python benchmarks/api_load.py --entries 1000000 --seconds 10
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
from pathlib import Path

import httpx
import numpy as np

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
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "{content_type}"
local f = io.open("{body_path}", "rb")
wrk.body = f:read("*a")
f:close()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(data_dir: Path, entries: int) -> tuple[str, str]:
    """A bank of ``entries`` random PDQ hashes (plus the known picture's); a platform key."""
    settings = load_settings(environ={}, overrides={"data_dir": str(data_dir)})
    services = open_services(settings, SystemClock())
    known = hash_bytes(synthetic_jpeg(1, 1920, 1080), mode="exact").pdq.hex
    rng = np.random.default_rng(7)
    raw = rng.integers(0, 256, size=(entries, 32), dtype=np.uint8)
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
    return token, known


def start(cmd: list[str], env: dict[str, str], ready_url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(ready_url, timeout=1).status_code in (200, 405):
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server did not start: {' '.join(cmd)}")


def wrk(url: str, token: str, body: bytes, content_type: str, seconds: int, conns: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        body_path = Path(folder) / "body"
        body_path.write_bytes(body)
        script = Path(folder) / "post.lua"
        script.write_text(LUA.format(token=token, content_type=content_type, body_path=body_path))
        out = subprocess.run(
            ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script), url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="keepdown-bench-") as folder:
        data_dir = Path(folder) / "data"
        token, known = seed(data_dir, args.entries)
        env = {
            **os.environ,
            "KEEPDOWN_DATA_DIR": str(data_dir),
            "KEEPDOWN_RATE_LIMIT_PLATFORM": "",
            "PYTHONUNBUFFERED": "1",
        }
        port, ceiling_port = free_port(), free_port()
        (Path(folder) / "ceiling_app.py").write_text(CEILING_APP)
        servers = [
            start(
                [sys.executable, "-m", "keepdown", "serve", "--port", str(port)],
                env,
                f"http://127.0.0.1:{port}/api/v1/ready",
            ),
            start(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "ceiling_app:app",
                    "--port",
                    str(ceiling_port),
                    "--log-level",
                    "warning",
                    "--app-dir",
                    folder,
                ],
                env,
                f"http://127.0.0.1:{ceiling_port}/ceiling",
            ),
        ]
        try:
            run(args, port, ceiling_port, token, known)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)


def run(args: argparse.Namespace, port: int, ceiling_port: int, token: str, known: str) -> None:
    rng = random.Random(3)
    single = json.dumps({"hashes": [{"signal_type": "pdq", "value": flip_bits(known, 8, rng)}]})
    batch = json.dumps(
        {
            "hashes": [
                {"signal_type": "pdq", "value": flip_bits(known, rng.randrange(0, 60), rng)}
                for _ in range(100)
            ]
        }
    )
    jpeg = synthetic_jpeg(1, 1920, 1080)
    base = f"http://127.0.0.1:{port}"
    scenarios = [
        (
            "framework ceiling (bare FastAPI)",
            f"http://127.0.0.1:{ceiling_port}/ceiling",
            single.encode(),
            "application/json",
        ),
        ("single-hash lookup", f"{base}/api/v1/match/hashes", single.encode(), "application/json"),
        ("batch of 100 hashes", f"{base}/api/v1/match/hashes", batch.encode(), "application/json"),
        ("1920x1080 JPEG upload match", f"{base}/api/v1/match", jpeg, "image/jpeg"),
    ]
    print(
        f"\n{args.entries:,} PDQ entries, {args.seconds} s per scenario, "
        f"{args.connections} connections, wrk -t1\n"
    )
    print("| scenario | requests/s | p50 ms | p99 ms | non-2xx |\n|---|---|---|---|---|")
    results = {}
    for name, url, body, content_type in scenarios:
        conns = 4 if "JPEG" in name else args.connections
        results[name] = r = wrk(url, token, body, content_type, args.seconds, conns)
        print(
            f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} |"
        )
    ceiling = results["framework ceiling (bare FastAPI)"]["rps"]
    single_rps = results["single-hash lookup"]["rps"]
    print(
        f"\nsingle-hash lookups: {single_rps / ceiling:.0%} of the framework ceiling; "
        f"batch of 100: {results['batch of 100 hashes']['rps'] * 100:,.0f} hashes/s"
    )


if __name__ == "__main__":
    main()
