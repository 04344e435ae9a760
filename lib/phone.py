"""Indian mobile numbers: parse any common form, store E.164, show masked; the demo's own range.

>>> normalise_mobile("98765 43210")
'+919876543210'
>>> normalise_mobile("+91-9876543210") == normalise_mobile("09876543210")
True
>>> normalise_mobile("011 2345 6789") is None   # a Delhi landline is not a mobile
True
>>> mask_mobile("+919876543210")
'+91 ••••••••10'

Demo mobiles (issue 13 item 12) are ``+91 00000 NNNNN``: ten digits after +91 that begin with ``0``.
No Indian number can begin so: ``0`` is India's trunk (national) prefix, dialled *before* a national
significant number and never part of one (National Numbering Plan 2003, levels 0 and 00 are the trunk
and international prefixes; ITU-T E.164 §6: the trunk prefix is not part of the international number;
phonenumbers' India metadata: national prefix ``0``, and no number pattern, mobile or otherwise, starts
with it). India has no published fictitious range (such as the UK's Ofcom drama numbers), and every
free block of levels 6 to 9 can be allocated tomorrow, so a level-0 number is the only kind that can
never reach a real phone. The SMS gateway refuses it too (``lib.sms``: only ``+91[6-9]`` goes out
over http). Only :func:`normalise_mobile` accepts it, so that a camp visitor can type it to sign in;
imports of real consumers refuse it.

>>> demo_mobile(1), normalise_mobile("+91 00000 00001"), normalise_mobile("00000 00001")
('+910000000001', '+910000000001', '+910000000001')
>>> is_demo_mobile("+910000000001"), is_demo_mobile("+919000000001")
(True, False)
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType

MAX_INPUT_CHARS = 32
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}

# The demo range: +91 followed by "00000" and five digits (see the module docstring for why).
DEMO_PREFIX = "+9100000"
DEMO_SIZE = 100_000
_DEMO_E164 = re.compile(r"\+9100000[0-9]{5}")
# A demo number as typed: optional +91 / 91 / 0 in front of "00000 NNNNN", with spaces, dashes or dots.
_DEMO_TYPED = re.compile(r"(?:\+?91|0)?(00000[0-9]{5})")
_SEPARATORS = re.compile(r"[\s\-.()]")
_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")


def demo_mobile(n: int) -> str:
    """The ``n``-th demo mobile (0 ≤ n < 100,000) in E.164; raises ``ValueError`` outside that."""
    if not 0 <= n < DEMO_SIZE:
        raise ValueError(f"demo mobile number {n} is outside 0..{DEMO_SIZE - 1}")
    return f"{DEMO_PREFIX}{n:05d}"


def is_demo_mobile(e164: object) -> bool:
    """Whether ``e164`` is a demo mobile (``+91 00000 NNNNN``), a number no phone can have."""
    return isinstance(e164, str) and _DEMO_E164.fullmatch(e164) is not None


def normalise_mobile(text: str | None) -> str | None:
    """E.164 (``+91XXXXXXXXXX``) for an Indian mobile number in any common form, else None.

    Accepts spaces, dashes, a leading 0 or 91 or +91, and Devanagari digits; refuses landlines,
    toll-free numbers, other countries and anything over 32 characters. A demo mobile
    (:func:`is_demo_mobile`) typed in any of those forms gives its E.164 too.
    """
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_INPUT_CHARS:
        return None
    typed = _SEPARATORS.sub("", text.translate(_DEVANAGARI_DIGITS))
    demo = _DEMO_TYPED.fullmatch(typed)
    if demo is not None:
        return "+91" + demo.group(1)
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
