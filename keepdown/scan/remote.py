"""Scan sources on the network: a list of URLs (SSRF-guarded) and an S3-compatible bucket.

URLs are fetched by the crawler's :class:`~keepdown.crawl.fetcher.Fetcher`, so a scan gets the
same guard as a crawl: only http(s), every redirect hop checked, private, loopback and
link-local addresses refused unless ``crawl_allowed_networks`` allows them, a byte cap on
every response. A batch of URLs is fetched concurrently (``crawl_concurrency`` at a time).

Buckets are read with boto3: ``s3_endpoint_url`` points it at any S3-compatible store (MinIO,
Ceph, a moto server in the tests), credentials come from the environment variables that
``s3_access_key_env`` / ``s3_secret_key_env`` name, or boto3's own chain when those are empty.
An object over the byte limit is refused from its listed size, before any byte is fetched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from keepdown.errors import InputTooLarge, InvalidInput, KeepdownError, StorageError
from keepdown.scan.sources import Item, Payload, _Base, _too_large
from keepdown.settings import Settings

__all__ = ["S3Source", "UrlListSource"]


class UrlListSource(_Base):
    """Each URL in a text file, fetched through the SSRF guard (module docstring)."""

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self.spec = str(path)
        self.settings = settings

    def items(self) -> Iterator[Item]:
        seen: set[str] = set()
        with self.path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                url = line.strip()
                if not url or url.startswith("#") or url in seen:
                    continue
                seen.add(url)
                scheme = urlsplit(url).scheme.lower()
                error = None if scheme in ("http", "https") else "not an http(s) URL"
                yield Item(url[:2000], error=error)

    def load(self, key: str, limit: int) -> Payload:
        result = self.load_many([key], limit)[0]
        if isinstance(result, InvalidInput):
            raise result
        return result

    def load_many(self, keys: Sequence[str], limit: int) -> list[Payload | InvalidInput]:
        return asyncio.run(self._fetch_all(keys, limit))

    async def _fetch_all(self, keys: Sequence[str], limit: int) -> list[Payload | InvalidInput]:
        from keepdown.crawl.fetcher import Fetcher

        fetcher = Fetcher(self.settings)
        gate = asyncio.Semaphore(max(1, self.settings.crawl_concurrency))
        try:
            return list(await asyncio.gather(*(self._one(fetcher, gate, k, limit) for k in keys)))
        finally:
            await fetcher.aclose()

    async def _one(
        self, fetcher: Any, gate: asyncio.Semaphore, url: str, limit: int
    ) -> Payload | InvalidInput:
        async with gate:
            try:
                result = await fetcher.fetch(url, max_bytes=limit)
            except KeepdownError as exc:
                return InvalidInput(f"{exc.code}: {exc.message}")
        if result.truncated:
            return InputTooLarge(f"{url} is over the {limit}-byte limit", limit=limit)
        if not result.ok:
            return InvalidInput(f"{url} answered HTTP {result.status}")
        return bytes(result.body)


class S3Source(_Base):
    """Every object under ``s3://bucket/prefix`` (module docstring)."""

    def __init__(self, spec: str, settings: Settings) -> None:
        parts = urlsplit(spec)
        if not parts.netloc:
            raise InvalidInput(f"{spec}: expected s3://bucket/prefix")
        self.spec = spec
        self.bucket = parts.netloc
        self.prefix = parts.path.lstrip("/")
        self.settings = settings
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            s = self.settings
            self._client = boto3.client(
                "s3",
                endpoint_url=str(s.s3_endpoint_url) or None,
                region_name=str(s.s3_region) or None,
                aws_access_key_id=s.secret("s3_access_key_env") or None,
                aws_secret_access_key=s.secret("s3_secret_key_env") or None,
                config=Config(retries={"max_attempts": 3, "mode": "standard"}),
            )
        return self._client

    def items(self) -> Iterator[Item]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client().get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for obj in page.get("Contents", ()):
                    if not obj["Key"].endswith("/"):
                        yield Item(f"s3://{self.bucket}/{obj['Key']}", int(obj["Size"]))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot list {self.spec}: {exc}") from exc

    def load(self, key: str, limit: int) -> Payload:
        from botocore.exceptions import BotoCoreError, ClientError

        name = key.removeprefix(f"s3://{self.bucket}/")
        try:
            answer = self.client().get_object(Bucket=self.bucket, Key=name)
            size = int(answer.get("ContentLength", 0))
            if size > limit:
                answer["Body"].close()
                raise _too_large(key, size, limit)
            data = answer["Body"].read(limit + 1)
        except (BotoCoreError, ClientError) as exc:
            # reported on this item's row; the scan goes on
            raise InvalidInput(f"fetch_error: cannot read {key}: {exc}") from exc
        if len(data) > limit:
            raise _too_large(key, len(data), limit)
        return bytes(data)
