"""Zalo OA access tokens on a real PostgreSQL (INT-06): seeded from the settings, renewed through
the Zalo double's OAuth v4 endpoint after a -216 and ahead of expiry, the rotated single-use refresh
token stored encrypted before use, one renewal for concurrent senders, and a refused renewal
reported to an operator without a loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import make_async_engine, make_sessionmaker
from core.ports import OutboundMessage, TransientSendError
from core.services.provider_credentials import CredentialCipher
from core.settings import Settings
from messaging import zalo_gateway
from messaging.zalo_oa import StoredZaloTokens, ZaloGateway
from tests.doubles.zalo_double import (
    ACCESS_TOKEN,
    APP_ID,
    APP_SECRET_KEY,
    OA_SECRET_KEY,
    OAUTH_PATH,
    REFRESH_TOKEN,
    SEND_PATH,
    ZaloDouble,
)
from tests.support import eventually

CITIZEN = "246845883529197922"
SECRET_KEY = "a-test-secret-key-of-at-least-thirty-two-characters"


@pytest.fixture
def double() -> Iterator[ZaloDouble]:
    with ZaloDouble(followers={CITIZEN}) as server:
        yield server


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(database_url, pool_size=4, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


def settings_for(double: ZaloDouble, **overrides: object) -> Settings:
    values: dict = {"secret_key": SECRET_KEY, "zalo_oa_secret_key": OA_SECRET_KEY, "zalo_app_id": APP_ID,
                    "zalo_app_secret_key": APP_SECRET_KEY, "zalo_access_token": ACCESS_TOKEN,
                    "zalo_refresh_token": REFRESH_TOKEN, "zalo_api_base": double.url,
                    "zalo_oauth_base": double.url, "zalo_timeout_seconds": 5.0}
    values.update(overrides)
    return Settings(**values)


def reply(n: int = 1) -> OutboundMessage:
    return OutboundMessage(key=f"reply-{n}", to=CITIZEN, body="Phản ánh của ông/bà đã được tiếp nhận.")


async def stored_row(engine: AsyncEngine) -> dict:
    async with engine.connect() as conn:
        found = await conn.execute(sa.text("SELECT * FROM provider_credential WHERE provider = 'zalo'"))
        row = found.mappings().one()
    return dict(row)


def accepted_tokens(double: ZaloDouble) -> list[str]:
    """The access token of every send the double accepted or refused, in order."""
    return [r.headers.get("access_token", "") for r in double.received("POST", SEND_PATH)]


async def test_an_expired_token_is_renewed_and_the_message_resent(double: ZaloDouble, engine: AsyncEngine,
                                                                  sessions: async_sessionmaker[AsyncSession],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = zalo_gateway(settings_for(double), sessions)
    try:
        # given a gateway that sent with the seeded access token
        assert (await gateway.send(reply(1))).status == "sent" and double.renewals == []
        # when Zalo lets that token expire
        double.expire_access_token()
        result = await gateway.send(reply(2))
    finally:
        await gateway.aclose()
    # then it was renewed once with the seeded refresh token, and the message resent with the new one
    assert result.status == "sent" and len(double.sent) == 2
    assert double.renewals == [{"refresh_token": REFRESH_TOKEN, "app_id": APP_ID, "grant_type": "refresh_token"}]
    new_access, new_refresh = double.issued[0]
    assert accepted_tokens(double) == [ACCESS_TOKEN, ACCESS_TOKEN, new_access]
    # and the rotated pair is stored, encrypted: the raw columns hold neither token
    row = await stored_row(engine)
    raw = " ".join(str(value) for value in row.values())
    assert not any(token in raw for token in (new_access, new_refresh, REFRESH_TOKEN, ACCESS_TOKEN))
    cipher = CredentialCipher(SECRET_KEY)
    assert (cipher.decrypt(row["access_token"]), cipher.decrypt(row["refresh_token"])) == (new_access, new_refresh)
    assert row["access_expires_at"] is not None and row["refresh_refused_at"] is None
    # and no token was logged
    assert caplog.text and not any(token in caplog.text for token in (new_access, new_refresh, REFRESH_TOKEN,
                                                                      ACCESS_TOKEN))


async def test_a_new_process_uses_the_stored_pair_not_the_spent_settings(double: ZaloDouble,
                                                                         sessions: async_sessionmaker[AsyncSession]
                                                                         ) -> None:
    first = zalo_gateway(settings_for(double), sessions)
    try:
        double.expire_access_token()
        await first.send(reply(1))
    finally:
        await first.aclose()
    # a restarted worker, same settings (the seeded refresh token is spent by now)
    second = zalo_gateway(settings_for(double), sessions)
    try:
        await second.send(reply(2))
        double.expire_access_token()
        await second.send(reply(3))
    finally:
        await second.aclose()
    assert len(double.sent) == 3 and len(double.renewals) == 2
    assert double.renewals[1]["refresh_token"] == double.issued[0][1]  # the rotated one, from the store


async def test_concurrent_senders_with_an_expired_token_renew_it_once(double: ZaloDouble, engine: AsyncEngine,
                                                                      sessions: async_sessionmaker[AsyncSession]
                                                                      ) -> None:
    # given two workers (each its own gateway and token holder) sharing the store
    workers = [zalo_gateway(settings_for(double), sessions) for _ in range(2)]
    try:
        for n, worker in enumerate(workers):
            await worker.send(reply(n))
        double.expire_access_token()
        double.hold_renewals()
        # when both send with the expired token, the first renewal being held at Zalo
        sends = [asyncio.create_task(worker.send(reply(10 + n))) for n, worker in enumerate(workers)]
        await asyncio.to_thread(double.renewal_arrived.wait, 30)
        assert double.renewal_arrived.is_set()

        async def the_other_waits_for_the_row_lock() -> bool:
            async with engine.connect() as conn:
                waiting = await conn.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"))
                return bool(waiting.scalar_one())

        await eventually(the_other_waits_for_the_row_lock, "the second worker to wait on the credential row")
        double.release_renewals()
        results = await asyncio.gather(*sends)
    finally:
        for worker in workers:
            await worker.aclose()
    # then Zalo saw one renewal, and both messages went out with the new token
    assert [r.status for r in results] == ["sent", "sent"] and len(double.sent) == 4
    assert len(double.renewals) == 1 and len(double.received("POST", OAUTH_PATH)) == 1
    assert accepted_tokens(double)[-2:] == [double.issued[0][0]] * 2


async def test_a_refused_renewal_is_transient_reported_and_not_retried(double: ZaloDouble, engine: AsyncEngine,
                                                                       sessions: async_sessionmaker[AsyncSession],
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    # given a store seeded with a refresh token Zalo does not know (spent, or revoked)
    gateway = zalo_gateway(settings_for(double, zalo_refresh_token="a-spent-refresh-token"), sessions)
    try:
        double.expire_access_token()
        # when a message is sent, and again later by the retry
        with pytest.raises(TransientSendError, match="cannot be renewed.*-14014"):
            await gateway.send(reply(1))
        with pytest.raises(TransientSendError, match="cannot be renewed"):
            await gateway.send(reply(2))
    finally:
        await gateway.aclose()
    # then Zalo was asked once, each message was tried once, and an operator is told what to do
    assert len(double.renewals) == 1 and len(double.received("POST", SEND_PATH)) == 2 and double.sent == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and "HOTLINE_ZALO_REFRESH_TOKEN" in errors[0].getMessage()
    assert "a-spent-refresh-token" not in caplog.text
    assert (await stored_row(engine))["refresh_refused_at"] is not None
    # when the operator sets a new refresh token, the store is seeded again and sending resumes
    fixed = zalo_gateway(settings_for(double, zalo_refresh_token=REFRESH_TOKEN), sessions)
    try:
        assert (await fixed.send(reply(3))).status == "sent"
    finally:
        await fixed.aclose()
    assert len(double.renewals) == 2 and (await stored_row(engine))["refresh_refused_at"] is None


async def test_a_token_about_to_expire_is_renewed_before_sending(double: ZaloDouble,
                                                                 sessions: async_sessionmaker[AsyncSession]) -> None:
    now = [datetime(2026, 11, 27, 8, 0, tzinfo=UTC)]
    tokens = StoredZaloTokens(sessions, secret_key=SECRET_KEY, app_id=APP_ID, app_secret_key=APP_SECRET_KEY,
                              oauth_base=double.url, seed_refresh_token=REFRESH_TOKEN, timeout=5.0,
                              clock=lambda: now[0])
    gateway = ZaloGateway(tokens, OA_SECRET_KEY, app_id=APP_ID, api_base=double.url, timeout=5.0)
    try:
        # given a store seeded with a refresh token only: the first send renews before sending
        await gateway.send(reply(1))
        assert len(double.renewals) == 1
        # when 23 hours pass (more than an hour left of the 25), the token is used as is
        now[0] += timedelta(hours=23)
        await gateway.send(reply(2))
        assert len(double.renewals) == 1
        # when less than an hour is left, it is renewed before the message goes out
        now[0] += timedelta(hours=1, minutes=30)
        await gateway.send(reply(3))
    finally:
        await gateway.aclose()
    assert len(double.renewals) == 2 and double.renewals[1]["refresh_token"] == double.issued[0][1]
    first, second = double.issued[0][0], double.issued[1][0]
    assert accepted_tokens(double) == [first, first, second]  # never refused: renewed ahead of time


async def test_an_early_renewal_that_fails_keeps_the_valid_token(double: ZaloDouble,
                                                                 sessions: async_sessionmaker[AsyncSession]) -> None:
    now = [datetime(2026, 11, 27, 8, 0, tzinfo=UTC)]
    tokens = StoredZaloTokens(sessions, secret_key=SECRET_KEY, app_id=APP_ID, app_secret_key=APP_SECRET_KEY,
                              oauth_base=double.url, seed_refresh_token=REFRESH_TOKEN, timeout=5.0,
                              clock=lambda: now[0])
    gateway = ZaloGateway(tokens, OA_SECRET_KEY, app_id=APP_ID, api_base=double.url, timeout=5.0)
    try:
        await gateway.send(reply(1))
        now[0] += timedelta(hours=24, minutes=30)
        double.fail_next_with_status(503)
        # the early renewal fails (Zalo's OAuth is down) but the token has 30 minutes left
        assert (await gateway.send(reply(2))).status == "sent"
        # and the next send does not ask again right away
        assert (await gateway.send(reply(3))).status == "sent"
    finally:
        await gateway.aclose()
    assert len(double.received("POST", OAUTH_PATH)) == 2 and len(double.sent) == 3
