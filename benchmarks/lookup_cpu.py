"""CPU per request in-process: a bare FastAPI POST against keepdown's single-hash lookup.

Both ASGI apps are called directly (no network, no load generator, no uvicorn), alternated,
so the comparison is what keepdown's lookup costs on top of the framework's own minimum: the
key check, rate limit, metrics, the match chain and the index search, the JSON answer.
``api_load.py`` measures the same over the network; this one isolates the app's own share.

    python benchmarks/lookup_cpu.py                    # 200,000 entries, 3 rounds
    python benchmarks/lookup_cpu.py --entries 1e6 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.testclient import TestClient

from keepdown.app import open_services
from keepdown.app.server import build_app
from keepdown.auth import Role
from keepdown.clock import SystemClock
from keepdown.settings import load_settings


def seeded(folder: Path, entries: int) -> tuple[Any, str, str]:
    """keepdown's app over ``entries`` random PDQ hashes, a platform token, a stored hash."""
    settings = load_settings(
        environ={}, overrides={"data_dir": str(folder), "rate_limit_platform": ""}
    )
    services = open_services(settings, SystemClock())
    raw = np.random.default_rng(7).integers(0, 256, size=(entries, 32), dtype=np.uint8)
    bank = folder / "bank.txt"
    bank.write_text("\n".join(row.tobytes().hex() for row in raw) + "\n")
    services.auth.ensure_organisation("bench")
    services.banks.create_bank("bench", owner="bench", label="csam")
    services.banks.import_file("bench", bank, fmt="plain", signal_type="pdq")
    token = services.auth.issue_key("bench", Role.PLATFORM).token
    services.storage.close()
    app, _runtime = build_app(settings)
    return app, token, raw[5].tobytes().hex()


def ceiling_app() -> FastAPI:
    app = FastAPI()

    @app.post("/ceiling")
    async def ceiling(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"ok": True})

    return app


class Caller:
    """One POST through an ASGI app, as uvicorn would hand it over."""

    def __init__(self, token: str, body: bytes) -> None:
        self.body = body
        self.headers = [
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]

    async def __call__(self, app: Any, path: str) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": self.headers,
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80),
        }
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    async def cpu_us(self, app: Any, path: str, n: int) -> float:
        for _ in range(200):
            status = await self(app, path)
        if status != 200:
            raise SystemExit(f"{path} answered {status}")
        started = time.process_time()
        for _ in range(n):
            await self(app, path)
        return (time.process_time() - started) / n * 1e6


async def run(args: argparse.Namespace, app: Any, caller: Caller) -> None:
    bare = ceiling_app()
    print("| round | bare FastAPI POST us | single-hash lookup us | ratio |")
    print("| --- | --- | --- | --- |")
    for round_ in range(1, args.rounds + 1):
        base = await caller.cpu_us(bare, "/ceiling", args.requests)
        lookup = await caller.cpu_us(app, "/api/v1/match/hashes", args.requests)
        print(f"| {round_} | {base:.0f} | {lookup:.0f} | {base / lookup:.2f} |")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            await caller(app, "/api/v1/match/hashes")
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=float, default=200_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the lookups after")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kd-lookup-cpu-") as tmp:
        app, token, known = seeded(Path(tmp), int(args.entries))
        body = json.dumps({"hashes": [{"signal_type": "pdq", "value": known}]}).encode()
        with TestClient(app):  # the app's lifespan: the runtime's parts are opened
            asyncio.run(run(args, app, Caller(token, body)))


if __name__ == "__main__":
    main()
