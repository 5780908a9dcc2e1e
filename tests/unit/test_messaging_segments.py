"""SMS segment counts shown before sending (SMS-04): GSM-7 vs UCS-2 for Vietnamese text."""

from __future__ import annotations

import pytest

from messaging.segments import sms_segments


def test_vietnamese_without_diacritics_is_gsm7() -> None:
    assert sms_segments("Phan anh cua ban da duoc tiep nhan, ma 1022-2025-000123") == ("GSM-7", 55, 1)


def test_a_grave_is_in_the_gsm_alphabet_but_other_vietnamese_letters_are_not() -> None:
    assert sms_segments("Xin chào") == ("GSM-7", 8, 1)  # à is one of the GSM 03.38 letters
    assert sms_segments("Xin chào bạn").encoding == "UCS-2"  # ạ is not
    assert sms_segments("đ").encoding == "UCS-2"


def test_vietnamese_with_diacritics_counts_utf16_units_in_70_then_67() -> None:
    text = "Đèn đường hỏng ở ấp 3, xã Phú Hữu"
    assert sms_segments(text) == ("UCS-2", len(text), 1)
    assert sms_segments("ư" * 70) == ("UCS-2", 70, 1)
    assert sms_segments("ư" * 71) == ("UCS-2", 71, 2)
    assert sms_segments("ư" * 134) == ("UCS-2", 134, 2)
    assert sms_segments("ư" * 135) == ("UCS-2", 135, 3)


def test_a_real_notification_in_vietnamese() -> None:
    text = ("Tổng đài 1022 Đồng Nai: phản ánh 1022-2025-000123 của ông/bà đã được chuyển đến UBND xã Phú Hữu "
            "xử lý. Tra cứu tại 1022.dongnai.gov.vn")
    encoding, characters, segments = sms_segments(text)
    assert (encoding, characters) == ("UCS-2", len(text)) and segments == 2


def test_gsm7_is_160_then_153_per_part() -> None:
    assert sms_segments("a" * 160) == ("GSM-7", 160, 1)
    assert sms_segments("a" * 161) == ("GSM-7", 161, 2)
    assert sms_segments("a" * 306) == ("GSM-7", 306, 2)
    assert sms_segments("a" * 307) == ("GSM-7", 307, 3)


@pytest.mark.parametrize("char", list("^{}\\[~]|€"))
def test_extension_characters_cost_two_septets(char: str) -> None:
    assert sms_segments(char * 80) == ("GSM-7", 160, 1)
    assert sms_segments(char * 81) == ("GSM-7", 162, 2)


def test_an_escaped_character_never_straddles_two_parts() -> None:
    # 306 septets would fit 2 parts of 153, but the € (2 septets) cannot start at septet 153
    assert sms_segments("a" * 152 + "€" + "a" * 152) == ("GSM-7", 306, 3)


def test_emoji_take_two_utf16_units() -> None:
    assert sms_segments("Cảm ơn 🙏") == ("UCS-2", 9, 1)
    # 72 units > 70: parts of 33 emoji (66 units), since a 34th would split its surrogate pair
    assert sms_segments("🙏" * 36) == ("UCS-2", 72, 2)


def test_empty_text_costs_nothing() -> None:
    assert sms_segments("") == ("GSM-7", 0, 0)
