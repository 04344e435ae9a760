"""Indian mobile numbers in every common form."""

import pytest

from lib import sms
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


# --- the demo range (issue 13 item 12) -------------------------------------------------------------------


def _india_patterns() -> dict[str, str]:
    """Every number-type pattern of phonenumbers' India metadata (what it knows is allocated)."""
    import phonenumbers

    metadata = phonenumbers.PhoneMetadata.metadata_for_region("IN")
    kinds = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number")
    kinds += ("voip", "pager", "uan", "voicemail", "no_international_dialling", "general_desc")
    return {
        kind: desc.national_number_pattern
        for kind in kinds
        if (desc := getattr(metadata, kind, None)) is not None and desc.national_number_pattern
    }


def test_demo_mobiles_are_numbers_no_phone_can_have():
    import re

    import phonenumbers

    from lib import demo, phone

    metadata = phonenumbers.PhoneMetadata.metadata_for_region("IN")
    assert metadata.national_prefix == "0"  # India's trunk prefix: never the start of a national number
    patterns = _india_patterns()
    assert "mobile" in patterns and "fixed_line" in patterns
    demo_mobiles = {demo.DEMO_ACCOUNT_MOBILE} | {m.registered_mobile for m in demo.DEMO_METERS}
    assert len(demo_mobiles) == 6
    for e164 in sorted(demo_mobiles) + [phone.demo_mobile(0), phone.demo_mobile(99_999)]:
        assert phone.is_demo_mobile(e164)
        national = e164.removeprefix("+91")
        assert len(national) == 10 and national.startswith("0")
        # No allocated kind of Indian number (mobile, landline, toll-free, ...) has this form ...
        assert not any(re.fullmatch(p, national) for p in patterns.values()), e164
        # ... so phonenumbers calls it no valid number, however it is written ...
        for text in (e164, "+91 " + national, national):
            assert not phonenumbers.is_valid_number(phonenumbers.parse(text, "IN")), text
        # ... and the http SMS gateway's destination check refuses it before any request.
        assert not sms._INDIAN_MOBILE.fullmatch(e164)


@pytest.mark.parametrize(
    "text",
    ["+91 00000 00001", "00000 00001", "0000000001", "91-00000-00001", "0 00000 00001", "+९१ ००००० ०००० १"],
)
def test_the_demo_mobile_is_accepted_as_a_visitor_types_it(text):
    assert normalise_mobile(text) == "+910000000001"


@pytest.mark.parametrize("text", ["00000 0001", "+91 00001 00001", "000000000001", "+9100000000001"])
def test_other_numbers_starting_with_zero_are_refused(text):
    assert normalise_mobile(text) is None


def test_demo_mobile_range():
    from lib import phone

    assert phone.demo_mobile(12) == "+910000000012"
    with pytest.raises(ValueError):
        phone.demo_mobile(100_000)
    assert not phone.is_demo_mobile("+919000000001") and not phone.is_demo_mobile(None)
