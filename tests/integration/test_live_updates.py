"""Live updates through PostgreSQL's LISTEN/NOTIFY: a notice written in a transaction reaches
the streams of the people it concerns when the transaction commits, and never when it rolls
back. Notices arrive in commit order, so "nothing came" is checked by a later notice arriving
first-and-only, never by waiting a fixed time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from psycopg.conninfo import conninfo_to_dict

from api.live_hub import LiveHub
from core.db import libpq_url, make_async_engine, make_sessionmaker
from core.services import live

DEADLINE_S = 20


@pytest.fixture
async def hub(database_url: str) -> AsyncIterator[LiveHub]:
    hub = LiveHub(database_url)
    yield hub
    await hub.close()


@pytest.fixture
async def sessions(database_url: str):  # noqa: ANN201
    engine = make_async_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def woken(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), DEADLINE_S)


async def test_a_committed_notice_wakes_the_people_it_names_and_a_rolled_back_one_nobody(hub, sessions) -> None:
    officer = hub.subscribe(user_id=5, unit_id=7)
    colleague = hub.subscribe(user_id=6, unit_id=7)
    elsewhere = hub.subscribe(user_id=9, unit_id=8)
    sentinel = hub.subscribe(user_id=99, unit_id=None)
    await asyncio.wait_for(hub.connected.wait(), DEADLINE_S)
    for s in (officer, colleague, elsewhere, sentinel):
        s.wake.clear()  # the hub wakes everyone once on connecting
    # a rolled-back write announces nothing
    async with sessions() as session:
        await live.announce(session, users=[5], units=[8])
        await session.rollback()
    # a committed one for unit 7 wakes both people of unit 7, and only them
    async with sessions() as session:
        await live.announce(session, units=[7])
        await session.commit()
    await woken(officer.wake)
    await woken(colleague.wake)
    async with sessions() as session:
        await live.announce(session, users=[99])
        await session.commit()
    await woken(sentinel.wake)
    assert not elsewhere.wake.is_set()
    # a task with no unit (the desk's) wakes everyone
    async with sessions() as session:
        await live.announce(session, everyone=True)
        await session.commit()
    await woken(elsewhere.wake)


async def test_the_hub_reconnects_after_its_connection_is_killed(hub, sessions, database_url) -> None:
    page = hub.subscribe(user_id=5, unit_id=None)
    await asyncio.wait_for(hub.connected.wait(), DEADLINE_S)
    page.wake.clear()
    async with sessions() as session:  # the database ends the listener's connection (a restart, a network cut)
        await session.exec(live.sa.text(  # type: ignore[call-overload]
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN {live.CHANNEL}' "
            "AND pid <> pg_backend_pid()"))
        await session.commit()
    await woken(page.wake)  # told to re-read at once
    page.wake.clear()

    async def announced_and_heard() -> None:
        while True:
            async with sessions() as session:
                await live.announce(session, users=[5])
                await session.commit()
            try:
                await asyncio.wait_for(page.wake.wait(), 0.5)
                return
            except TimeoutError:
                continue  # still reconnecting: announce again

    await asyncio.wait_for(announced_and_heard(), DEADLINE_S)
    assert hub.connected.is_set()


def test_notices_stay_small_and_the_database_url_becomes_libpq() -> None:
    assert live.payload(users=[3, 1, None, 3], units=[2]) == '{"u":[1,3],"g":[2]}'
    assert live.payload(users=range(1000)) == '{"all": true}'
    assert live.concerns({"u": [1], "g": [2]}, 1, None) and live.concerns({"u": [], "g": [2]}, 5, 2)
    assert not live.concerns({"u": [1], "g": [2]}, 5, None)
    parts = conninfo_to_dict(libpq_url("postgresql+psycopg://hotline:s%40cret@/hotline?host=/run/pg"))
    assert parts == {"user": "hotline", "password": "s@cret", "dbname": "hotline", "host": "/run/pg"}
