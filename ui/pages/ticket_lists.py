"""Ticket lists (CRM-03, CRM-11) and the desk's spam, out-of-area and processed lists
(CRM-34…36): filters, keyset pages, htmx partial updates, and Excel exports of the selected
rows or of every row the filters match.

Which tickets a person sees and how personal data is masked come from core.services
(`tickets.visible_tickets`, `tickets.mask_pii`), exactly as in the API's list."""

# No `from __future__ import annotations`: the routes' dependency types are local to _register.
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep, sees_pii
from core.errors import HotlineError
from core.models.tickets import Channel, TicketStatus
from core.services import ticket_list
from core.services.actor import Actor
from core.services.tickets import LOCAL_TZ, TicketFilters
from reports.xlsx import XlsxTable
from ui import csrf
from ui.downloads import temporary_xlsx, xlsx_response
from ui.i18n import N_, Gettext, gettext_for, page_locale
from ui.labels import CHANNEL_LABELS, STATUS_LABELS
from ui.pages.common import page_router, render_signed_in
from ui.pages.ticket_list_columns import (
    export_columns,
    export_values,
    filter_options,
    options_html,
)
from ui.templating import render

router = page_router()

RESULTS_ID = "ticket-results"
PER_PAGE_CHOICES = (25, 50, 100)
MAX_SELECTED = 500


@dataclass(frozen=True)
class ListView:
    path: str
    title: str  # message id
    file_name: str  # message id: the export's file name, before the date
    statuses: tuple[TicketStatus, ...] = ()  # fixed statuses; () lets the person choose one
    action: str = "read"  # Casbin action on "tickets" the page needs


VIEWS = (
    ListView("/tickets", N_("Ticket list"), N_("Ticket list")),
    ListView("/desk/spam", N_("Spam reports"), N_("Spam reports"), (TicketStatus.spam,), "write"),
    ListView("/desk/out-of-area", N_("Out-of-area reports"), N_("Out-of-area reports"), (TicketStatus.out_of_area,),
             "write"),
    ListView("/desk/processed", N_("Processed reports"), N_("Processed reports"),
             (TicketStatus.resolved, TicketStatus.closed), "write"),
)


class TooManyRows(HotlineError):
    status_code = 422
    error_id = "export_too_large"
    message = N_("Too many reports to export ({count}); at most {limit}. Narrow the filters and try again.")


class NothingSelected(HotlineError):
    status_code = 422
    error_id = "nothing_selected"
    message = N_("Select at least one report to export.")


# ---- reading the filters from the query string ----

@dataclass
class ParsedQuery:
    filters: TicketFilters
    values: dict[str, str]  # what the form shows back, only the valid ones
    errors: dict[str, list[str]]
    per_page: int
    after: int | None
    before: int | None


def _int(raw: str | None) -> int | None:
    if raw and raw.isdigit() and len(raw) <= 10:
        return int(raw)
    return None


def parse_query(params: Mapping[str, str], view: ListView, _: Gettext) -> ParsedQuery:
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}

    def keep(name: str, value: object) -> None:
        if value not in (None, ""):
            values[name] = str(value.value if isinstance(value, TicketStatus | Channel) else value)

    q = (params.get("q") or "").strip()[:100] or None
    keep("q", q)
    statuses = view.statuses
    if not view.statuses and params.get("status") in TicketStatus.__members__:
        statuses = (TicketStatus(params["status"]),)
        keep("status", statuses[0])
    channel = Channel(params["channel"]) if params.get("channel") in {c.value for c in Channel} else None
    keep("channel", channel)
    ids = {name: _int(params.get(name)) for name in ("field", "area", "unit")}
    for name, value in ids.items():
        keep(name, value)
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        raw = (params.get(name) or "").strip()
        try:
            days[name] = date.fromisoformat(raw) if raw else None
            keep(name, raw)
        except ValueError:
            days[name] = None
            errors[name] = [_("Enter a date as dd/mm/yyyy.")]
    if days["from"] and days["to"] and days["from"] > days["to"]:
        errors["to"] = [_("The end date is before the start date.")]
        days["to"] = None
        values.pop("to", None)
    overdue = {"1": True, "0": False}.get(params.get("overdue") or "")
    keep("overdue", params.get("overdue") if overdue is not None else None)
    per_page = _int(params.get("per_page")) or 50
    per_page = per_page if per_page in PER_PAGE_CHOICES else 50
    if per_page != 50:
        keep("per_page", per_page)
    filters = TicketFilters(q=q, statuses=statuses, field_id=ids["field"], area_id=ids["area"], unit_id=ids["unit"],
                            channel=channel, created_from=days["from"], created_to=days["to"], overdue=overdue)
    return ParsedQuery(filters, values, errors, per_page, _int(params.get("after")), _int(params.get("before")))


