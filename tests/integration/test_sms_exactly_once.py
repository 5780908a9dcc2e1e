"""Issue 6, end to end with `kill -9`: a citizen's SMS (a signed Twilio webhook, retried by Twilio)
becomes one ticket through the desk's SMS inbox page; the desk dispatches, the unit manager assigns
an officer, the officer is texted that the ticket waits for them, processes it, the manager
approves, the desk closes, and the citizen is texted the result — every SMS through the real
Twilio SDK in `hotline worker` subprocesses against the local Twilio double, and the worker is
killed (SIGKILL) twice on the way and replaced each time.

What "exactly once" means here. Outside messages are claimed before the provider is called
(`core.services.delivery`: pending -> sending, committed) and the claim is never retried: the ledger
is at-most-once per message, never at-least-once. So:

- a worker killed *after* the claim is committed can never send that message again; whether the
  provider got it depends on whether the dead worker's request left. The first kill point is placed
  where that is known: the double has already accepted (created) the officer's SMS and holds its
  HTTP answer while the worker is killed. Outcome, asserted precisely: Twilio got the officer's SMS
  once; the delivery row stays `sending` and the message log row `queued` with no provider id
  ("outcome unknown" to us, though it did leave); the new worker does not send it again.
  (Had the kill landed between the claim and the HTTP request, the documented outcome would be
  "never sent" — the same rows; this test does not place a kill there, so its outcome is fixed.)
- a worker killed *before* the message is queued leaves nothing claimed, and the new worker sends
  it exactly once. The second kill point is placed there: the test holds the ticket's row lock
  (`SELECT … FOR UPDATE`) while the desk closes the ticket, waits until the worker's transaction
  that records the close is blocked on it, kills the worker, and lets go. Outcome: the citizen's
  result SMS goes out once, through the new worker, and its rows are `sent` with the double's id.

Both kill points are found by waiting on conditions (a request held at the double, a backend
waiting on a lock in pg_stat_activity), never by sleeping, so the outcome does not depend on
timing. Each kill costs one Temporal workflow-task timeout (10 s) before a new worker takes over.

The citizen may also get a "received" SMS at intake (a later diagram step): counts are asserted per
kind of message, each at most one, and no (recipient, body) pair is sent twice."""

from __future__ import annotations

import asyncio
import re
import signal
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlmodel import col, select

from core.db import unit_of_work
from core.models import Area, TicketField
from core.models.messages import Message
from core.models.notifications import NotificationDelivery
from core.models.tickets import Ticket, TicketEvent
from tests.conftest import login
from tests.doubles import Answer, Recorded
from tests.doubles.twilio_double import ACCOUNT_SID, AUTH_TOKEN, TwilioDouble, signed_inbound
from tests.integration.test_lifecycle import do, status_is, task
from tests.integration.test_sms_inbox_pages import browser, csrf_of, page, post
from tests.integration.test_worker_crash import app_without_worker, worker_process  # noqa: F401 - fixtures
from tests.support import eventually

BASE = "http://testserver"
FROM_NUMBER = "+15005550006"
CITIZEN, OFFICER, MANAGER = "+84912345678", "+84900000009", "+84900000008"  # demo cv.tranbien / ld.tranbien
REPORT = "Đèn đường hỏng ở đường Võ Thị Sáu, tối om cả đoạn."
RESULT = "Điện lực đã thay bóng đèn lúc 15h"


class HoldingTwilio(TwilioDouble):
    """The Twilio double, able to accept one message to a number (it is created, as Twilio would)
    and then hold its HTTP answer until the test releases it: the worker's call is in flight."""

    def __init__(self) -> None:
        super().__init__()
        self._hold_to: str | None = None
        self.held = threading.Event()
        self._release = threading.Event()

    def hold_next_to(self, number: str) -> None:
        with self._lock:
            self._hold_to = number
        self.held.clear()
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def answer(self, request: Recorded) -> Answer:
        answer = super().answer(request)
        with self._lock:
            hold = answer.status == 201 and self._hold_to is not None and request.form().get("To") == self._hold_to
            if hold:
                self._hold_to = None
        if hold:
            self.held.set()
            self._release.wait(60)
        return answer

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        super().__exit__(*exc)

    def created(self, to: str) -> list[dict]:
        with self._lock:
            return [m for m in self.messages if m["to"] == to]


@pytest.fixture
def double() -> Iterator[HoldingTwilio]:
    with HoldingTwilio() as server:
        yield server


@pytest.fixture
def settings(settings, double):  # noqa: ANN001, ANN201 - the app checks Twilio's signatures
    settings.sms_gateway = "twilio"
    settings.twilio_account_sid, settings.twilio_auth_token = ACCOUNT_SID, SecretStr(AUTH_TOKEN)
    settings.twilio_from_number, settings.twilio_api_base = FROM_NUMBER, double.url
    return settings


