"""The label tables: every scheme's labels map as docs/classification.md says."""

from __future__ import annotations

import pytest

from keepdown.banks.classification import (
    SCHEMES,
    Category,
    Classification,
    Maturity,
    known_labels,
    map_label,
)
from keepdown.errors import InvalidInput

CSAM_UNKNOWN = Classification(Category.CSAM, Maturity.UNKNOWN)
PRE = Classification(Category.CSAM, Maturity.PREPUBESCENT)
POST = Classification(Category.CSAM, Maturity.POSTPUBESCENT)
HARMFUL = Classification(Category.HARMFUL_ABUSIVE, Maturity.UNKNOWN)


@pytest.mark.parametrize(
    ("label", "scheme", "expected"),
    [
        # C3P Shield
        ("csam", "c3p", CSAM_UNKNOWN),
        ("harmful-abusive-material", "c3p", HARMFUL),
        # IWF severity categories, with and without "Category"
        ("A", "iwf", CSAM_UNKNOWN),
        ("B", "iwf", CSAM_UNKNOWN),
        ("C", "iwf", CSAM_UNKNOWN),
        ("Category A", "iwf", CSAM_UNKNOWN),
        ("category_c", "iwf", CSAM_UNKNOWN),
        ("  CATEGORY   B ", "iwf", CSAM_UNKNOWN),
        # industry scale: the letter is the maturity
        ("A1", "industry", PRE),
        ("a2", "industry", PRE),
        ("B1", "industry", POST),
        ("B2", "industry", POST),
        # keepdown's own names
        ("harmful-abusive", "keepdown", HARMFUL),
        ("other", "keepdown", Classification(Category.OTHER, Maturity.UNKNOWN)),
    ],
)
def test_label_maps_with_and_without_its_scheme(label, scheme, expected):
    assert map_label(label, scheme) == expected
    assert map_label(label) == expected


@pytest.mark.parametrize("label", ["", "D", "A3", "C1", "no-known-match", "Category Z", "cp"])
def test_unknown_label_raises_invalid_input_naming_it(label):
    with pytest.raises(InvalidInput, match="is not a label"):
        map_label(label)


def test_a_label_of_another_scheme_is_refused_when_a_scheme_is_named():
    with pytest.raises(InvalidInput, match="industry"):
        map_label("A", "industry")
    with pytest.raises(InvalidInput):
        map_label("A1", "iwf")


def test_unknown_scheme_is_invalid_input():
    with pytest.raises(InvalidInput, match="unknown classification scheme"):
        map_label("csam", "ncmec-made-up")


def test_schemes_never_disagree_on_a_shared_label():
    seen: dict[str, Classification] = {}
    for table in SCHEMES.values():
        for label, classification in table.items():
            assert seen.setdefault(label, classification) == classification, label


def test_every_known_label_maps_to_itself_normalised():
    for label in known_labels():
        assert map_label(label.upper()) == map_label(label)
    assert "a1" in known_labels("industry")
    assert "a1" not in known_labels("iwf")


def test_classification_accepts_strings_and_keeps_enums():
    made = Classification("csam", "pre-pubescent")
    assert made == PRE
    assert made.category is Category.CSAM
    with pytest.raises(ValueError, match="nope"):
        Classification("nope", "unknown")


def test_enum_values_are_the_documented_strings():
    assert [c.value for c in Category] == ["csam", "harmful-abusive", "other"]
    assert [m.value for m in Maturity] == ["pre-pubescent", "post-pubescent", "unknown"]
