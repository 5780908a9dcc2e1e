"""The system log (audit_log) for administrators and inspectors: filters (who, action, object
type and ID, dates, text), keyset pages newest first, one entry's before/after as a readable
diff (a dialog, or a page without JavaScript), and an Excel export of the filtered entries.

Unmasked reads of personal data are logged entries like any other and show here (and can be
filtered on). The log can hold millions of rows: see core.services.audit for how a page stays
cheap (no count, indexed filters, a date range turned into an id range)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from api.deps import Allowed, SessionDep, SignedInDep
from core.errors import HotlineError, NotFound
from core.services import audit
from core.services.tickets import LOCAL_TZ
from reports.xlsx import XlsxTable
from ui.downloads import temporary_xlsx, xlsx_response
from ui.i18n import N_, Gettext, gettext_for, page_locale
from ui.pages.admin_audit_view import (
    ACTION_LABELS,
    ENTITY_LABELS,
    action_label,
    diff,
    entity_label,
    export_columns,
    export_values,
    is_pii,
    shown,
    summary,
)
from ui.pages.common import page_router, render_signed_in
from ui.templating import render

router = page_router()

BASE = "/admin/audit"
RESULTS_ID = "audit-results"
PER_PAGE = 50
PII = "pii"  # the action filter's choice for every kind of personal-data access
CODE = re.compile(r"^[a-z][a-z0-9_.]{0,49}$")

Reader = Allowed("audit", "read")


class TooManyEntries(HotlineError):
    status_code = 422
    error_id = "export_too_large"
    message = N_("More than {limit} entries match: narrow the filters (for example the dates) and export again.")


@dataclass
class ParsedQuery:
    values: dict[str, str]  # what the form shows back, only the valid ones
    errors: dict[str, list[str]]
    who: str | None
    actions: tuple[str, ...]
    entity: str | None
    entity_id: str | None
    day_from: date | None
    day_to: date | None
    text: str | None
    after: int | None
    before: int | None


def _int(raw: str | None) -> int | None:
    if raw and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


def parse_query(params: Mapping[str, str], _: Gettext) -> ParsedQuery:
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}

    def text(name: str, limit: int) -> str | None:
        value = (params.get(name) or "").replace("\x00", "").strip()[:limit] or None
        if value:
            values[name] = value
        return value

    who, entity_id, q = text("who", 64), text("entity_id", 64), text("q", 100)
    action = params.get("action") or ""
    actions: tuple[str, ...] = ()
    if action == PII:
        actions = audit.PII_ACTIONS
    elif CODE.match(action):
        actions = (action,)
    if actions:
        values["action"] = action
    entity = params.get("entity") if CODE.match(params.get("entity") or "") else None
    if entity:
        values["entity"] = entity
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        raw = (params.get(name) or "").strip()
        try:
            days[name] = date.fromisoformat(raw) if raw else None
            if raw:
                values[name] = raw
        except ValueError:
            days[name] = None
            errors[name] = [_("Enter a date as dd/mm/yyyy.")]
    if days["from"] and days["to"] and days["from"] > days["to"]:
        errors["to"] = [_("The end date is before the start date.")]
        days["to"] = None
        values.pop("to", None)
    return ParsedQuery(values, errors, who, actions, entity, entity_id, days["from"], days["to"], q,
                       _int(params.get("after")), _int(params.get("before")))


async def build_filters(session: SessionDep, parsed: ParsedQuery) -> audit.AuditFilters:
    """Local calendar days become an instant range; a person's name becomes their account ids."""
    at_from = datetime.combine(parsed.day_from, time.min, LOCAL_TZ) if parsed.day_from else None
    at_to = datetime.combine(parsed.day_to + timedelta(days=1), time.min, LOCAL_TZ) if parsed.day_to else None
    actor_ids = await audit.find_actor_ids(session, parsed.who) if parsed.who else None
    return audit.AuditFilters(actor_ids=actor_ids, actor_name=parsed.who, actions=parsed.actions, entity=parsed.entity,
                              entity_id=parsed.entity_id, at_from=at_from, at_to=at_to, text=parsed.text)


def _url(path: str, values: Mapping[str, str], **extra: object) -> str:
    query = urlencode({**values, **{k: v for k, v in extra.items() if v is not None}})
    return f"{path}?{query}" if query else path