@pytest.fixture
def start_worker(worker_process, double, monkeypatch):  # noqa: ANN001, ANN201, F811
    """`hotline worker` subprocesses that send SMS through the Twilio double."""
    for name, value in {"HOTLINE_SMS_GATEWAY": "twilio", "HOTLINE_TWILIO_API_BASE": double.url,
                        "HOTLINE_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "HOTLINE_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                        "HOTLINE_TWILIO_FROM_NUMBER": FROM_NUMBER,
                        "HOTLINE_TWILIO_TIMEOUT_SECONDS": "60"}.items():  # a held answer is no timeout
        monkeypatch.setenv(name, value)
    return worker_process


def kill(worker) -> None:  # noqa: ANN001
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(10) == -signal.SIGKILL


async def deliveries(services, **where: str) -> list[NotificationDelivery]:  # noqa: ANN001
    async with services.sessions() as session:
        query = select(NotificationDelivery).order_by(col(NotificationDelivery.id))
        for name, value in where.items():
            query = query.where(getattr(NotificationDelivery, name) == value)
        return list((await session.exec(query)).all())


async def logged(services, key: str) -> Message:  # noqa: ANN001
    async with services.sessions() as session:
        return (await session.exec(select(Message).where(Message.idempotency_key == key))).one()


async def ticket_from_sms(client, services) -> tuple[int, str]:  # noqa: ANN001
    """Twilio posts the citizen's SMS twice (a retry); the desk makes a ticket of it on its page."""
    path = "/webhooks/twilio/inbound"
    webhook = signed_inbound(BASE + path, REPORT, sender=CITIZEN, sid="SM" + "e" * 32)
    for _ in range(2):
        answer = await client.post(path, content=webhook.body, headers=dict(webhook.headers))
        assert answer.status_code == 200, answer.text
    async with unit_of_work(services.sessions) as session:
        message_id = (await session.exec(select(Message.id).where(Message.direction == "in"))).one()
        field_id = (await session.exec(select(TicketField.id))).first()
        area_id = (await session.exec(select(Area.id))).first()
    desk = await browser(client, "dieuphoi")
    form = await page(client, desk, f"/sms/{message_id}/ticket")
    assert form.status_code == 200, form.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    made = await post(client, desk, f"/sms/{message_id}/ticket", {
        "csrf_token": csrf_of(form.text), "idempotency_key": key, "citizen_phone": "0912345678",
        "field_id": str(field_id), "area_id": str(area_id), "address": "Đường Võ Thị Sáu", "description": REPORT})
    assert made.status_code == 303, made.text
    client.cookies.clear()
    async with unit_of_work(services.sessions) as session:
        code = (await session.exec(select(Ticket.code).where(Ticket.idempotency_key == f"message:{message_id}"))).one()
    return message_id, code  # type: ignore[return-value]


async def complete_in_background(client, headers, code: str, bpmn_id: str, **data: str) -> asyncio.Task:  # noqa: ANN001
    """Complete a task without awaiting the answer: the workflow task that carries it is the one
    the worker is killed in (the answer comes once a new worker has run it)."""
    item = await task(client, headers, code, bpmn_id)
    return asyncio.create_task(client.post(f"/api/v1/inbox/{item['id']}/complete", headers=headers,
                                           json={"data": data}))


