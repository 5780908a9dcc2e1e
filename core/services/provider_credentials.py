"""Provider credentials that rotate (INT-06): the durable store of the Zalo OA token pair.

Zalo's refresh token is single use: every renewal answers a new access token *and* a new
refresh token, and the old refresh token is spent. Two workers renewing at once with the same
refresh token would leave one of them (and, if the loser's answer were stored, everybody)
holding a dead token. So a renewal happens in ONE transaction around a row lock
(`refresh_locked`): lock the provider's row, and if its access token is no longer the one that
just failed, another worker has renewed it meanwhile and that token is returned without calling
the provider; otherwise call the provider, store the new pair, commit, and only then hand the new
access token out. The provider's call happens while the lock is held, so it must have a timeout
(the gateway's HTTP timeout).

A refresh the provider refuses (`RefreshRefused`: a spent, expired or revoked refresh token) is
written down (`refresh_refused_at`) and not tried again for `REFUSED_RETRY_AFTER`, whatever the
number of workers and messages waiting: an operator must authorize the app again and set a new
refresh token in the settings, which re-seeds the row (`load_or_seed`).

Tokens are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
HOTLINE_SECRET_KEY with HKDF-SHA256; changing that secret makes the stored tokens unreadable and
the row is seeded again from the settings. Tokens are never logged here, nor put in exception
messages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models.base import utcnow
from core.models.credentials import ProviderCredential

log = logging.getLogger(__name__)

REFUSED_RETRY_AFTER = timedelta(hours=1)
_ENCRYPTION_INFO = b"hotline1022/provider-credentials/fernet/v1"
_FINGERPRINT_INFO = b"hotline1022/provider-credentials/seed-fingerprint/v1"


class CredentialError(Exception):
    """A credential problem an operator has to solve; the message never contains a token."""


class RefreshRefused(CredentialError):
    """The provider refused the refresh token (spent, expired or revoked)."""


class NoRefreshToken(CredentialError):
    """Nothing to renew with: no refresh token is stored."""


class CredentialsUnreadable(CredentialError):
    """The stored tokens cannot be decrypted (HOTLINE_SECRET_KEY changed) and no settings re-seed them."""


@dataclass(frozen=True)
class TokenPair:
    """What a renewal answered: the refresh token is None when the provider did not rotate it."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class Credential:
    """The stored access token of a provider (the refresh token stays inside this module)."""

    provider: str
    access_token: str | None
    access_expires_at: datetime | None
    has_refresh_token: bool
    refresh_refused_at: datetime | None


