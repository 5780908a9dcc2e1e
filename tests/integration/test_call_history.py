"""The call history, the missed calls and the recordings (issue 7: CC-28, CC-29, CC-30, CC-36,
CC-38, CRM-07, CRM-08) on a real PostgreSQL: filters by a number typed as people type it, local
days, direction, disposition and its answered/unanswered groups, queue and agent; totals and
pages; masking without `pii` and the access log of unmasked reads; the missed calls through their
partial index with how often each number called; recordings with HTTP Range; refusals and bad
input answered 403/404/422, never 500."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from core.authz import Scope
from core.errors import NotFound
from core.models import AuditLog, QueueEvent, User
from core.models.calls import CallDirection, CallRecord, CallState, Disposition
from core.services import call_history
from core.services.actor import Actor
from core.services.call_history import CallFilters, Outcome
from core.services.crud import Page
from core.services.tickets import LOCAL_TZ
from tests.conftest import login

PHONE = "0912345678"
OTHER = "0987654321"
DESK = Actor(user_id=None, username="desk", roles=frozenset({"coordinator"}), scope=Scope.all)
_ids = itertools.count(1)


def local(day: str, clock: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=LOCAL_TZ)


def a_call(started: datetime, number: str = PHONE, disposition: Disposition | None = Disposition.answered,
           direction: CallDirection = CallDirection.inbound, **fields: Any) -> CallRecord:
    answered = disposition in (Disposition.answered, Disposition.transferred)
    values: dict[str, Any] = {
        "uniqueid": f"1764150000.{next(_ids)}", "direction": direction, "citizen_number": number,
        "citizen_name": "Nguyen Van An", "dialed": "1022" if direction is CallDirection.inbound else number,
        "state": CallState.ended if disposition else CallState.queued, "disposition": disposition,
        "queue": "hotline", "started_at": started, "queued_at": started + timedelta(seconds=3),
        "answered_at": started + timedelta(seconds=20) if answered else None,
        "ended_at": started + timedelta(seconds=80) if disposition else None,
        "wait_seconds": 17.0, "talk_seconds": 60.0 if answered else None,
    }
    return CallRecord(**(values | fields))


async def add(app, *calls: CallRecord) -> list[int]:  # noqa: ANN001
    async with app.state.services.sessions() as session:
        session.add_all(calls)
        await session.commit()
        return [c.id for c in calls]  # type: ignore[misc]


async def user_id(app, username: str) -> int:  # noqa: ANN001
    async with app.state.services.sessions() as session:
        return (await session.exec(select(User.id).where(User.username == username))).one()  # type: ignore[return-value]


async def read(app, filters: CallFilters, page: Page = Page(1, 25), pii: bool = True):  # noqa: ANN001, ANN201
    async with app.state.services.sessions() as session:
        return await call_history.history(session, DESK, filters, page, pii)


# ---- the history ----

async def test_history_filters_by_number_local_days_direction_result_queue_and_agent(app) -> None:
    agent = await user_id(app, "dienthoai")
    late, early = await add(app, a_call(local("2026-03-01", "23:30")),  # the evening of 1 March in Đồng Nai
                            a_call(local("2026-03-02", "00:30")))  # already 2 March there (still 1 March in UTC)
    abandoned, = await add(app, a_call(local("2026-03-02", "09:00"), disposition=Disposition.abandoned))
    out, = await add(app, a_call(local("2026-03-02", "10:00"), direction=CallDirection.outbound,
                                 disposition=Disposition.failed, queue=None))
    taken, = await add(app, a_call(local("2026-03-02", "11:00"), OTHER, agent_id=agent, extension="101",
                                   queue="support", disposition=Disposition.transferred, transfer_to="102"))
    found = await read(app, CallFilters(number=call_history.parse_number("+84 912 345 678")))
    assert [c.id for c in found.items] == [out, abandoned, early, late]  # newest first, that number only
    assert (found.total, found.pages, found.total_is_estimate) == (4, 1, False)
    for typed in ("0912 345 678", "0912.345.678", "(+84) 912-345-678", " 84912345678 "):
        assert call_history.parse_number(typed) == PHONE, typed
    on_the_2nd = await read(app, CallFilters(date_from=local("2026-03-02").date(), date_to=local("2026-03-02").date()))
    assert [c.id for c in on_the_2nd.items] == [taken, out, abandoned, early]
    assert [c.id for c in (await read(app, CallFilters(date_to=local("2026-03-01").date()))).items] == [late]
    assert [c.id for c in (await read(app, CallFilters(direction=CallDirection.outbound))).items] == [out]
    assert [c.id for c in (await read(app, CallFilters(disposition=Disposition.abandoned))).items] == [abandoned]
    assert [c.id for c in (await read(app, CallFilters(outcome=Outcome.answered))).items] == [taken, early, late]
    assert [c.id for c in (await read(app, CallFilters(outcome=Outcome.unanswered))).items] == [out, abandoned]
    assert [c.id for c in (await read(app, CallFilters(queue="support"))).items] == [taken]
    by_agent = await read(app, CallFilters(agent_id=agent))
    assert [c.id for c in by_agent.items] == [taken]
    assert (by_agent.items[0].agent_name, by_agent.items[0].extension, by_agent.items[0].transfer_to) == (
        "Trần Văn Trực", "101", "102")
    assert (await read(app, CallFilters(number=PHONE, queue="support"))).total == 0


async def test_history_pages_carry_the_total_and_the_number_of_pages(app) -> None:
    start = local("2026-04-01", "08:00")
    ids = await add(app, *(a_call(start + timedelta(minutes=n)) for n in range(30)), a_call(start, OTHER))
    first = await read(app, CallFilters(number=PHONE), Page(1, 25))
    assert (first.total, first.pages, first.total_is_estimate, len(first.items)) == (30, 2, False, 25)
    assert [c.id for c in first.items] == ids[:30][::-1][:25]
    second = await read(app, CallFilters(number=PHONE), Page(2, 25))
    assert (second.total, second.pages, [c.id for c in second.items]) == (30, 2, ids[:5][::-1])
    everything = await read(app, CallFilters(), Page(1, 50))
    assert (everything.total, everything.pages, len(everything.items)) == (31, 1, 31)
    beyond = await read(app, CallFilters(), Page(3, 25))
    assert (beyond.items, beyond.total, beyond.total_is_estimate) == ([], 31, False)  # counted, not guessed


async def test_an_actor_without_the_desks_scope_reads_only_the_calls_they_took(app) -> None:
    agent = await user_id(app, "dienthoai")
    mine, _theirs = await add(app, a_call(local("2026-03-02"), agent_id=agent), a_call(local("2026-03-03")))
    own = Actor(user_id=agent, username="dienthoai", roles=frozenset({"agent"}), scope=Scope.own)
    async with app.state.services.sessions() as session:
        assert [c.id for c in (await call_history.history(session, own, CallFilters(), Page(1, 25), True)).items] == [mine]
        with pytest.raises(NotFound):
            await call_history.get_call(session, own, _theirs, True)


# ---- the missed calls ----

async def test_missed_calls_are_the_unanswered_inbound_ones_not_yet_called_back(app) -> None:
    day = local("2026-05-04", "08:00")
    first, second = await add(app, a_call(day, disposition=Disposition.abandoned),
                              a_call(day + timedelta(hours=1), disposition=Disposition.timeout,
                                     overflow_to="message"))
    closed, = await add(app, a_call(day + timedelta(hours=2), OTHER, disposition=Disposition.closed))
    await add(app,
              a_call(day + timedelta(hours=3), disposition=Disposition.answered),  # answered
              a_call(day + timedelta(hours=4), disposition=Disposition.no_agent, called_back_at=day),  # called back
              a_call(day + timedelta(hours=5), disposition=None),  # still waiting in the queue
              a_call(day + timedelta(hours=6), disposition=Disposition.blacklisted),  # refused on purpose
              a_call(day + timedelta(hours=7), direction=CallDirection.outbound, disposition=Disposition.failed))
    async with app.state.services.sessions() as session:
        found = await call_history.missed(session, DESK, Page(1, 25), True)
    assert [c.id for c in found.items] == [closed, second, first]
    assert (found.total, found.pages, found.total_is_estimate) == (3, 1, False)
    assert {c.id: c.missed_count for c in found.items} == {closed: 1, second: 2, first: 2}
    assert found.items[1].overflow_to == "message"


async def test_the_missed_calls_query_states_the_partial_index_predicate(app) -> None:
    await add(app, *(a_call(local("2026-05-04") + timedelta(minutes=n), disposition=Disposition.abandoned)
                     for n in range(5)))
    async with app.state.services.sessions() as session:
        await session.exec(sa.text("SET LOCAL enable_seqscan = off"))  # type: ignore[call-overload]
        plan = (await session.exec(sa.text(  # type: ignore[call-overload]
            f"EXPLAIN SELECT id FROM call WHERE {call_history.MISSED_WHERE} ORDER BY started_at DESC, id DESC LIMIT 25"
        ))).all()
    assert "ix_call_missed" in " ".join(row[0] for row in plan)


# ---- through the API: masking and the access log ----

async def test_api_history_unmasked_for_the_desk_with_every_read_logged(app, client) -> None:
    ids = await add(app, *(a_call(local("2026-03-02", "09:00") + timedelta(minutes=n)) for n in range(3)))
    missed, = await add(app, a_call(local("2026-03-02", "12:00"), disposition=Disposition.abandoned))
    desk = await login(client, "dieuphoi")
    listed = await client.get("/api/v1/calls", headers=desk, params={"phone": "+84 912 345 678", "per_page": 25})
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["total"], body["pages"], body["page"], body["per_page"], body["total_is_estimate"]) == (4, 1, 1, 25, False)
    assert {c["citizen_number"] for c in body["items"]} == {PHONE}
    assert body["items"][0]["citizen_name"] == "Nguyen Van An"
    one = await client.get(f"/api/v1/calls/{ids[0]}", headers=desk)
    assert one.status_code == 200 and one.json()["citizen_number"] == PHONE
    waiting = await client.get("/api/v1/calls/missed", headers=desk)
    assert waiting.status_code == 200 and [c["id"] for c in waiting.json()["items"]] == [missed]
    assert waiting.json()["items"][0]["missed_count"] == 1
    async with app.state.services.sessions() as session:
        logged = (await session.exec(select(AuditLog.action, AuditLog.entity_id, AuditLog.after)
                                     .where(AuditLog.entity == "call").order_by(AuditLog.id))).all()
    assert [(action, entity_id) for action, entity_id, _ in logged] == [
        ("pii.list", None), ("pii.read", str(ids[0])), ("pii.list", None)]
    assert sorted(logged[0][2]["ids"]) == sorted([*ids, missed])


async def test_api_masks_numbers_and_names_for_a_role_without_personal_data(app, client) -> None:
    inbound, outbound = await add(app, a_call(local("2026-03-02")),
                                  a_call(local("2026-03-03"), direction=CallDirection.outbound,
                                         disposition=Disposition.failed))
    auditor = await login(client, "kiemtra")
    body = (await client.get("/api/v1/calls", headers=auditor, params={"phone": PHONE})).json()
    assert body["total"] == 2 and {c["citizen_number"] for c in body["items"]} == {"091*****78"}
    assert {c["citizen_name"] for c in body["items"]} == {None}
    shown = {c["id"]: c for c in body["items"]}
    assert shown[outbound]["dialed"] == "091*****78" and shown[inbound]["dialed"] == "1022"
    one = (await client.get(f"/api/v1/calls/{inbound}", headers=auditor)).json()
    assert (one["citizen_number"], one["citizen_name"]) == ("091*****78", None)
    async with app.state.services.sessions() as session:
        assert (await session.exec(select(AuditLog).where(AuditLog.entity == "call"))).first() is None


async def test_api_one_call_has_its_queue_events_in_order(app, client) -> None:
    start = local("2026-03-02", "09:00")
    call = a_call(start, recording_file=None)
    call_id, = await add(app, call)
    async with app.state.services.sessions() as session:
        for n, event in enumerate(("CONNECT", "ENTERQUEUE", "RINGNOANSWER", "COMPLETECALLER")):
            at = start + timedelta(seconds={"ENTERQUEUE": 3, "RINGNOANSWER": 10, "CONNECT": 20,
                                            "COMPLETECALLER": 80}[event])
            session.add(QueueEvent(event_key=f"{call.uniqueid}:{n}", at=at, call_uniqueid=call.uniqueid,
                                   queue="hotline", agent="101", event=event))
        session.add(QueueEvent(event_key="other", at=start, call_uniqueid="someone-else", event="ENTERQUEUE"))
        await session.commit()
    body = (await client.get(f"/api/v1/calls/{call_id}", headers=await login(client, "dienthoai"))).json()
    assert [e["event"] for e in body["events"]] == ["ENTERQUEUE", "RINGNOANSWER", "CONNECT", "COMPLETECALLER"]
    assert (body["wait_seconds"], body["talk_seconds"], body["has_recording"]) == (17.0, 60.0, False)


# ---- recordings ----

WAV = b"RIFF" + (36 + 4000).to_bytes(4, "little") + b"WAVEfmt " + bytes(range(256)) * 16


def keep_recording(app, relative: str, content: bytes = WAV) -> Path:  # noqa: ANN001
    path = call_history.recordings_dir(app.state.services.settings) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


async def test_a_recording_is_served_with_byte_ranges_and_every_download_is_logged(app, client) -> None:
    keep_recording(app, "2026/03/02/1764150000.77.wav")
    call_id, = await add(app, a_call(local("2026-03-02"), recording="1764150000.77",
                                     recording_file="2026/03/02/1764150000.77.wav", recording_bytes=len(WAV)))
    desk = await login(client, "dieuphoi")
    url = f"/api/v1/calls/{call_id}/recording"
    whole = await client.get(url, headers=desk)
    assert whole.status_code == 200 and whole.content == WAV
    assert whole.headers["content-type"] == "audio/wav" and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-disposition"].startswith("inline")
    first = await client.get(url, headers=desk | {"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.content == WAV[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{len(WAV)}" and first.headers["content-length"] == "100"
    middle = await client.get(url, headers=desk | {"Range": "bytes=1000-1999"})
    assert middle.status_code == 206 and middle.content == WAV[1000:2000]
    assert middle.headers["content-range"] == f"bytes 1000-1999/{len(WAV)}"
    tail = await client.get(url, headers=desk | {"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == WAV[-50:]
    assert tail.headers["content-range"] == f"bytes {len(WAV) - 50}-{len(WAV) - 1}/{len(WAV)}"
    open_ended = await client.get(url, headers=desk | {"Range": f"bytes={len(WAV) - 10}-"})
    assert open_ended.status_code == 206 and open_ended.content == WAV[-10:]
    outside = await client.get(url, headers=desk | {"Range": f"bytes={len(WAV)}-{len(WAV) + 100}"})
    assert outside.status_code == 416 and outside.headers["content-range"] == f"bytes */{len(WAV)}"
    saved = await client.get(url, headers=desk, params={"download": "true"})
    assert saved.status_code == 200 and saved.headers["content-disposition"].startswith("attachment")
    async with app.state.services.sessions() as session:
        logged = (await session.exec(select(AuditLog.action, AuditLog.entity, AuditLog.entity_id)
                                     .where(AuditLog.action == "call.recording"))).all()
    assert logged == [("call.recording", "call", str(call_id))] * 7  # every request for the file, the 416 too


async def test_a_call_without_a_recording_or_its_file_is_404_in_vietnamese(app, client) -> None:
    none, gone, outside = await add(
        app, a_call(local("2026-03-02")),
        a_call(local("2026-03-02"), recording="x", recording_file="2026/03/02/gone.wav"),
        a_call(local("2026-03-02"), recording="y", recording_file="../../../etc/passwd"))
    desk = await login(client, "dieuphoi")
    answer = await client.get(f"/api/v1/calls/{none}/recording", headers=desk | {"Accept-Language": "vi"})
    assert answer.status_code == 404
    assert (answer.json()["error_id"], answer.json()["message"]) == ("no_recording", "Cuộc gọi này không có ghi âm.")
    for call_id in (gone, outside):
        answer = await client.get(f"/api/v1/calls/{call_id}/recording", headers=desk | {"Accept-Language": "vi"})
        assert answer.status_code == 404 and answer.json()["error_id"] == "recording_missing", answer.text
        assert answer.json()["message"].startswith("Không có bản ghi âm")
    async with app.state.services.sessions() as session:
        assert (await session.exec(select(AuditLog).where(AuditLog.action == "call.recording"))).first() is None


def test_a_recording_path_never_leaves_the_recordings_directory(tmp_path: Path) -> None:
    settings = SimpleNamespace(data_dir=tmp_path)
    root = (tmp_path / "recordings").resolve()
    (root / "2026").mkdir(parents=True)
    (tmp_path / "secret.wav").write_bytes(b"x")
    (root / "2026" / "link.wav").symlink_to(tmp_path / "secret.wav")
    assert call_history.recording_path(settings, SimpleNamespace(recording_file="2026/a.wav")) == root / "2026/a.wav"
    for escaping in ("../secret.wav", "/etc/passwd", "2026/../../secret.wav", "2026/link.wav", "", None, ".", "a\x00b"):
        assert call_history.recording_path(settings, SimpleNamespace(recording_file=escaping)) is None, escaping


# ---- refusals and bad input ----

async def test_api_refuses_roles_without_the_call_history(app, client) -> None:
    call_id, = await add(app, a_call(local("2026-03-02")))
    officer = await login(client, "cv.tranbien")
    for path in ("/api/v1/calls", "/api/v1/calls/missed", f"/api/v1/calls/{call_id}",
                 f"/api/v1/calls/{call_id}/recording"):
        assert (await client.get(path, headers=officer)).status_code == 403, path
        assert (await client.get(path)).status_code == 401, path
    # an auditor reads the history (masked) but does not listen to the citizen's voice
    keep_recording(app, "r.wav")
    async with app.state.services.sessions() as session:
        await session.exec(sa.update(CallRecord).where(CallRecord.id == call_id)  # type: ignore[call-overload]
                           .values(recording_file="r.wav"))
        await session.commit()
    auditor = await login(client, "kiemtra")
    assert (await client.get(f"/api/v1/calls/{call_id}/recording", headers=auditor)).status_code == 403


@pytest.mark.parametrize("params, field", [
    ({"date_from": "2025-02-30"}, "date_from"),
    ({"date_to": "hôm qua"}, "date_to"),
    ({"date_from": "2025-03-02", "date_to": "2025-03-01"}, "date_to"),
    ({"per_page": 30}, "per_page"),
    ({"per_page": "hai"}, "per_page"),
    ({"page": 0}, "page"),
    ({"page": 500}, "page"),  # 500 x 25 calls deep: narrow the filters instead
    ({"direction": "sideways"}, "direction"),
    ({"disposition": "lost"}, "disposition"),
    ({"outcome": "maybe"}, "outcome"),
    ({"agent_id": 0}, "agent_id"),
    ({"queue": "q" * 41}, "queue"),
    ({"phone": "x" * 65}, "phone"),
    ({"phone": "   "}, "phone"),
])
async def test_api_bad_input_is_422_naming_the_field(client, params, field) -> None:
    desk = await login(client, "dieuphoi")
    response = await client.get("/api/v1/calls", headers=desk, params=params)
    assert response.status_code == 422, response.text
    assert field in response.text and response.json()["message"]


async def test_api_unknown_or_impossible_calls(client) -> None:
    desk = await login(client, "dieuphoi")
    assert (await client.get("/api/v1/calls/123456789", headers=desk)).status_code == 404
    assert (await client.get("/api/v1/calls/123456789/recording", headers=desk)).status_code == 404
    assert (await client.get("/api/v1/calls/0", headers=desk)).status_code == 422
    assert (await client.get(f"/api/v1/calls/{2**63}", headers=desk)).status_code == 422
    assert (await client.get("/api/v1/calls/missed", headers=desk, params={"per_page": 7})).status_code == 422


# ---- the pages' "Call back" ----

async def test_call_back_rings_through_click_to_call_and_answers_beside_the_button(app, client, monkeypatch) -> None:
    from core.errors import PbxNotConnected
    from tests.integration.test_sms_inbox_pages import browser, csrf_of, page, post
    from ui.pages import calls as call_pages

    missed, = await add(app, a_call(local("2026-05-04"), disposition=Disposition.abandoned))
    asked: list[dict[str, Any]] = []

    async def ringing(session, services, actor, number: str, key: str, callback_of_id: int | None = None):  # noqa: ANN001, ANN202
        asked.append({"number": number, "key": key, "callback_of_id": callback_of_id, "user": actor.username})

    monkeypatch.setattr(call_pages, "click_to_call", ringing)
    agent = await browser(client, "dienthoai")
    listed = await page(client, agent, "/calls/missed")
    assert listed.status_code == 200 and f'data-call="{missed}"' in listed.text and "Gọi lại" in listed.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', listed.text).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf_of(listed.text), "idempotency_key": key}
    answer = await client.post(f"/calls/{missed}/call-back", data=form,
                               headers={"Accept-Language": "vi", "HX-Request": "true"})
    assert answer.status_code == 200, answer.text
    assert "Đang gọi: điện thoại của bạn sẽ đổ chuông trước, sau đó hệ thống gọi người dân." in answer.text
    assert asked == [{"number": PHONE, "key": f"callback:{missed}:{key}", "callback_of_id": missed, "user": "dienthoai"}]
    # without JavaScript: back to the missed calls, which say it
    plain = await post(client, agent, f"/calls/{missed}/call-back", form)
    assert plain.status_code == 303 and plain.headers["location"] == "/calls/missed?notice=calling"
    assert "Đang gọi: điện thoại" in (await page(client, agent, "/calls/missed?notice=calling")).text

    async def no_pbx(*args: Any, **kwargs: Any) -> None:
        raise PbxNotConnected()

    monkeypatch.setattr(call_pages, "click_to_call", no_pbx)
    refused = await client.post(f"/calls/{missed}/call-back", data=form,
                                headers={"Accept-Language": "vi", "HX-Request": "true"})
    assert refused.status_code == 200 and "Tổng đài điện thoại chưa kết nối" in refused.text


async def test_call_back_without_an_extension_says_so_and_roles_without_write_are_refused(app, client) -> None:
    from tests.integration.test_sms_inbox_pages import browser, csrf_of, page, post

    missed, = await add(app, a_call(local("2026-05-04"), disposition=Disposition.no_agent))
    agent = await browser(client, "dienthoai")
    listed = await page(client, agent, "/calls/missed")
    answer = await client.post(f"/calls/{missed}/call-back", data={"csrf_token": csrf_of(listed.text)},
                               headers={"Accept-Language": "vi", "HX-Request": "true"})
    assert answer.status_code == 200 and "máy nhánh" in answer.text, answer.text  # not logged in at an extension
    inspector = await browser(client, "kiemtra")
    shown = await page(client, inspector, "/calls/missed")
    assert shown.status_code == 200 and "091*****78" in shown.text and "Gọi lại" not in shown.text
    refused = await post(client, inspector, f"/calls/{missed}/call-back", {"csrf_token": csrf_of(shown.text)})
    assert refused.status_code == 403
