"""Passwords: Argon2id hashes and a reasonable policy.

The policy follows NIST SP 800-63B rather than composition rules: long enough
(``web_password_min_length``, 12 by default), at most 1024 characters, not built from the
username, not a handful of repeated characters, not on a short list of passwords every
cracking dictionary starts with. Hashes are Argon2id with argon2-cffi's RFC 9106 parameters;
:meth:`Passwords.verify` says when a stored hash was made with weaker parameters so the
caller can rehash it at the next sign-in.
"""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from keepdown.errors import InvalidInput

__all__ = ["COMMON_PASSWORDS", "Passwords", "check_password"]

MAX_LENGTH = 1024

#: Long passwords still found first by every cracking tool (lower-cased before comparing).
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "qwertyuiopasdf",
        "qwertyuiop123",
        "qwerty123456",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "administrator",
        "changeme1234",
        "keepdown1234",
        "keepdownkeepdown",
        "abcdefghijkl",
        "abc123abc123",
        "111111111111",
        "000000000000",
    }
)


def check_password(password: str, *, username: str = "", min_length: int = 12) -> None:
    """InvalidInput naming what is wrong with ``password``; nothing when it is acceptable."""
    if len(password) < min_length:
        raise InvalidInput(f"a password needs at least {min_length} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"a password has at most {MAX_LENGTH} characters", field="password")
    lowered = password.lower()
    if username and username.lower() in lowered:
        raise InvalidInput("a password may not contain the username", field="password")
    if len(set(password)) < 5:
        raise InvalidInput("a password needs at least 5 different characters", field="password")
    if lowered in COMMON_PASSWORDS:
        raise InvalidInput("this password is too common; choose another", field="password")


class Passwords:
    """Argon2id hashing. Tests pass cheaper costs; production keeps the defaults."""

    def __init__(self, *, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        defaults = argon2.PasswordHasher()
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost or defaults.time_cost,
            memory_cost=memory_cost or defaults.memory_cost,
            parallelism=defaults.parallelism,
        )
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> tuple[bool, bool]:
        """(matches, needs rehash). A damaged stored hash never matches."""
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False, False
        return True, self._hasher.check_needs_rehash(stored)

    def burn(self, password: str) -> None:
        """Spend the time of one verification (for unknown usernames: no timing oracle)."""
        if self._dummy is None:
            self._dummy = self._hasher.hash("keepdown-dummy-password")
        self.verify(self._dummy, password)