class CredentialCipher:
    """Encrypts tokens for the store and fingerprints the settings' seed tokens, with two keys
    derived from the application secret (HKDF-SHA256, one `info` each)."""

    def __init__(self, secret_key: str) -> None:
        secret = secret_key.encode("utf-8")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, _ENCRYPTION_INFO)))
        self._mac_key = _derive(secret, _FINGERPRINT_INFO)

    def encrypt(self, value: str | None) -> str | None:
        return None if value is None else self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return self._fernet.decrypt(value.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            raise CredentialsUnreadable("the stored tokens cannot be decrypted (was HOTLINE_SECRET_KEY changed?)") \
                from None

    def fingerprint(self, *values: str | None) -> str:
        message = b"\x00".join((v or "").encode("utf-8") for v in values)
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def _decoded(cipher: CredentialCipher, row: ProviderCredential) -> Credential:
    return Credential(provider=row.provider, access_token=cipher.decrypt(row.access_token),
                      access_expires_at=row.access_expires_at, has_refresh_token=row.refresh_token is not None,
                      refresh_refused_at=row.refresh_refused_at)


async def _locked(session: AsyncSession, provider: str) -> ProviderCredential | None:
    stmt = select(ProviderCredential).where(ProviderCredential.provider == provider).with_for_update()
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


async def load(sessions: async_sessionmaker[AsyncSession], cipher: CredentialCipher,
               provider: str) -> Credential | None:
    async with sessions() as session:
        row = await session.get(ProviderCredential, provider)
        return None if row is None else _decoded(cipher, row)


async def load_or_seed(sessions: async_sessionmaker[AsyncSession], cipher: CredentialCipher, provider: str, *,
                       access_token: str | None, refresh_token: str | None) -> Credential | None:
    """The stored credential, seeded from the settings' tokens when none is stored, or when the
    settings now name other tokens than at the last seed (an operator issued new ones), or when
    the stored ones cannot be read any more. Without seed tokens: what is stored, or None."""
    if not (access_token or refresh_token):
        return await load(sessions, cipher, provider)
    fingerprint = cipher.fingerprint(access_token, refresh_token)
    async with sessions() as session:
        await session.exec(insert(ProviderCredential).values(  # type: ignore[call-overload]
            provider=provider, access_token=cipher.encrypt(access_token or None),
            refresh_token=cipher.encrypt(refresh_token or None), seed_fingerprint=fingerprint,
        ).on_conflict_do_nothing(index_elements=["provider"]))
        row = await _locked(session, provider)
        assert row is not None  # inserted above, or already there; rows are never deleted
        if row.seed_fingerprint != fingerprint:
            log.warning("the %s token store is seeded again from the settings (their tokens changed)", provider)
            row.access_token = cipher.encrypt(access_token or None)
            row.refresh_token = cipher.encrypt(refresh_token or None)
            row.access_expires_at = None
            row.refresh_refused_at = None
            row.seed_fingerprint = fingerprint
            row.updated_at = utcnow()
        credential = _decoded(cipher, row)
        await session.commit()
        return credential


async def refresh_locked(sessions: async_sessionmaker[AsyncSession], cipher: CredentialCipher, provider: str,
                         stale_access_token: str | None, refresh: Callable[[str], Awaitable[TokenPair]], *,
                         retry_refused_after: timedelta = REFUSED_RETRY_AFTER) -> Credential:
    """Renew the provider's access token unless another worker already has.

    `stale_access_token` is the token the caller holds (that just failed, or is about to expire).
    `refresh(refresh_token)` asks the provider; it raises RefreshRefused when the provider says no
    (recorded, so nobody asks again for a while), or anything else for a failure that may pass
    (nothing is changed then). The new pair is committed before it is returned."""
    async with sessions() as session:
        row = await _locked(session, provider)
        if row is None:
            raise NoRefreshToken(f"no {provider} tokens are stored")
        current = _decoded(cipher, row)
        if current.access_token is not None and current.access_token != stale_access_token:
            return current  # renewed meanwhile by another worker (the lock goes with the session)
        refresh_token = cipher.decrypt(row.refresh_token)
        if not refresh_token:
            raise NoRefreshToken(f"no {provider} refresh token is stored")
        if row.refresh_refused_at is not None and utcnow() - row.refresh_refused_at < retry_refused_after:
            refused_at = f"{row.refresh_refused_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            raise RefreshRefused(f"{provider} refused the stored refresh token at {refused_at}; waiting for a new one")
        try:
            pair = await refresh(refresh_token)
        except RefreshRefused:
            row.refresh_refused_at = utcnow()
            await session.commit()
            raise
        row.access_token = cipher.encrypt(pair.access_token)
        if pair.refresh_token:
            row.refresh_token = cipher.encrypt(pair.refresh_token)
        else:
            log.warning("%s renewed the access token without a new refresh token; the old one is kept", provider)
        row.access_expires_at = pair.expires_at
        row.refresh_refused_at = None
        row.updated_at = utcnow()
        renewed = _decoded(cipher, row)
        try:
            await session.commit()
        except Exception:
            log.error("%s renewed its tokens but they could not be stored: the spent refresh token stays in the "
                      "store; if the next renewal is refused, issue a new refresh token", provider)
            raise
        log.info("%s access token renewed (valid until %s)", provider, pair.expires_at)
        return renewed
