"""Case numbers and PINs: what the person writes down to come back to their submission.

- A **case number** is 12 digits in three groups (``4817-3920-5562``): 11 random digits and a
  Damm check digit, which catches every single mistyped digit and every swap of two
  neighbouring digits, so a typo answers "no such case" instead of reaching another one.
  It is an identifier, not a secret: nothing can be done with it alone.
- A **PIN** is 12 characters in three groups (``H7QK-2MXD-9F3P``) from 29 letters and digits
  that cannot be mistaken for one another (no 0/O, 1/I/L, U/V), about 58 bits: far beyond
  guessing online (wrong PINs lock the case, and every address is rate-limited), and slow to
  guess offline from a stolen database (it is stored only as an Argon2id hash).

Both are drawn from :mod:`secrets`. Input is forgiving: spaces, dashes and lower case are
accepted and removed.
"""

from __future__ import annotations

import secrets

from keepdown.errors import InvalidInput

__all__ = [
    "PIN_ALPHABET",
    "damm_check",
    "format_case_number",
    "new_case_number",
    "new_pin",
    "normalise_case_number",
    "normalise_pin",
]

PIN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
PIN_LENGTH = 12
CASE_DIGITS = 12

# The Damm algorithm's quasigroup of order 10 (weakly totally anti-symmetric).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_check(digits: str) -> int:
    """The Damm check digit of ``digits`` (0 when ``digits`` already ends with its own)."""
    interim = 0
    for d in digits:
        interim = _DAMM[interim][int(d)]
    return interim


def new_case_number() -> str:
    """A fresh case number, as stored (12 digits, no dashes)."""
    body = "".join(secrets.choice("0123456789") for _ in range(CASE_DIGITS - 1))
    return body + str(damm_check(body))


def format_case_number(number: str) -> str:
    """``481739205562`` -> ``4817-3920-5562`` (how the page shows it)."""
    return "-".join(number[i : i + 4] for i in range(0, len(number), 4))


def normalise_case_number(text: str) -> str:
    """The stored form of a typed case number; InvalidInput when it cannot be one."""
    number = "".join(ch for ch in str(text) if not ch.isspace() and ch != "-")
    if len(number) != CASE_DIGITS or not number.isascii() or not number.isdigit():
        raise InvalidInput("a case number is 12 digits", field="case_number")
    if damm_check(number) != 0:
        raise InvalidInput("this case number has a typing mistake", field="case_number")
    return number


def new_pin() -> str:
    """A fresh PIN, as shown (three groups of four)."""
    raw = "".join(secrets.choice(PIN_ALPHABET) for _ in range(PIN_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, PIN_LENGTH, 4))


def normalise_pin(text: str) -> str:
    """The form a PIN is hashed in: upper case, no spaces or dashes. Anything else is kept
    (a wrong PIN is simply wrong); only length is checked, to bound the work."""
    pin = "".join(ch for ch in str(text) if not ch.isspace() and ch != "-").upper()
    if not 1 <= len(pin) <= 64:
        raise InvalidInput("the PIN is missing or too long", field="pin")
    return pin
