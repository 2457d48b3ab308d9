"""Passwords: Argon2id hashes and a reasonable policy.

The policy follows NIST SP 800-63B rather than composition rules: long enough
(``web_password_min_length``, 12 by default), at most 1024 characters, not built from the
username, not a handful of repeated characters, and neither breached nor guessable:

- **breached**: not on the list of 30,000 passwords most found in breaches that the
  ``zxcvbn`` package ships (its ``passwords`` frequency list, from leaked password corpora),
  nor such a password with digits and symbols added before or after (``Password123!``),
  nor on keepdown's own short list (:data:`COMMON_PASSWORDS`);
- **guessable**: zxcvbn (the strength estimator of Dropbox, ported to Python) must estimate
  at least ``10 ** min_guesses_log10`` guesses (``web_password_min_guesses_log10``, 10 by
  default: out of reach of an offline attack on a slow hash), knowing the username and the
  word "keepdown" (``Summer2026!!``, a season, a year and symbols, is about 10^8.4).

Hashes are Argon2id with argon2-cffi's RFC 9106 parameters; :meth:`Passwords.verify` says
when a stored hash was made with weaker parameters so the caller can rehash it at the next
sign-in. Each hash or check holds ``memory_cost`` (64 MiB by default) for its duration, so at
most ``concurrency`` run at once in a process (others wait their turn): a flood of sign-ins
queues instead of exhausting memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from keepdown.errors import InvalidInput

__all__ = ["COMMON_PASSWORDS", "Passwords", "breached", "check_password", "guesses_log10"]

MAX_LENGTH = 1024
#: zxcvbn estimates at most this many characters (it refuses longer input); a longer
#: password is at least as strong as its first 72 characters.
_ESTIMATE_CHARS = 72
_AFFIXES = "0123456789!@#$%^&*()-_=+.,;:?~`'\"<>[]{}|/ "

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


def check_password(
    password: str, *, username: str = "", min_length: int = 12, min_guesses_log10: float = 10.0
) -> None:
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
    if lowered in COMMON_PASSWORDS or breached(password):
        raise InvalidInput(
            "this password is on a list of passwords found in data breaches; choose another",
            field="password",
        )
    if guesses_log10(password, username) < min_guesses_log10:
        raise InvalidInput(
            "this password would be guessed too easily (a common word, name, date or pattern "
            "with a few characters added); a few unrelated words make a strong one",
            field="password",
        )


def breached(password: str) -> bool:
    """True when ``password``, or what is left of it without leading and trailing digits and
    symbols, is on zxcvbn's list of passwords found in breaches."""
    lowered = password.lower()
    core = lowered.strip(_AFFIXES)
    listed = _breached_list()
    return lowered in listed or (len(core) >= 4 and core in listed)


def guesses_log10(password: str, username: str = "") -> float:
    """zxcvbn's estimate of the guesses needed, as a power of ten."""
    from zxcvbn import zxcvbn  # type: ignore[import-untyped]

    inputs = ["keepdown", *([username] if username else [])]
    return float(zxcvbn(password[:_ESTIMATE_CHARS], user_inputs=inputs)["guesses_log10"])


@lru_cache(maxsize=1)
def _breached_list() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(FREQUENCY_LISTS["passwords"])


T = TypeVar("T")


class Passwords:
    """Argon2id hashing, at most ``concurrency`` at a time in this process (module
    docstring). Tests pass cheaper costs; production keeps the defaults."""

    def __init__(
        self,
        *,
        time_cost: int | None = None,
        memory_cost: int | None = None,
        concurrency: int = 2,
    ) -> None:
        defaults = argon2.PasswordHasher()
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost or defaults.time_cost,
            memory_cost=memory_cost or defaults.memory_cost,
            parallelism=defaults.parallelism,
        )
        self._dummy: str | None = None
        self._turns = threading.BoundedSemaphore(max(1, concurrency))

    def hash(self, password: str) -> str:
        return self._in_turn(self._hasher.hash, password)

    def verify(self, stored: str, password: str) -> tuple[bool, bool]:
        """(matches, needs rehash). A damaged stored hash never matches."""
        try:
            self._in_turn(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return False, False
        return True, self._hasher.check_needs_rehash(stored)

    def burn(self, password: str) -> None:
        """Spend the time of one verification (for unknown usernames: no timing oracle)."""
        if self._dummy is None:
            self._dummy = self.hash("keepdown-dummy-password")
        self.verify(self._dummy, password)

    def _in_turn(self, call: Callable[..., T], *args: str) -> T:
        with self._turns:
            return call(*args)
