"""Device tokens: "this browser signed in as this name before", for the sign-in throttle.

After a successful sign-in the browser gets a device token for the name (a cookie); while
someone else's failures hold the name back, a browser with a valid token for it still
signs in (:mod:`keepdown.auth.throttle`). A token is::

    v1.<device id>.<issued, Unix seconds>.<HMAC-SHA256 over "v1", name, device id, issued>

signed with a key the composition root keeps (``<data_dir>/web-devices.key`` unless
``web_device_key_env`` names one). It proves nothing but a past sign-in: the password (and
the second factor) are still checked. It holds no name (the name is part of the MAC), and
expires after ``valid_for``; it is refreshed at each sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from keepdown.clock import Clock

__all__ = ["DeviceTokens"]

_VERSION = "v1"


class DeviceTokens:
    """Issue and check device tokens (module docstring)."""

    def __init__(self, key: bytes, clock: Clock, *, valid_for: timedelta) -> None:
        if len(key) < 16:
            raise ValueError("a device token key needs at least 16 bytes")
        self._key = key
        self.clock = clock
        self.valid_for = valid_for

    def issue(self, name: str, device: str | None = None) -> str:
        """A fresh token for ``name`` (keeping ``device``'s id when refreshing one)."""
        device = device or secrets.token_urlsafe(16)
        issued = str(int(self.clock.now().timestamp()))
        return ".".join((_VERSION, device, issued, self._mac(name, device, issued)))

    def device(self, token: str | None, name: str) -> str | None:
        """The device id of a valid, unexpired ``token`` for ``name``; None otherwise."""
        if not token or len(token) > 200:
            return None
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != _VERSION or not parts[2].isascii():
            return None
        _, device, issued, mac = parts
        if not (issued.isascii() and issued.isdigit()):
            return None
        if not hmac.compare_digest(mac, self._mac(name, device, issued)):
            return None
        age = self.clock.now().timestamp() - int(issued)
        if age < -300 or age > self.valid_for.total_seconds():
            return None
        return device

    def _mac(self, name: str, device: str, issued: str) -> str:
        message = "\x00".join((_VERSION, name.strip().lower(), device, issued)).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
