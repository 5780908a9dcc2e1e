"""The desk's call pages (issue 7): the call list with the phone search and the history's
filters (CC-28, CC-36, CC-38, CRM-08), the missed calls waiting for a call-back with a "Call
back" button each (CRM-07, CC-29), and one call: its times, wait and talk, agent, queue, IVR
path, how it ended, its queue events, a player of its recording (CC-30) and the report made
from it.

Numbers are masked for roles without `pii` read and unmasked reads are audited, exactly as the
call API decides it (api/routers/calls.py); the recording (the citizen's voice) is offered only
to roles that may read personal data, and it is the API's route that serves and audits it.

"Call back" posts (htmx; without JavaScript an ordinary form post) to
`/calls/{id}/call-back`, which asks api.telephony.click_to_call to ring the agent's phone and
then the citizen; its refusals (no telephone exchange, not logged in at an extension) are shown
in Vietnamese beside the button."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep, sees_pii
from api.routers.calls import CallId
from api.telephony import click_to_call
from core.errors import Forbidden, HotlineError
from core.models.calls import CallDirection, Disposition
from core.services import call_history
from core.services.call_history import CallFilters, CallPublic, Outcome
from core.services.crud import Page
from core.services.tickets import LOCAL_TZ
from ui.forms import FieldErrors, day_range, read_form, refusal_sentence
from ui.i18n import N_, Gettext, gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in, see_other
from ui.pages.work import page_numbers, template_helpers
from ui.templating import render

router = page_router()

PAGE_SIZES = call_history.PAGE_SIZES
MISSED_PER_PAGE = 25
KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CALLING = N_("Calling: your phone rings first, then the system calls the citizen.")

DISPOSITIONS: dict[str, str] = {
    Disposition.answered: N_("Answered"),
    Disposition.transferred: N_("Answered, then transferred"),
    Disposition.abandoned: N_("The caller hung up while waiting"),
    Disposition.timeout: N_("Waited too long"),
    Disposition.no_agent: N_("No agent available"),
    Disposition.exit_key: N_("The caller left the queue with a key"),
    Disposition.blacklisted: N_("Blocked number"),
    Disposition.closed: N_("Outside working hours"),
    Disposition.ivr_hangup: N_("Hung up in the menu"),
    Disposition.failed: N_("The citizen did not answer"),
    Disposition.agent_no_answer: N_("The agent's phone did not answer"),
}
OUTCOMES = {Outcome.answered: N_("Answered (all)"), Outcome.unanswered: N_("Not answered (all)")}
EVENTS = {
    "ENTERQUEUE": N_("Entered the queue"), "RINGNOANSWER": N_("An agent's phone rang without an answer"),
    "RINGCANCELED": N_("An agent's phone stopped ringing"), "CONNECT": N_("Connected to an agent"),
    "COMPLETECALLER": N_("The caller ended the call"), "COMPLETEAGENT": N_("The agent ended the call"),
    "TRANSFER": N_("Transferred"), "ABANDON": N_("The caller hung up while waiting"),
    "EXITWITHTIMEOUT": N_("Left the queue: waited too long"), "EXITEMPTY": N_("Left the queue: no agent available"),
    "EXITWITHKEY": N_("Left the queue with a key"),
}
HANGUP_BY = {"caller": N_("the caller"), "agent": N_("the agent"), "system": N_("the system")}


def duration(seconds: float | None) -> str:
    """'1:05' (minutes:seconds), '1:02:03' past an hour, '—' when unknown."""
    if seconds is None:
        return "—"
    whole = max(int(round(seconds)), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def local_seconds(value: Any) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M:%S") if value else "—"


def call_helpers(locale: str) -> dict[str, Any]:
    _ = gettext_for(locale)
    return {
        **template_helpers(locale),
        "disposition_label": lambda d: _(DISPOSITIONS[d]) if d in DISPOSITIONS else (_("In progress") if d is None
                                                                                      else str(d)),
        "event_label": lambda e: _(EVENTS[e]) if e in EVENTS else e,
        "hangup_label": lambda h: _(HANGUP_BY[h]) if h in HANGUP_BY else (h or "—"),
        "direction_label": lambda d: _("Incoming call") if d == CallDirection.inbound else _("Outgoing call"),
        "duration": duration, "local_seconds": local_seconds,
    }


def _result_choices(_: Gettext) -> list[tuple[str, str]]:
    return [(str(k), _(v)) for k, v in OUTCOMES.items()] + [(str(k), _(v)) for k, v in DISPOSITIONS.items()]


@router.get("/calls")
async def call_list(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                    actor: Allowed("calls", "read"), phone: str = Query("", max_length=64),
                    date_from: str = Query("", max_length=10), date_to: str = Query("", max_length=10),
                    direction: str = Query("", max_length=3), result: str = Query("", max_length=20),
                    per_page: int = Query(PAGE_SIZES[0]), page: int = Query(1, ge=1, le=10_000)) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    per_page = per_page if per_page in PAGE_SIZES else PAGE_SIZES[0]
    errors: FieldErrors = {}
    first, last = day_range(date_from, date_to, errors, locale)
    way = CallDirection(direction) if direction in {d.value for d in CallDirection} else None
    if direction and way is None:
        errors["direction"] = [_("Choose one of the listed values.")]
    outcome = Outcome(result) if result in {o.value for o in Outcome} else None
    disposition = Disposition(result) if result in {d.value for d in Disposition} else None
    if result and outcome is None and disposition is None:
        errors["result"] = [_("Choose one of the listed values.")]
    number = call_history.parse_number(phone) if phone.strip() else None
    values = {"phone": phone, "date_from": date_from, "date_to": date_to, "direction": direction, "result": result,
              "per_page": str(per_page)}
    rows: list[CallPublic] = []
    total, estimated, error = 0, False, None
    if not errors:
        filters = CallFilters(number=number, direction=way, disposition=disposition, outcome=outcome, date_from=first,
                              date_to=last)
        try:
            found = await call_history.history(session, actor, filters, Page(page, per_page), sees_pii(services, actor))
            await session.commit()  # the personal-data access log
            rows, total, estimated = found.items, found.total, found.total_is_estimate
        except HotlineError as exc:
            await session.rollback()
            error = refusal_sentence(exc, locale)
    query = urlencode({k: v for k, v in values.items() if v})
    return await render_signed_in(request, session, signed_in, "calls/list.html", 422 if errors else 200,
                                  title=_("Calls"), tab="list", rows=rows, total=total, total_is_estimate=estimated,
                                  page=page, pages=page_numbers(total, per_page), values=values, errors=errors,
                                  error=error, page_sizes=PAGE_SIZES, result_choices=_result_choices(_),
                                  pager_href=f"/calls?{query}&page=" if query else "/calls?page=",
                                  **call_helpers(locale))


async def _missed_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                       actor: Any, page: int, status_code: int = 200, notice: str | None = None,
                       error: str | None = None) -> HTMLResponse:
    locale = page_locale(request)
    _ = gettext_for(locale)
    pii = sees_pii(services, actor)
    found = await call_history.missed(session, actor, Page(page, MISSED_PER_PAGE), pii)
    await session.commit()  # the personal-data access log
    can_call = services.authorizer.decide(actor.roles, "calls", "write").allowed and pii
    return await render_signed_in(request, session, signed_in, "calls/missed.html", status_code, title=_("Calls"),
                                  tab="missed", rows=found.items, total=found.total,
                                  total_is_estimate=found.total_is_estimate, page=page,
                                  pages=page_numbers(found.total, MISSED_PER_PAGE), can_call=can_call,
                                  call_key=secrets.token_urlsafe(24), notice=notice, error=error,
                                  **call_helpers(locale))


@router.get("/calls/missed")
async def missed(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                 actor: Allowed("calls", "read"), page: int = Query(1, ge=1, le=400),
                 notice: str | None = Query(None, max_length=20)) -> Response:
    _ = gettext_for(page_locale(request))
    shown = _(CALLING) if notice == "calling" else None
    return await _missed_page(request, session, services, signed_in, actor, page, notice=shown)


@router.get("/calls/{call_id:int}")
async def call_detail(call_id: CallId, request: Request, session: SessionDep, services: ServicesDep,
                      signed_in: SignedInDep, actor: Allowed("calls", "read")) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    pii = sees_pii(services, actor)
    call = await call_history.get_call(session, actor, call_id, pii)
    await session.commit()  # the personal-data access log
    can_call = services.authorizer.decide(actor.roles, "calls", "write").allowed and pii
    can_report = services.authorizer.decide(actor.roles, "tickets", "write").allowed and pii
    report_href = "/desk/new/add?" + urlencode({"phone": call.citizen_number, "call": call.id})
    return await render_signed_in(request, session, signed_in, "calls/detail.html",
                                  title=_("Call {id}", id=call.id), tab="detail", call=call, pii=pii,
                                  can_call=can_call and call.direction == CallDirection.inbound,
                                  can_report=can_report, report_href=report_href,
                                  call_key=secrets.token_urlsafe(24), **call_helpers(locale))


@router.post("/calls/{call_id:int}/call-back")
async def call_back(call_id: CallId, request: Request, session: SessionDep, services: ServicesDep,
                    signed_in: SignedInDep, actor: Allowed("calls", "write")) -> Response:
    """Ring the agent's phone, then the citizen who called (a call-back of this call). Answers
    the message shown beside the button (htmx), or the missed calls' page with it."""
    form = await read_form(request)  # the CSRF check
    locale = page_locale(request)
    _ = gettext_for(locale)
    htmx = request.headers.get("HX-Request") == "true"
    key = form.get("idempotency_key", "")
    key = f"callback:{call_id}:{key}" if KEY.fullmatch(key) else f"callback:{call_id}:{secrets.token_urlsafe(16)}"
    error = None
    try:
        if not sees_pii(services, actor):  # the number to call is personal data
            raise Forbidden()
        call = await call_history.call_record(session, actor, call_id)
        await click_to_call(session, services, actor, number=call.citizen_number, key=key, callback_of_id=call.id)
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        error = refusal_sentence(exc, locale)
        if not htmx and exc.status_code in (403, 404):
            raise
    if htmx:
        return render(request, "calls/_call_back.html", status_code=200, error=error,
                      notice=None if error else _(CALLING))
    if error is None:
        return see_other("/calls/missed?notice=calling")
    return await _missed_page(request, session, services, signed_in, actor, 1, 422, error=error)
