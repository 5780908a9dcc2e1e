"""How many SMS a text costs, shown before sending (SMS-04).

A text made only of the GSM 03.38 default alphabet travels as GSM-7: 160 septets in one SMS, 153
per part once it is split (the user data header takes 7), and each character of the extension table
(`^ { } \\ [ ~ ] | €` and form feed) costs two septets (escape + character). Any other character —
Vietnamese letters with diacritics, `đ`, emoji — makes the whole text UCS-2: 70 UTF-16 code units in
one SMS, 67 per part (a character outside the BMP, like most emoji, is two code units). A character
never straddles two parts, so a part may hold one unit less than its maximum."""

from __future__ import annotations

from typing import Literal, NamedTuple

# GSM 03.38 default alphabet (3GPP TS 23.038 §6.2.1), the escape 0x1B left out.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Default extension table (§6.2.1.1): reached through the escape, so two septets each.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

Encoding = Literal["GSM-7", "UCS-2"]


class SegmentCount(NamedTuple):
    encoding: Encoding
    characters: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int  # 0 for an empty text


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _parts(units: list[int], single: int, part: int) -> int:
    total = sum(units)
    if total == 0:
        return 0
    if total <= single:
        return 1
    count, used = 1, 0
    for size in units:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count


def sms_segments(text: str) -> SegmentCount:
    """(encoding, characters, segments) of `text`; unpacks as a plain tuple."""
    if is_gsm7(text):
        units = [2 if c in GSM7_EXTENSION else 1 for c in text]
        return SegmentCount("GSM-7", sum(units), _parts(units, GSM7_SINGLE, GSM7_PART))
    units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return SegmentCount("UCS-2", sum(units), _parts(units, UCS2_SINGLE, UCS2_PART))
