"""The processing deadline is taken from the ticket's field when the clock starts (an officer is
assigned), so a field the desk corrected — or an SLA an administrator changed — since the report
came in is the one that counts; a test's short SLA (no default given) keeps the diagram's hours."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core.db import make_async_engine, make_sessionmaker
from core.models import TicketField
from core.models.base import utcnow
from core.models.tickets import Channel, TicketCreate, TicketEdit
from core.services import sla, tickets
from core.services.actor import system_actor
from core.sla_calendar import load_vietnam_calendar


@pytest.fixture
async def sessions(database_url: str):  # noqa: ANN201
    engine = make_async_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def field_id(session, code: str) -> int:  # noqa: ANN001
    return (await session.exec(select(TicketField.id).where(TicketField.code == code))).one()


async def test_the_deadline_follows_the_field_the_desk_corrected(sessions) -> None:  # noqa: ANN001
    calendar = load_vietnam_calendar()
    async with sessions() as session:
        lights, land_certificate = await field_id(session, "GT.DEN"), await field_id(session, "DD.GCN")
        # a field with its own SLA (24 h) and one that inherits its parent's (Đất đai: 120 h)
        assert (await sla.field_sla_hours(session, lights, 72), await sla.field_sla_hours(session, land_certificate, 72)
                ) == (24.0, 120.0)
        assert await sla.field_sla_hours(session, None, 72) == 72.0
        ticket, _ = await tickets.open_ticket(session, system_actor(), TicketCreate(
            channel=Channel.call, description="Đèn tín hiệu hỏng — thật ra là tranh chấp sổ đỏ", field_id=lights), "sla-1")
        await tickets.edit_new_ticket(session, system_actor(), ticket.code, TicketEdit(field_id=land_certificate), True)
        before = utcnow()
        clock = await sla.start_clock(session, ticket.code, "op:assign-1", 24, False, calendar, 0.75, default_hours=72)
        assert timedelta(hours=120) <= clock.due_at - before < timedelta(hours=120, minutes=1)
        # a retried operator gets the first answer back
        again = await sla.start_clock(session, ticket.code, "op:assign-1", 1, False, calendar, 0.75, default_hours=72)
        assert again == clock
        # without a default (a test's short SLA), the diagram's hours count
        short = await sla.start_clock(session, ticket.code, "op:assign-2", 0.5, False, calendar, 0.75)
        assert short.due_at - utcnow() < timedelta(minutes=31)
        await session.rollback()
