"""The sign-in throttle: guessing is slowed down per client and per name, and nobody can lock
a person out by failing on purpose.

A hard lock-out ("5 wrong passwords lock the account for 15 minutes") hands an attacker a
way to lock anyone out, and its "locked" answer tells which names exist. Instead (following
OWASP's "device cookies" advice), failures are counted in a sliding window of ``window``:

1. **per client address** (an IPv6 address counts as its /64): past ``per_client`` failures
   the address is refused before any password is checked, whatever name it tries;
2. **per name as typed**, for devices not trusted for that name: past ``per_name`` failures,
   attempts for that name from untrusted devices are refused before any password is checked.
   Unknown names are counted exactly like existing ones, so the answer, and its time, say
   nothing about whether a name exists;
3. **per trusted device**: a browser that signed in as a name before holds a device token
   for it (:mod:`keepdown.auth.devices`); it is not held back by step 2, so the person keeps
   signing in while someone else guesses. It has its own budget (``per_device``), after which
   it is treated as untrusted;
4. **per session**, for the checks of the current password a signed-in person must pass to
   change their password or second factor: past ``per_session`` wrong answers the session
   is ended (a stolen session cannot guess the password without limit).

Nothing here ends a session on a failed sign-in, and a success resets nothing an attacker
counted against (an attacker cannot clear their own count by signing in to another name).
Refusals are :class:`~keepdown.errors.RateLimited` with ``retry_after`` in seconds.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from keepdown.auth.attempts import AttemptCounter
from keepdown.clock import Clock
from keepdown.errors import RateLimited

__all__ = ["SignInThrottle", "ThrottlePolicy", "client_key"]


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures each key may have within ``window``."""

    per_name: int = 5
    per_client: int = 20
    per_device: int = 10
    per_session: int = 5
    window: timedelta = timedelta(minutes=15)


def client_key(address: str | None) -> str:
    """The client's count key: the address, or its /64 for IPv6 (one host holds a /64)."""
    if not address:
        return "client:unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"client:{address[:64]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"client:{ip.ipv4_mapped}"
        return f"client:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"client:{ip}"


class SignInThrottle:
    """See the module docstring."""

    def __init__(self, attempts: AttemptCounter, clock: Clock, policy: ThrottlePolicy) -> None:
        self.attempts = attempts
        self.clock = clock
        self.policy = policy

    # --- signing in ------------------------------------------------------------------------

    def check(self, name: str, client: str | None, device: str | None) -> None:
        """RateLimited when this attempt may not even be checked (steps 1-3)."""
        window = self.policy.window
        self._over(client_key(client), self.policy.per_client, "from your address")
        if device is not None:
            device_failures = self.attempts.recent(_device_key(device), window)
            if len(device_failures) < self.policy.per_device:
                return
        self._over(_name_key(name), self.policy.per_name, "for this name")

    def failed(self, name: str, client: str | None, device: str | None) -> None:
        window = self.policy.window
        self.attempts.add(client_key(client), window)
        self.attempts.add(_name_key(name), window)
        if device is not None:
            self.attempts.add(_device_key(device), window)

    def held_until(self, name: str) -> datetime | None:
        """When untrusted devices may try ``name`` again; None when they may now."""
        times = self.attempts.recent(_name_key(name), self.policy.window)
        if len(times) < self.policy.per_name:
            return None
        return times[-self.policy.per_name] + self.policy.window

    def release(self, name: str) -> None:
        """Forget the failures counted against ``name`` (an admin's "unlock")."""
        self.attempts.clear(_name_key(name))

    # --- checks inside a session -----------------------------------------------------------

    def session_failed(self, session_id: int) -> bool:
        """Count a wrong current password in a session; True when the session must end."""
        key = f"session:{session_id}"
        self.attempts.add(key, self.policy.window)
        return len(self.attempts.recent(key, self.policy.window)) >= self.policy.per_session

    # --- inside ----------------------------------------------------------------------------

    def _over(self, key: str, limit: int, whom: str) -> None:
        times = self.attempts.recent(key, self.policy.window)
        if len(times) < limit:
            return
        until = times[-limit] + self.policy.window
        wait = max(1, math.ceil((until - self.clock.now()).total_seconds()))
        minutes = max(1, math.ceil(wait / 60))
        raise RateLimited(
            f"too many failed sign-ins {whom}; try again in {minutes} minute(s)",
            retry_after=wait,
            scope=key.partition(":")[0],
        )


def _name_key(name: str) -> str:
    return f"name:{name.strip().lower()[:200]}"


def _device_key(device: str) -> str:
    return f"device:{device}"
