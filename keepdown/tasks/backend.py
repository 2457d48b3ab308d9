"""The task queue's backend, built from settings: Huey on SQLite, Redis or memory.

keepdown runs its background work on `Huey <https://huey.readthedocs.io>`_, an existing,
well-kept task queue with an embedded backend and a distributed one behind the same API
(``docs/architecture.md`` says why Huey). ``task_queue_url`` picks the backend:

- ``''`` (default): :class:`huey.SqliteHuey` in ``<data_dir>/tasks.sqlite3``: no server, every
  process on this machine that opens the same data dir shares the queue;
- ``redis://host:port/db`` (or ``rediss://``): :class:`huey.RedisHuey`: workers and API
  replicas on many machines share the queue; ``task_queue_name`` names its Redis keys, so
  several deployments (or test runs) can share one Redis without seeing each other's tasks;
- ``memory://``: :class:`huey.MemoryHuey`, this process only (tests, one-shot commands).

The queue only *dispatches* work: what is to be done lives in the database, and every task
carries ids and is safe to run twice (:mod:`keepdown.tasks.registry`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from keepdown import files
from keepdown.errors import ConfigurationError, StorageError
from keepdown.settings import Settings

__all__ = ["describe_backend", "open_huey"]


def open_huey(settings: Settings) -> Any:
    """The Huey instance ``task_queue_url`` names (module docstring)."""
    import huey

    url = settings.task_queue_url.strip()
    name = settings.task_queue_name or "keepdown"
    scheme = urlsplit(url).scheme.lower() if url else ""
    if not url:
        path = files.private_dir(settings.data_path) / "tasks.sqlite3"
        files.create_private(path)
        return huey.SqliteHuey(name=name, filename=str(path), utc=True, store_none=False)
    if scheme in ("redis", "rediss", "unix"):
        return _redis(huey, name, url)
    if scheme == "memory":
        return huey.MemoryHuey(name=name, utc=True)
    raise ConfigurationError(
        f"task_queue_url {url!r}: expected '' (embedded SQLite), redis://host:port/db or memory://"
    )


def _redis(huey: Any, name: str, url: str) -> Any:
    import redis

    try:
        queue = huey.RedisHuey(name=name, url=url, utc=True, store_none=False)
        queue.storage.conn.ping()
    except (redis.RedisError, ValueError) as exc:
        raise StorageError(
            f"the task queue at {_safe(url)} does not answer: {exc}", backend="redis"
        ) from exc
    return queue


def describe_backend(settings: Settings) -> str:
    """A one-line description for logs and ``keepdown worker`` (no password shown)."""
    url = settings.task_queue_url.strip()
    if not url:
        return f"embedded SQLite queue {Path(settings.data_path) / 'tasks.sqlite3'}"
    return f"{urlsplit(url).scheme} queue {_safe(url)} (name {settings.task_queue_name})"


def _safe(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}"
        netloc += f":{parts.port}" if parts.port else ""
        return parts._replace(netloc=netloc).geturl()
    return url