def _helpers(_: Gettext) -> dict[str, Any]:
    def local_time(value: datetime | None) -> str:
        return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M:%S") if value else ""

    return {"local_time": local_time, "action_label": lambda a: action_label(a, _),
            "entity_label": lambda e: entity_label(e, _), "summary": lambda e: summary(e, _), "is_pii": is_pii,
            "diff": lambda e: diff(e, _), "shown": lambda v: shown(v, _), "base": BASE}


@router.get(BASE)
async def log_page(request: Request, session: SessionDep, signed_in: SignedInDep, actor: Reader) -> Response:
    _ = gettext_for(page_locale(request))
    parsed = parse_query(request.query_params, _)
    page: audit.AuditPage | None = None
    error = None
    try:
        page = await audit.browse(session, await build_filters(session, parsed), per_page=PER_PAGE,
                                  after=parsed.after, before=parsed.before)
        names = await audit.actor_names(session, {e.actor_id for e in page.entries if e.actor_id is not None})
    except audit.SearchTooSlow as exc:
        await session.rollback()
        error, names = _(exc.message), {}
    context: dict[str, Any] = {
        "page": page, "names": names, "values": parsed.values, "errors": parsed.errors, "error": error,
        "results_id": RESULTS_ID, "page_url": lambda **extra: _url(BASE, parsed.values, **extra),
        "export_url": _url(BASE + "/export", parsed.values), "title": _("System log"), **_helpers(_),
    }
    partial = (request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == RESULTS_ID
               and request.headers.get("hx-history-restore-request") != "true")
    status_code = 422 if error else 200
    if partial:
        response: Response = render(request, "admin/audit/_results.html", status_code, **context)
    else:
        entities = set(await audit.entity_types(session)) | set(ENTITY_LABELS)
        context["entity_choices"] = sorted(((e, entity_label(e, _)) for e in entities), key=lambda c: c[1].casefold())
        context["action_choices"] = [(PII, _("Any access to personal data"))] + sorted(
            ((a, _(label)) for a, label in ACTION_LABELS.items()), key=lambda c: c[1].casefold())
        response = await render_signed_in(request, session, signed_in, "admin/audit/list.html", status_code, **context)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@router.get(BASE + "/export")
async def export(request: Request, session: SessionDep, actor: Reader) -> Response:
    """The filtered entries as .xlsx, written to a temporary file chunk by chunk (rows from a
    server-side cursor), then streamed and removed. The export itself is logged."""
    locale = page_locale(request)
    _ = gettext_for(locale)
    parsed = parse_query(request.query_params, _)
    filters = await build_filters(session, parsed)
    if await audit.export_too_large(session, filters):
        raise TooManyEntries(limit=f"{audit.EXPORT_MAX_ROWS:,}".replace(",", "."))
    with temporary_xlsx() as path:
        table = XlsxTable(path, _("System log"), export_columns(_), LOCAL_TZ)
        names: dict[int, str] = {}
        try:
            async for chunk in audit.export_entries(session, filters):
                wanted = {e.actor_id for e in chunk if e.actor_id is not None} - set(names)
                names.update(await audit.actor_names(session, wanted))
                rows = [export_values(e, names.get(e.actor_id) if e.actor_id else None, _) for e in chunk]
                await asyncio.to_thread(table.write_rows, rows)
        finally:
            await asyncio.to_thread(table.close)
        await audit.record(session, actor, "audit.export", "audit_log", None,
                           after={"rows": table.rows, "filters": parsed.values})
        await session.commit()
    return xlsx_response(path, _("System log"))


@router.get(BASE + "/{entry_id}")
async def entry_detail(entry_id: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                       actor: Reader) -> Response:
    """One entry with its before/after (an htmx fragment for the dialog, or a page)."""
    _ = gettext_for(page_locale(request))
    ident = _int(entry_id)
    if ident is None or ident > 2**63 - 1:
        raise NotFound("Log entry")
    entry = await audit.get_entry(session, ident)
    names = await audit.actor_names(session, {entry.actor_id} if entry.actor_id else set())
    context = {"entry": entry, "names": names, **_helpers(_)}
    if request.headers.get("hx-request") == "true":
        return render(request, "admin/audit/_entry.html", **context)
    return await render_signed_in(request, session, signed_in, "admin/audit/entry.html",
                                  title=_("Log entry {id}", id=entry.id), **context)
