"""Case numbers, PINs and the page's JSON: what is accepted and what is refused, and why."""

from __future__ import annotations

import itertools
import re

import pytest

from keepdown.errors import InvalidHash, InvalidInput
from keepdown.submissions import AgeAtTime, Media, Programme, parse_form
from keepdown.submissions.codes import (
    PIN_ALPHABET,
    damm_check,
    format_case_number,
    new_case_number,
    new_pin,
    normalise_case_number,
    normalise_pin,
)
from tests.submissions.conftest import image, video


def test_case_numbers_carry_a_check_digit_that_catches_typos() -> None:
    for _ in range(50):
        number = new_case_number()
        assert re.fullmatch(r"\d{12}", number)
        assert damm_check(number) == 0
        shown = format_case_number(number)
        assert re.fullmatch(r"\d{4}-\d{4}-\d{4}", shown)
        assert normalise_case_number(f" {shown.replace('-', ' ')} ") == number
        for i, digit in itertools.product(range(12), "0123456789"):  # every single mistype
            if digit != number[i]:
                with pytest.raises(InvalidInput, match="typing mistake"):
                    normalise_case_number(number[:i] + digit + number[i + 1 :])
        for i in range(11):  # every swap of neighbours
            if number[i] != number[i + 1]:
                swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
                with pytest.raises(InvalidInput):
                    normalise_case_number(swapped)
    for bad in ("", "1234", "12345678901a", "1" * 13):
        with pytest.raises(InvalidInput):
            normalise_case_number(bad)


def test_pins_are_long_unambiguous_and_forgiving_to_type() -> None:
    pins = {new_pin() for _ in range(200)}
    assert len(pins) == 200
    for pin in pins:
        assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", pin)
        assert set(pin.replace("-", "")) <= set(PIN_ALPHABET)
        assert normalise_pin(pin.lower().replace("-", " ")) == pin.replace("-", "")
    assert not set("01OILUV") & set(PIN_ALPHABET)
    with pytest.raises(InvalidInput):
        normalise_pin("")
    with pytest.raises(InvalidInput):
        normalise_pin("A" * 65)


def test_a_form_becomes_hashes_and_answers() -> None:
    checked = parse_form(
        {"age_at_time": "13-15", "share_with_platforms": False, "items": [image(1), video(2)]},
        max_items=5,
        quality_floor=50,
    )
    assert checked.age_at_time is AgeAtTime.FROM_13_TO_15
    assert checked.age_at_time.programme is Programme.MINORS
    assert checked.share_with_platforms is False
    assert (checked.images, checked.videos, checked.low_quality) == (1, 1, 0)
    kinds = [(h.item, h.media, str(h.signal_type), h.variant) for h in checked.hashes]
    assert kinds[:3] == [
        (0, Media.IMAGE, "md5", None),
        (0, Media.IMAGE, "sha256", None),
        (0, Media.IMAGE, "pdq", "original"),
    ]
    assert len(checked.hashes) == 2 + 8 + 2
    assert {h.quality for h in checked.hashes if h.signal_type == "pdq"} == {90}


def test_adults_and_the_undecided() -> None:
    assert AgeAtTime("18-plus").programme is Programme.ADULTS
    for answer in ("under-13", "16-17", "not-sure", "not-said"):
        assert AgeAtTime(answer).programme is Programme.MINORS


def test_duplicates_collapse_and_weak_pdq_is_left_out() -> None:
    same = image(3)
    weak = image(4, quality=20)
    checked = parse_form(
        {"age_at_time": "18-plus", "share_with_platforms": True, "items": [same, same, weak]},
        max_items=5,
        quality_floor=50,
    )
    assert checked.images == 3
    assert checked.low_quality == 1
    assert len(checked.hashes) == 10 + 2  # the weak picture keeps only MD5 and SHA-256
    # a picture whose rotations coincide (a symmetric one) keeps each hash once
    symmetric = image(5)
    symmetric["pdq"] = dict.fromkeys(symmetric["pdq"], "f" * 64)
    checked = parse_form(
        {"age_at_time": "18-plus", "share_with_platforms": True, "items": [symmetric]},
        max_items=5,
        quality_floor=50,
    )
    assert len(checked.hashes) == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({"age_at_time": "16-17", "share_with_platforms": True}, "pick at least one"),
        ({"age_at_time": "16-17", "share_with_platforms": "yes", "items": [1]}, "true or false"),
        ({"age_at_time": "eleven", "share_with_platforms": True, "items": [1]}, "age_at_time"),
        ({"age_at_time": [], "share_with_platforms": True, "items": [1]}, "age_at_time"),
        ({"age_at_time": "16-17", "share_with_platforms": True, "items": [1]}, "an object"),
        (
            {"age_at_time": "16-17", "share_with_platforms": True, "items": [{}], "name": "x"},
            "'name'",
        ),
        (
            {
                "age_at_time": "16-17",
                "share_with_platforms": True,
                "items": [{**image(1), "data": "/9j/4AAQSkZJRg"}],
            },
            "'data'",
        ),
        (
            {"age_at_time": "16-17", "share_with_platforms": True, "items": [{"media": "image"}]},
            "md5 is missing",
        ),
        (
            {
                "age_at_time": "16-17",
                "share_with_platforms": True,
                "items": [{**image(1), "pdq": {"original": "a" * 64, "sideways": "b" * 64}}],
            },
            "no rotation 'sideways'",
        ),
        (
            {
                "age_at_time": "16-17",
                "share_with_platforms": True,
                "items": [{**image(1), "quality": 101}],
            },
            "quality",
        ),
        (
            {
                "age_at_time": "16-17",
                "share_with_platforms": True,
                "items": [{**video(1), "pdq": image(1)["pdq"], "quality": 80}],
            },
            "only a picture",
        ),
        (
            {"age_at_time": "16-17", "share_with_platforms": True, "items": [image(1)] * 6},
            "at most 5",
        ),
    ],
)
def test_anything_but_hashes_and_answers_is_refused(body, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_form(body, max_items=5, quality_floor=50)


def test_a_value_that_is_not_a_hash_says_so() -> None:
    broken = {**image(1), "sha256": "not-a-hash"}
    with pytest.raises(InvalidHash):
        parse_form(
            {"age_at_time": "16-17", "share_with_platforms": True, "items": [broken]},
            max_items=5,
            quality_floor=50,
        )
