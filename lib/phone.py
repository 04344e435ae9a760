"""Indian mobile numbers: parse any common form, store E.164, show masked.

>>> normalise_mobile("98765 43210")
'+919876543210'
>>> normalise_mobile("+91-9876543210") == normalise_mobile("09876543210")
True
>>> normalise_mobile("011 2345 6789") is None   # a Delhi landline is not a mobile
True
>>> mask_mobile("+919876543210")
'+91 ••••••••10'
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

MAX_INPUT_CHARS = 32
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalise_mobile(text: str | None) -> str | None:
    """E.164 (``+91XXXXXXXXXX``) for an Indian mobile number in any common form, else None.

    Accepts spaces, dashes, a leading 0 or 91 or +91, and Devanagari digits; refuses landlines,
    toll-free numbers, other countries and anything over 32 characters.
    """
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_INPUT_CHARS:
        return None
    try:
        number = phonenumbers.parse(text.strip(), "IN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 91 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_mobile(e164: str) -> str:
    """Show only the last two digits: ``+91 ••••••••10``."""
    digits = e164.removeprefix("+91")
    return "+91 " + "•" * (len(digits) - 2) + digits[-2:]


def last_two_digits(e164: str) -> str:
    return e164[-2:]
