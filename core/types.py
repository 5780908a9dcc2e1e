"""Validated field types shared by every input model (validation happens at the edge)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

_PHONE_RE = re.compile(r"^0(?:[35789]\d{8}|2\d{9})$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def normalize_phone(value: str) -> str:
    """Vietnamese phone number to its national form: '+84 912 345 678' -> '0912345678'."""
    digits = re.sub(r"[\s.\-()]", "", value)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not _PHONE_RE.match(digits):
        raise ValueError("not a valid Vietnamese phone number (mobile 0xxxxxxxxx or landline 02xxxxxxxxx)")
    return digits


def no_control_chars(value: str) -> str:
    """Refuse NUL and other control characters (PostgreSQL text cannot hold NUL)."""
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError("contains control characters")
    return value


def _check_email(value: str) -> str:
    value = value.strip()
    if not _EMAIL_RE.match(value):
        raise ValueError("not a valid email address")
    return value.lower()


Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.\-]+$"), AfterValidator(no_control_chars)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), AfterValidator(no_control_chars)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(no_control_chars)]
LongText = Annotated[str, StringConstraints(max_length=4000), AfterValidator(no_control_chars)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=3, max_length=64, pattern=r"^[a-z0-9_.\-@]+$"), AfterValidator(no_control_chars)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256), AfterValidator(no_control_chars)]
Phone = Annotated[str, StringConstraints(max_length=30), AfterValidator(normalize_phone)]
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(_check_email)]
IconName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64, pattern=r"^[a-z0-9\-]*$")]

MAX_DB_ID = 2_147_483_647  # PostgreSQL integer
DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
Locale = Annotated[str, StringConstraints(pattern=r"^(vi|en)$")]
LocalPath = Annotated[str, StringConstraints(max_length=255, pattern=r"^/[A-Za-z0-9_\-/]*$")]
AreaCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20, pattern=r"^[0-9A-Za-z.]+$")]
IdNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{9}(\d{3})?$")]  # CMND 9 / CCCD 12 digits
ExternalRef = Annotated[str, StringConstraints(max_length=128, pattern=r"^[A-Za-z0-9:_.\-]+$")]
