from __future__ import annotations

import pytest

from core.authz import Scope, build_authorizer
from core.errors import ValidationFailed
from core.i18n import negotiate_locale, translate
from core.security import check_password_strength, hash_password, password_problems, token_digest, verify_password
from core.types import normalize_phone


def test_argon2_hashes_verify_and_differ() -> None:
    first, second = hash_password("Mat-Khau-2026"), hash_password("Mat-Khau-2026")
    assert first.startswith("$argon2id$") and first != second
    assert verify_password(first, "Mat-Khau-2026") and not verify_password(first, "mat-khau-2026")
    assert not verify_password("not-a-hash", "x")


@pytest.mark.parametrize(("password", "ok"), [
    ("Dong-Nai-2026", True), ("short1A!", False), ("alllowercaseletters", False), ("password123", False),
    ("Nguyen.Van.An.1990", True), ("Hotline1022", False),
])
def test_password_policy(password: str, ok: bool) -> None:
    assert (password_problems(password) == []) is ok


def test_password_must_not_contain_the_username() -> None:
    with pytest.raises(ValidationFailed) as err:
        check_password_strength("Xyz-dieuphoi-2026", "dieuphoi")
    assert err.value.details[0]["field"] == "new_password"


def test_token_digest_is_stable_and_not_the_token() -> None:
    assert token_digest("abc") == token_digest("abc") != "abc" and len(token_digest("abc")) == 64


@pytest.mark.parametrize(("raw", "normal"), [("0912345678", "0912345678"), ("+84 912 345 678", "0912345678"),
                                             ("84912345678", "0912345678"), ("0251.3822.123", "02513822123")])
def test_phone_normalisation(raw: str, normal: str) -> None:
    assert normalize_phone(raw) == normal


@pytest.mark.parametrize("raw", ["12345", "0112345678", "+1 202 555 0100", "09123456789", ""])
def test_invalid_phones(raw: str) -> None:
    with pytest.raises(ValueError, match="phone"):
        normalize_phone(raw)


@pytest.mark.parametrize(("header", "locale"), [(None, "vi"), ("en-US,en;q=0.9", "en"), ("fr-FR", "vi"),
                                                ("vi-VN,en;q=0.5", "vi"), ("en;q=0.2,vi;q=0.8", "vi"), ("en;q=abc", "vi")])
def test_locale_negotiation(header: str | None, locale: str) -> None:
    assert negotiate_locale(header) == locale


def test_english_is_the_message_id() -> None:
    assert translate("Please sign in.", "en") == "Please sign in."
    assert translate("{what} not found.", "en", what="User") == "User not found."


def test_authorizer_takes_the_widest_scope_of_a_users_roles() -> None:
    authz = build_authorizer()
    assert authz.decide(["officer"], "users", "read").scope is Scope.unit
    assert authz.decide(["officer", "auditor"], "users", "read").scope is Scope.all
    assert not authz.decide(["citizen"], "users", "read").allowed
    assert authz.decide(["admin"], "anything", "write").allowed
