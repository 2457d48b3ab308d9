"""Map a source's own classification label to keepdown's classification.

Each source labels its hashes with its own scheme. keepdown keeps the label verbatim on the
entry (``source_label``) and maps it once, here, to two small enumerations that the rest of the
system reasons about: a :class:`Category` and a :class:`Maturity`. The tables and the reasoning
behind them are in ``docs/classification.md``; :data:`SCHEMES` is the single source both the
code and that document follow.

Schemes understood:

1. ``keepdown`` — keepdown's own category names (``csam``, ``harmful-abusive``, ``other``).
2. ``c3p`` — the Canadian Centre for Child Protection's Shield labels (``csam``,
   ``harmful-abusive-material``). Shield's "no known match" answer is a lookup result, not a
   label an entry can carry, so it is not accepted here.
3. ``iwf`` — the Internet Watch Foundation's severity categories A, B and C (also written
   ``Category A``). They say nothing about age, so maturity is ``unknown``.
4. ``industry`` — the industry classification scale A1, A2, B1, B2: the letter gives the
   maturity (A pre-pubescent, B pubescent), the digit the kind of material; all four are CSAM.

Labels are compared after trimming, lower-casing and folding ``_`` and runs of spaces to a
single space, so ``Category A``, ``category_a`` and ``CATEGORY  A`` are the same label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from keepdown.errors import InvalidInput

__all__ = [
    "SCHEMES",
    "Category",
    "Classification",
    "Maturity",
    "known_labels",
    "map_label",
    "normalise_label",
]


class Category(StrEnum):
    """What kind of material an entry's hash stands for."""

    CSAM = "csam"
    HARMFUL_ABUSIVE = "harmful-abusive"
    OTHER = "other"


class Maturity(StrEnum):
    """The developmental stage a label states, when it states one."""

    PREPUBESCENT = "pre-pubescent"
    POSTPUBESCENT = "post-pubescent"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Classification:
    """keepdown's classification of an entry: a category and a maturity."""

    category: Category
    maturity: Maturity = Maturity.UNKNOWN

    def __post_init__(self) -> None:
        # Accept the plain strings a JSON or CSV file carries; keep the enum inside.
        object.__setattr__(self, "category", Category(self.category))
        object.__setattr__(self, "maturity", Maturity(self.maturity))


def _c(category: Category, maturity: Maturity = Maturity.UNKNOWN) -> Classification:
    return Classification(category, maturity)


_CSAM = _c(Category.CSAM)
_A = _c(Category.CSAM, Maturity.PREPUBESCENT)
_B = _c(Category.CSAM, Maturity.POSTPUBESCENT)

#: scheme -> normalised label -> classification. Order matters for ``map_label`` without a
#: scheme: the first scheme that knows a label wins (no label means different things in two
#: schemes, so the order only decides which scheme name a caller would see in docs).
SCHEMES: dict[str, dict[str, Classification]] = {
    "keepdown": {
        "csam": _CSAM,
        "harmful-abusive": _c(Category.HARMFUL_ABUSIVE),
        "other": _c(Category.OTHER),
    },
    "c3p": {
        "csam": _CSAM,
        "harmful-abusive-material": _c(Category.HARMFUL_ABUSIVE),
    },
    # The IWF category letters may be written alone or with a prefix; all forms map alike.
    "iwf": {
        f"{prefix}{letter}": _CSAM
        for letter in "abc"
        for prefix in ("", "category ", "cat ", "iwf ", "iwf category ")
    },
    "industry": {
        "a1": _A,
        "a2": _A,
        "b1": _B,
        "b2": _B,
    },
}

_SPACES = re.compile(r"[\s_]+")


def normalise_label(label: str) -> str:
    """The form labels are compared in: trimmed, lower case, ``_`` and space runs as one space."""
    return _SPACES.sub(" ", label.strip().lower())


def known_labels(scheme: str | None = None) -> list[str]:
    """Every normalised label understood (by one scheme, or by all), for messages and docs."""
    schemes = [scheme] if scheme else list(SCHEMES)
    seen: dict[str, None] = {}
    for name in schemes:
        seen.update(dict.fromkeys(_scheme(name)))
    return list(seen)


def _scheme(name: str) -> dict[str, Classification]:
    try:
        return SCHEMES[name.strip().lower()]
    except KeyError:
        raise InvalidInput(
            f"unknown classification scheme {name!r}; expected one of " + ", ".join(SCHEMES),
            scheme=name,
        ) from None


def map_label(label: str, scheme: str | None = None) -> Classification:
    """keepdown's classification for a source label, or :class:`InvalidInput` if unknown.

    With ``scheme`` only that scheme's labels are accepted (``"A"`` is an IWF label, so
    ``map_label("A", "industry")`` fails); without one every scheme is tried.
    """
    key = normalise_label(label)
    tables = [_scheme(scheme)] if scheme else list(SCHEMES.values())
    for table in tables:
        found = table.get(key)
        if found is not None:
            return found
    where = f"the {scheme} scheme" if scheme else f"any known scheme ({', '.join(SCHEMES)})"
    raise InvalidInput(
        f"classification label {label!r} is not a label of {where}; see docs/classification.md",
        label=label[:80],
    )
