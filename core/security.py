"""Password hashing (argon2id), the password-strength policy and opaque tokens."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 10
_COMMON = frozenset({
    "password", "password1", "password123", "123456789", "1234567890", "12345678910", "qwertyuiop",
    "matkhau123", "matkhau@123", "admin12345", "abc123456", "iloveyou", "hotline1022", "dongnai1022",
    "123456aa", "a123456789", "qwerty123", "11111111111", "0123456789",
})


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    # argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): the library's
    # default (64 MiB, 3 passes, 4 lanes) measured ~250 ms per sign-in on 2 cores and let four
    # concurrent sign-ins take 0.5 s. Hashes with other parameters are upgraded at sign-in.
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    """argon2 costs ~0.1 s of CPU by design: run it off the event loop (the library releases the GIL)."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A hash to verify against when the user does not exist, so timing does not reveal usernames.
@lru_cache(maxsize=1)
def dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def password_problems(password: str, username: str | None = None) -> list[str]:
    """English message ids of what is wrong with a new password (empty list = acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append("The password must have at least 10 characters.")
    classes = sum([
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ])
    if classes < 3:
        problems.append("The password must mix at least three of: lowercase, uppercase, digits, symbols.")
    lowered = password.lower()
    if lowered in _COMMON:
        problems.append("The password is too common.")
    if username and len(username) >= 3 and username.lower() in lowered:
        problems.append("The password must not contain the username.")
    return problems


def check_password_strength(password: str, username: str | None = None, field: str = "new_password") -> None:
    problems = password_problems(password, username)
    if problems:
        raise ValidationFailed(details=[{"field": field, "message": p} for p in problems])


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
