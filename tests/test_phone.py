"""Indian mobile numbers in every common form."""

import pytest

from lib.phone import mask_mobile, normalise_mobile


@pytest.mark.parametrize(
    "text",
    [
        "9876543210",
        "98765 43210",
        "+91 98765 43210",
        "+91-9876543210",
        "09876543210",
        "919876543210",
        "०९८७६५४३२१०",  # Devanagari digits, as typed on a Hindi keyboard
        " 98765-43210 ",
    ],
)
def test_common_forms_normalise_to_e164(text):
    assert normalise_mobile(text) == "+919876543210"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        None,
        "5876543210",  # not a mobile range
        "98765-4321",  # nine digits
        "+91 11 2345 6789",  # Delhi landline
        "1800 180 1551",  # toll-free
        "+44 7700 900123",  # a UK mobile
        "9" * 40,  # over-long input is refused before parsing
        "abcdefghij",
        "9876543210; DROP TABLE accounts",
    ],
)
def test_anything_else_is_refused(text):
    assert normalise_mobile(text) is None


def test_masking_shows_only_the_last_two_digits():
    masked = mask_mobile("+919876543210")
    assert masked.endswith("10")
    assert "98765" not in masked and "4321" not in masked
