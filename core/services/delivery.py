"""Telling people: the in-app notification and, as each person chose (PERM-10), an SMS or email
through the gateway port. Called from Temporal activities, which may run more than once.

Two steps, so that a retried activity never sends twice:
1. `notify_users` / `queue_message`, inside the caller's transaction (the one that records the
   event): the in-app row and a `notification_delivery` row per outside message, each inserted
   once per dedupe key (ON CONFLICT DO NOTHING). A rolled-back event queues nothing.
2. `send_pending`, after that commit: each pending row is claimed (pending -> sending, committed)
   before the gateway is called, then marked sent or failed.

At-most-once: a sender that dies between the claim and the outcome leaves the row in `sending`,
and no retry sends it again (the SMS may or may not have left; the row says the outcome is
unknown). We chose this over at-least-once because a duplicate SMS to an official costs money
and trust, while a lost one is covered by the in-app notification and the inbox, which are
exactly-once. The gateway also gets the dedupe key as the message key, for providers that
deduplicate. A gateway error on a staff notice marks the row failed and does not fail the
activity (a ticket's life cycle must not wait on the SMS provider); the citizen's SMS is retried
instead (`retry_errors`), as it is the only way the result reaches them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import unit_of_work
from core.models import User
from core.models.base import utcnow
from core.models.notifications import DeliveryStatus, NotificationDelivery, NotificationEvent
from core.models.tickets import InAppNotification, Ticket
from core.ports import Notification, Notifier, PermanentSendError
from core.services import live
from core.services.notification_settings import choices_for, is_mobile, staff_sms

log = logging.getLogger(__name__)

SUBJECT = "Tổng đài 1022 Đồng Nai"


async def add_in_app(session: AsyncSession, user_id: int, kind: str, title: str, body: str | None,
                     ticket_id: int | None, dedupe_key: str) -> None:
    table = InAppNotification.__table__  # type: ignore[attr-defined]
    added = (await session.exec(insert(table).values(  # type: ignore[call-overload]
        user_id=user_id, kind=kind, title=title[:255], body=body, ticket_id=ticket_id, dedupe_key=dedupe_key[:128],
    ).on_conflict_do_nothing(index_elements=[table.c.dedupe_key]).returning(table.c.id))).scalar_one_or_none()
    if added is not None:
        await live.announce(session, users=[user_id])


async def queue_message(session: AsyncSession, dedupe_key: str, channel: str, recipient: str, body: str, kind: str,
                        user_id: int | None = None, ticket_id: int | None = None) -> bool:
    """Record one outside message to send (once per key); True if it was not recorded before."""
    table = NotificationDelivery.__table__  # type: ignore[attr-defined]
    inserted = (await session.exec(insert(table).values(  # type: ignore[call-overload]
        dedupe_key=dedupe_key[:160], channel=channel, recipient=recipient, body=body, kind=kind[:50], user_id=user_id,
        ticket_id=ticket_id, status=DeliveryStatus.pending.value, attempts=0,
    ).on_conflict_do_nothing(index_elements=[table.c.dedupe_key]).returning(table.c.id))).scalar_one_or_none()
    return inserted is not None


async def notify_users(session: AsyncSession, user_ids: Sequence[int], event: NotificationEvent, kind: str, title: str,
                       body: str | None, ticket: Ticket, key: str, outside: bool = True) -> None:
    """Tell each user as they chose: in-app (kind `kind`), and SMS / email when `outside` (the
    caller will run `send_pending` for keys starting with `key`). Keys: `{key}:user:{id}` for the
    in-app row, `{key}:user:{id}:sms|email` for the messages."""
    ids = list(dict.fromkeys(user_ids))
    choices = await choices_for(session, ids, event)
    people = {u.id: u for u in (await session.exec(select(User).where(col(User.id).in_(ids))))} if outside and ids else {}
    for user_id in ids:
        choice = choices[user_id]
        user_key = f"{key}:user:{user_id}"
        if choice.in_app:
            await add_in_app(session, user_id, kind, title, body, ticket.id, user_key)
        person = people.get(user_id)
        if person is None:
            continue
        text = await staff_sms(session, event, choice, ticket.code, title)
        if choice.sms and is_mobile(person.phone):
            await queue_message(session, f"{user_key}:sms", "sms", person.phone, text, event.value, user_id, ticket.id)  # type: ignore[arg-type]
        if choice.email and person.email:
            await queue_message(session, f"{user_key}:email", "email", person.email, text, event.value, user_id, ticket.id)


@dataclass(frozen=True)
class SendReport:
    sent: int = 0
    failed: int = 0  # the gateway could not take them now (pending again with `retry_errors`)
    refused: int = 0  # refused for good (PermanentSendError: invalid number, blocked region): failed, never retried


async def pending_ids(session: AsyncSession, key_prefixes: Sequence[str]) -> list[int]:
    """The pending messages whose dedupe key starts with one of `key_prefixes`, in the caller's
    transaction (read them before its commit, send them after with `send_ids`)."""
    if not key_prefixes:
        return []
    matches = sa.or_(*(sa.func.starts_with(col(NotificationDelivery.dedupe_key), prefix) for prefix in key_prefixes))
    return list((await session.exec(select(NotificationDelivery.id).where(  # type: ignore[call-overload]
        NotificationDelivery.status == DeliveryStatus.pending, matches).order_by(col(NotificationDelivery.id)))).all())


async def send_pending(sessions: async_sessionmaker[AsyncSession], notifier: Notifier, key_prefix: str,
                       retry_errors: bool = False) -> SendReport:
    """Send the pending messages whose dedupe key starts with `key_prefix`, each at most once per
    claim. A gateway error marks the row failed, or, with `retry_errors`, pending again (the
    caller then fails its activity so that Temporal retries it with backoff). Every step is its
    own short transaction."""
    async with unit_of_work(sessions) as session:
        ids = await pending_ids(session, [key_prefix])
    return await send_ids(sessions, notifier, ids, retry_errors)


async def send_ids(sessions: async_sessionmaker[AsyncSession], notifier: Notifier, ids: Sequence[int],
                   retry_errors: bool = False) -> SendReport:
    """Claim and send these pending messages (see `send_pending`)."""
    table = NotificationDelivery.__table__  # type: ignore[attr-defined]
    sent = failed = refused = 0
    for delivery_id in ids:
        async with unit_of_work(sessions) as session:
            row = (await session.exec(sa.update(table).where(  # type: ignore[call-overload]
                table.c.id == delivery_id, table.c.status == DeliveryStatus.pending.value,
            ).values(status=DeliveryStatus.sending.value, attempts=table.c.attempts + 1).returning(table))).first()
        if row is None:
            continue  # another attempt of the same activity claimed it
        message = Notification(key=row.dedupe_key, recipient_user_id=row.user_id, subject=SUBJECT, body=row.body,
                               kind=row.kind, phone=row.recipient if row.channel == "sms" else None,
                               email=row.recipient if row.channel == "email" else None, ticket_id=row.ticket_id,
                               zalo_user_id=row.recipient if row.channel == "zalo" else None)
        try:
            provider_id = await notifier.send(message)
        except PermanentSendError as exc:
            log.warning("%s %s refused by the provider: %s", row.channel, row.dedupe_key, exc)
            refused += 1
            outcome = {"status": DeliveryStatus.failed.value, "error": f"{exc.code or 'refused'}: {exc}"[:500]}
        except Exception as exc:  # noqa: BLE001 - any gateway failure is recorded, never retried blindly
            log.warning("%s %s failed: %s", row.channel, row.dedupe_key, exc)
            failed += 1
            status = DeliveryStatus.pending if retry_errors else DeliveryStatus.failed
            outcome = {"status": status.value, "error": f"{type(exc).__name__}: {exc}"[:500]}
        else:
            outcome = {"status": DeliveryStatus.sent.value, "provider_id": str(provider_id)[:128], "sent_at": utcnow()}
            sent += 1
        async with unit_of_work(sessions) as session:
            await session.exec(sa.update(table).where(table.c.id == delivery_id).values(**outcome))  # type: ignore[call-overload]
    return SendReport(sent, failed, refused)