def _url(path: str, values: Mapping[str, str], **extra: object) -> str:
    query = urlencode({**values, **{k: v for k, v in extra.items() if v is not None}})
    return f"{path}?{query}" if query else path




def local_time(value: datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") if value else ""


# ---- the page ----

async def show_list(view: ListView, request: Request, session: SessionDep, services: ServicesDep,
                    signed_in: SignedInDep, actor: Actor) -> Response:
    _ = gettext_for(page_locale(request))
    parsed = parse_query(request.query_params, view, _)
    if request.query_params.get("export") == "xlsx":
        return await export(view, request, session, services, actor, parsed.filters)
    page = await ticket_list.ticket_page(session, actor, parsed.filters, sees_pii(services, actor),
                                         per_page=parsed.per_page, after=parsed.after, before=parsed.before)
    await session.commit()  # the personal-data access log
    context: dict[str, Any] = {
        "view": view, "page": page, "values": parsed.values, "errors": parsed.errors, "results_id": RESULTS_ID,
        "status_labels": STATUS_LABELS, "channel_labels": CHANNEL_LABELS, "local_time": local_time,
        "page_url": lambda **extra: _url(view.path, parsed.values, **extra),
        "export_url": _url(view.path, parsed.values, export="xlsx"), "per_page_choices": PER_PAGE_CHOICES,
        "title": _(view.title),
    }
    partial = (request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == RESULTS_ID
               and request.headers.get("hx-history-restore-request") != "true")
    if partial:
        response: Response = render(request, "_ticket_results.html", **context)
    else:
        context["options"] = await filter_options(session, actor)
        context["options_html"] = options_html
        response = await render_signed_in(request, session, signed_in, "ticket_list.html", **context)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


async def export_selected(view: ListView, request: Request, session: SessionDep, services: ServicesDep,
                          actor: Actor) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    csrf.verify(request, fields)
    codes = sorted({c.strip() for c in form.getlist("code") if isinstance(c, str) and c.strip()})[:MAX_SELECTED]
    if not codes:
        raise NothingSelected()
    filters = TicketFilters(statuses=view.statuses)
    return await export(view, request, session, services, actor, filters, codes)


async def export(view: ListView, request: Request, session: SessionDep, services: ServicesDep, actor: Actor,
                 filters: TicketFilters, codes: list[str] | None = None) -> Response:
    """Writes the .xlsx to a temporary file chunk by chunk (the rows come from a server-side
    cursor), then streams it; the file is removed once sent."""
    locale = page_locale(request)
    _ = gettext_for(locale)
    count = await ticket_list.export_count(session, actor, filters, codes or ())
    if count > ticket_list.EXPORT_MAX_ROWS:
        raise TooManyRows(count=f"{count:,}".replace(",", "."),
                          limit=f"{ticket_list.EXPORT_MAX_ROWS:,}".replace(",", "."))
    pii = sees_pii(services, actor)
    with temporary_xlsx() as path:
        table = XlsxTable(path, _(view.title), export_columns(_), LOCAL_TZ)
        try:
            async for chunk in ticket_list.export_rows(session, actor, filters, pii, codes or ()):
                values = [export_values(row, _) for row in chunk]
                await asyncio.to_thread(table.write_rows, values)
        finally:
            await asyncio.to_thread(table.close)
        await ticket_list.log_export(session, actor, filters, table.rows, pii, selected=len(codes or ()))
        await session.commit()
    return xlsx_response(path, _(view.file_name))


def _register(view: ListView) -> None:
    Permitted = Allowed("tickets", view.action)

    async def list_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                        actor: Permitted) -> Response:  # type: ignore[valid-type]
        return await show_list(view, request, session, services, signed_in, actor)

    async def selected_export(request: Request, session: SessionDep, services: ServicesDep,
                              actor: Permitted) -> Response:  # type: ignore[valid-type]
        return await export_selected(view, request, session, services, actor)

    name = view.path.strip("/").replace("/", "_").replace("-", "_")
    router.add_api_route(view.path, list_page, methods=["GET"], name=f"{name}_list")
    router.add_api_route(view.path, selected_export, methods=["POST"], name=f"{name}_export_selected")


for _view in VIEWS:
    _register(_view)
