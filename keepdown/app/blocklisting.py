"""The block list's parts (:attr:`Runtime.blocklist`): the service on the runtime's storage,
the master secret of the licensees' keys, and the forms' settings (docs/blocklist.md)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from keepdown import files
from keepdown.app.runtime import Runtime
from keepdown.blocklist import BlocklistService, Canary
from keepdown.blocklist.desk import BlocklistDesk
from keepdown.blocklist.render import RpzPolicy
from keepdown.settings import Settings
from keepdown.storage.blocklist_store import SqlBlocklistStore

__all__ = ["blocklist_desk", "master_secret", "splash_url"]


def master_secret(settings: Settings) -> bytes:
    """The environment variable's secret, or ``<data_dir>/blocklist.key`` (made once, 0600)."""
    from_env = settings.secret("blocklist_secret_env")
    if from_env:
        return from_env.encode("utf-8")
    path = Path(settings.data_path) / "blocklist.key"
    if not path.exists():
        files.private_dir(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def splash_url(settings: Settings) -> str:
    configured = settings.blocklist_splash_url
    return configured or f"{settings.notice_public_base_url.rstrip('/')}/web/blocked"


def blocklist_desk(runtime: Runtime) -> BlocklistDesk:
    settings = runtime.settings
    service = BlocklistService(
        SqlBlocklistStore(runtime.storage.engine),
        runtime.storage.events,
        runtime.clock,
        canary=Canary(settings.blocklist_canary_host.strip().lower()),
    )
    return BlocklistDesk(
        service,
        master_secret=master_secret(settings),
        rpz=RpzPolicy(
            zone=settings.blocklist_rpz_zone,
            splash_host=settings.blocklist_rpz_splash_host,
            proxy_host=settings.blocklist_rpz_proxy_host,
            ttl=settings.blocklist_rpz_ttl,
        ),
        splash_url=splash_url(settings),
        refresh_seconds=settings.blocklist_refresh_seconds,
        clock=runtime.clock,
    )