async def test_each_sms_goes_out_once_through_two_worker_kills(app_without_worker, start_worker, double) -> None:  # noqa: ANN001, F811
    client, services = app_without_worker
    people = {n: await login(client, n) for n in ("dieuphoi", "ld.tranbien", "cv.tranbien", "admin")}
    units = {u["code"]: u["path"] for u in (await client.get("/api/v1/org-units", headers=people["admin"])).json()}
    desk, manager, officer = people["dieuphoi"], people["ld.tranbien"], people["cv.tranbien"]
    first = start_worker()
    message_id, code = await ticket_from_sms(client, services)
    await do(client, desk, code, "dispatch", unit_path=units["P.TRANBIEN"])

    # kill 1: Twilio has accepted the officer's SMS, its answer is in flight, the worker dies
    double.hold_next_to(OFFICER)
    assigned = await complete_in_background(client, manager, code, "assign", decision="officer", officer="cv.tranbien")
    await eventually(lambda: asyncio.to_thread(double.held.wait, 0.2), "the officer's SMS to reach Twilio")
    kill(first)
    double.release()
    second = start_worker()
    answer = await assigned
    assert answer.status_code == 200, answer.text
    # the new worker finishes the step without texting the officer again (the claim is not retried)
    await do(client, officer, code, "process", outcome="result", result=RESULT)
    await do(client, manager, code, "approve_result", decision="approve")

    # kill 2: the desk closes while the ticket row is locked; the worker recording the close waits
    # on it (nothing about the citizen's SMS is written yet) and dies there
    async with services.sessions() as session:
        holder = (await session.exec(sa.text("SELECT pg_backend_pid()"))).one()[0]  # type: ignore[call-overload]
        await session.exec(sa.text("SELECT id FROM ticket WHERE code = :code FOR UPDATE"),  # type: ignore[call-overload]
                           params={"code": code})
        closed = await complete_in_background(client, desk, code, "close")

        async def blocked() -> bool:
            async with services.sessions() as probe:
                return bool((await probe.exec(sa.text(  # type: ignore[call-overload]
                    "SELECT count(*) FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"),
                    params={"holder": holder})).one()[0])

        await eventually(blocked, "the worker to wait on the ticket's lock")
        assert not await deliveries(services, kind="citizen_resolved")
        kill(second)
        await session.rollback()
    start_worker()
    answer = await closed
    assert answer.status_code == 200, answer.text
    await status_is(client, desk, code, "resolved")

    async def result_sent() -> list[NotificationDelivery]:
        rows = await deliveries(services, kind="citizen_resolved")
        return rows if rows and rows[0].status == "sent" else []

    await eventually(result_sent, "the citizen's result SMS")
    handle = services.temporal.get_workflow_handle(f"{services.settings.workflow_id_prefix}{code}")
    async with asyncio.timeout(60):
        await handle.result()

    # the inbound SMS: stored once for two webhooks, and one ticket made of it
    async with services.sessions() as session:
        inbound = (await session.exec(select(Message).where(Message.direction == "in"))).all()
        made = (await session.exec(select(Ticket).where(Ticket.idempotency_key == f"message:{message_id}"))).all()
    assert [(m.id, m.address, m.body) for m in inbound] == [(message_id, "0912345678", REPORT)]
    assert len(made) == 1 and made[0].code == code and made[0].channel == "sms"
    assert inbound[0].ticket_id == made[0].id

    # the life cycle itself: each step recorded once through both replacements
    async with services.sessions() as session:
        events = Counter((await session.exec(select(TicketEvent.action).where(TicketEvent.ticket_id == made[0].id))).all())
    assert all(events[a] == 1 for a in ("dispatched", "assigned", "result_sent", "approved", "resolved")), events

    # what Twilio received: no request refused, no (recipient, body) twice
    posts = double.received("POST", double.messages_path)
    assert len(posts) == len(double.messages)
    pairs = Counter((m["to"], m["body"]) for m in double.messages)
    assert all(n == 1 for n in pairs.values()), pairs
    # the officer's SMS (kill 1): Twilio took it once; the new worker did not send it again, and the
    # ledger says what the dead worker knew: claimed, outcome unknown (at-most-once)
    to_officer = double.created(OFFICER)
    assert len(to_officer) == 1 and code in to_officer[0]["body"], to_officer
    [officer_row] = await deliveries(services, kind="task_process")
    assert (officer_row.recipient, officer_row.status, officer_row.attempts) == ("0900000009", "sending", 1)
    officer_log = await logged(services, officer_row.dedupe_key)
    assert (officer_log.status, officer_log.provider_message_id) == ("queued", None)
    # the manager's two SMS (the ticket reached the unit; a result to approve): once each, recorded
    to_manager = await deliveries(services, recipient="0900000008")
    assert sorted(r.kind for r in to_manager) == ["task_approve", "ticket_received"]
    assert all(r.status == "sent" for r in to_manager) and len(double.created(MANAGER)) == 2
    # the citizen's result SMS (kill 2): sent once by the new worker, recorded with Twilio's id
    results = [m for m in double.created(CITIZEN) if RESULT in m["body"]]
    assert len(results) == 1 and "đã được xử lý" in results[0]["body"] and code in results[0]["body"]
    [result_row] = await deliveries(services, kind="citizen_resolved")
    assert (result_row.status, result_row.provider_id) == ("sent", f"twilio:{results[0]['sid']}")
    result_log = await logged(services, result_row.dedupe_key)
    assert (result_log.provider_message_id, result_log.address) == (results[0]["sid"], "0912345678")
    # a "received" SMS at intake, where the diagram has one: once
    received = [m for m in double.created(CITIZEN) if "đã tiếp nhận" in m["body"]]
    assert len(received) <= 1 and len(received) == len(await deliveries(services, kind="citizen_received"))
    # every message the ledger holds went to Twilio at most once, and every Twilio message is in it
    rows = await deliveries(services)
    assert len(rows) == len(double.messages)
    assert Counter((r.recipient, r.body) for r in rows) == Counter(
        ("0" + m["to"][3:], m["body"]) for m in double.messages)
    # and the message log has one outbound row per ledger row, none of them failed
    async with services.sessions() as session:
        outbound = (await session.exec(select(Message).where(Message.direction == "out"))).all()
    assert sorted(m.idempotency_key for m in outbound) == sorted(r.dedupe_key for r in rows)
    assert all(m.status == "queued" and m.provider == "twilio" for m in outbound), outbound
