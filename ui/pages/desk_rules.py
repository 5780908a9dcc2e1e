"""Auto-dispatch rules at the desk (CRM-37): the list, the add and edit forms, switching a rule
on or off in place (htmx; a plain form post without JavaScript) and deleting after a confirmation.

A rule sends a new report whose field and area match it straight to a unit. Every change goes
through core.services.dispatch_rules, as the JSON API's (api/routers/dispatch_rules.py) does:
the same validation, the same audit entries. Coordinators read and write; inspectors read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from core.errors import HotlineError, NotFound
from core.i18n import translate
from core.models.tickets import AutoDispatchRuleCreate, AutoDispatchRulePublic, AutoDispatchRuleUpdate
from core.services import dispatch_rules, work_queue
from core.services.actor import Actor
from core.services.crud import Page
from core.types import MAX_DB_ID
from ui.forms import FieldErrors, failed_fields, invalid_fields, read_form
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in, see_other
from ui.pages.desk_rules_choices import area_options, field_groups, rule_names, unit_options
from ui.pages.work import page_numbers
from ui.templating import render

router = page_router()

BASE = "/desk/dispatch-rules"
PER_PAGE = 50
FORM_FIELDS = ("name", "area_id", "unit_id", "priority")
DEFAULT_PRIORITY = "100"
MAX_FIELDS = 50  # AutoDispatchRuleCreate.field_ids
MAX_PRIORITY = 10_000  # AutoDispatchRuleCreate.priority
CHOOSE_LISTED = N_("Choose one of the listed options.")
TOO_MANY_FIELDS = N_("Choose at most {limit} fields.")
BAD_PRIORITY = N_("Enter a whole number from 0 to {limit}.")
DONE = {
    "created": N_("The rule was added."),
    "saved": N_("The rule was saved."),
    "deleted": N_("The rule was deleted."),
    "on": N_("The rule was switched on."),
    "off": N_("The rule was switched off."),
}
TOGGLED = {True: N_("Rule {name} is switched on."), False: N_("Rule {name} is switched off.")}

Reader = Allowed("dispatch_rules", "read")
Writer = Allowed("dispatch_rules", "write")


def _id(raw: str | None) -> int | None:
    if raw and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) <= MAX_DB_ID:
        return int(raw)
    return None


def _rule_id(raw: str) -> int:
    """A rule id from the path; anything else is the page's 404 (never a 422 or a 500)."""
    rule_id = _id(raw)
    if rule_id is None:
        raise NotFound("Dispatch rule")
    return rule_id


def can_edit(services: ServicesDep, actor: Actor) -> bool:
    return services.authorizer.decide(actor.roles, "dispatch_rules", "write").allowed


# ---- the list ----

def _filters(params: Mapping[str, str]) -> dict[str, str]:
    """The list's filters as the form shows them back (only valid values)."""
    values: dict[str, str] = {}
    q = (params.get("q") or "").strip()[:100]
    if q:
        values["q"] = q
    for name in ("field", "unit"):
        if _id(params.get(name)) is not None:
            values[name] = params[name]
    if params.get("state") in ("on", "off"):
        values["state"] = params["state"]
    return values


@router.get(BASE)
async def rule_list(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                    actor: Reader) -> Response:
    _ = gettext_for(page_locale(request))
    done = request.query_params.get("done")
    return await _list_page(request, session, services, signed_in, actor,
                            notice=_(DONE[done]) if done in DONE else None)


async def _list_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                     actor: Actor, status_code: int = 200, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    values = _filters(request.query_params)
    page = min(_id(request.query_params.get("page")) or 1, 10_000)
    result = await dispatch_rules.list_rules(
        session, Page(page, PER_PAGE), field_id=_id(values.get("field")), unit_id=_id(values.get("unit")),
        active={"on": True, "off": False}.get(values.get("state", "")), q=values.get("q"))
    return await render_signed_in(
        request, session, signed_in, "desk_rules/list.html", status_code, title=_("Auto-dispatch rules"),
        **await _list_context(session, services, actor, result.items), values=values, total=result.total, page=page,
        pages=page_numbers(result.total, PER_PAGE), page_href=f"{BASE}?{urlencode({**values, 'page': ''})}",
        filtered=bool(values), field_filter=await work_queue.field_choices(session),
        unit_filter=[choice for choice, _active in await unit_options(session)], **context)


async def _list_context(session: SessionDep, services: ServicesDep, actor: Actor,
                        rules: list[AutoDispatchRulePublic]) -> dict[str, Any]:
    return {"rules": rules, "names": await rule_names(session, rules), "can_edit": can_edit(services, actor),
            "base": BASE}


# ---- switching a rule on or off ----

@router.post(BASE + "/{rule_id}/active")
async def toggle(rule_id: str, request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                 actor: Writer) -> Response:
    """Sets the state the button asked for (not a blind flip: a double click cannot undo itself)."""
    ident = _rule_id(rule_id)
    form = await read_form(request)
    locale = page_locale(request)
    _ = gettext_for(locale)
    wanted = form.get("active") == "1"
    htmx = request.headers.get("hx-request") == "true"
    try:
        rule = await dispatch_rules.update_rule(session, actor, ident, AutoDispatchRuleUpdate(active=wanted))
        await session.commit()
    except NotFound:
        raise
    except HotlineError as exc:
        await session.rollback()
        errors, general = failed_fields(exc, locale)
        message = " ".join([m for messages in errors.values() for m in messages] + ([general] if general else []))
        if htmx:
            current = await dispatch_rules.get_rule(session, ident)
            return render(request, "desk_rules/_row.html", exc.status_code, rule=current, row_error=message,
                          **await _list_context(session, services, actor, [current]))
        return await _list_page(request, session, services, signed_in, actor, exc.status_code, error=message)
    if not htmx:
        return see_other(f"{BASE}?done={'on' if wanted else 'off'}")
    response = render(request, "desk_rules/_row.html", rule=rule, row_error=None,
                      **await _list_context(session, services, actor, [rule]))
    # ASCII JSON: a header cannot carry Vietnamese letters as they are
    response.headers["HX-Trigger"] = json.dumps({"rule-toggled": {"message": _(TOGGLED[wanted], name=rule.name)}})
    return response


# ---- add and edit ----

def _submitted(form: dict[str, str], field_ids: list[str], locale: str) -> tuple[dict[str, Any], FieldErrors]:
    """The rule's data from the form, and the errors found before the model sees it (in the
    page's words: the model's own messages for these cases are not translated)."""
    errors: FieldErrors = {}
    data: dict[str, Any] = {"name": form.get("name", "").strip(), "active": form.get("active") == "1"}
    ids = [_id(raw) for raw in field_ids]
    if any(i is None for i in ids):
        errors["field_ids"] = [translate(CHOOSE_LISTED, locale)]
    data["field_ids"] = sorted({i for i in ids if i is not None})
    if len(data["field_ids"]) > MAX_FIELDS:
        errors["field_ids"] = [translate(TOO_MANY_FIELDS, locale, limit=MAX_FIELDS)]
    for name in ("area_id", "unit_id"):
        raw = form.get(name, "").strip()
        data[name] = _id(raw) if raw else None
        if raw and data[name] is None:
            errors[name] = [translate(CHOOSE_LISTED, locale)]
    if data["unit_id"] is None and "unit_id" not in errors:
        errors["unit_id"] = [translate("This field is required.", locale)]
    priority = form.get("priority", "").strip() or DEFAULT_PRIORITY
    data["priority"] = priority
    if priority.isdigit() and len(priority) <= 5 and int(priority) <= MAX_PRIORITY:
        data["priority"] = int(priority)
    else:
        errors["priority"] = [translate(BAD_PRIORITY, locale, limit=f"{MAX_PRIORITY:,}".replace(",", "."))]
    return data, errors


def _values(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the form shows: text for the inputs, ids for the pickers."""
    return {"name": data.get("name") or "", "field_ids": {int(i) for i in data.get("field_ids") or ()},
            "area_id": "" if data.get("area_id") is None else str(data["area_id"]),
            "unit_id": "" if data.get("unit_id") is None else str(data["unit_id"]),
            "priority": str(data.get("priority", DEFAULT_PRIORITY)), "active": bool(data.get("active", True))}


async def _form_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                     rule: AutoDispatchRulePublic | None, values: dict[str, Any], status_code: int = 200,
                     **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    area = _id(values.get("area_id")) if values.get("area_id") else None
    unit = _id(values.get("unit_id")) if values.get("unit_id") else None
    title = _("Edit rule {name}", name=rule.name) if rule else _("Add an auto-dispatch rule")
    return await render_signed_in(
        request, session, signed_in, "desk_rules/form.html", status_code, title=title, rule=rule, values=values,
        base=BASE, action=f"{BASE}/{rule.id}/edit" if rule else f"{BASE}/new",
        groups=await field_groups(session, values["field_ids"]),
        areas=await area_options(session, str(services.settings.area_scheme.value), area),
        units=await unit_options(session, unit), **context)


@router.get(BASE + "/new")
async def add_form(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                   actor: Writer) -> Response:
    return await _form_page(request, session, services, signed_in, None,
                            _values({"active": True, "priority": DEFAULT_PRIORITY}))


@router.post(BASE + "/new")
async def add_submit(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                     actor: Writer) -> Response:
    return await _save(request, session, services, signed_in, actor, None)


@router.get(BASE + "/{rule_id}/edit")
async def edit_form(rule_id: str, request: Request, session: SessionDep, services: ServicesDep,
                    signed_in: SignedInDep, actor: Writer) -> Response:
    rule = await dispatch_rules.get_rule(session, _rule_id(rule_id))
    return await _form_page(request, session, services, signed_in, rule, _values(rule.model_dump()))


@router.post(BASE + "/{rule_id}/edit")
async def edit_submit(rule_id: str, request: Request, session: SessionDep, services: ServicesDep,
                      signed_in: SignedInDep, actor: Writer) -> Response:
    rule = await dispatch_rules.get_rule(session, _rule_id(rule_id))
    return await _save(request, session, services, signed_in, actor, rule)


async def _save(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep, actor: Actor,
                rule: AutoDispatchRulePublic | None) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    field_ids = [v for v in (await request.form()).getlist("field_ids") if isinstance(v, str)]  # parsed once already
    data, errors = _submitted(form, field_ids, locale)
    values = _values(data)
    model = AutoDispatchRuleUpdate if rule else AutoDispatchRuleCreate
    body = None
    try:
        body = model.model_validate({k: v for k, v in data.items() if k not in errors})
    except ValidationError as exc:
        for name, messages in invalid_fields(exc, locale).items():
            if name not in errors:  # one message per field: the page's own check said it first
                errors[name] = messages
    if errors or body is None:
        return await _form_page(request, session, services, signed_in, rule, values, 422, errors=errors)
    try:
        if rule is None:
            saved = await dispatch_rules.create_rule(session, actor, body)  # type: ignore[arg-type]
        else:
            saved = await dispatch_rules.update_rule(session, actor, rule.id, body)  # type: ignore[arg-type]
        await session.commit()
    except NotFound:
        raise
    except HotlineError as exc:
        await session.rollback()
        field_errors, general = failed_fields(exc, locale)
        return await _form_page(request, session, services, signed_in, rule, values, exc.status_code,
                                errors=field_errors, error=general)
    return see_other(f"{BASE}?{urlencode({'done': 'saved' if rule else 'created'})}#rule-{saved.id}")


# ---- delete ----

@router.get(BASE + "/{rule_id}/delete")
async def delete_confirm(rule_id: str, request: Request, session: SessionDep, services: ServicesDep,
                         signed_in: SignedInDep, actor: Writer) -> Response:
    """The confirmation as a page (the list asks in a dialog when JavaScript runs)."""
    _ = gettext_for(page_locale(request))
    rule = await dispatch_rules.get_rule(session, _rule_id(rule_id))
    return await render_signed_in(request, session, signed_in, "desk_rules/delete.html",
                                  title=_("Delete rule {name}", name=rule.name), rule=rule, base=BASE,
                                  names=await rule_names(session, [rule]))


@router.post(BASE + "/{rule_id}/delete")
async def delete_submit(rule_id: str, request: Request, session: SessionDep, actor: Writer) -> Response:
    await read_form(request)
    await dispatch_rules.delete_rule(session, actor, _rule_id(rule_id))
    await session.commit()
    return see_other(f"{BASE}?done=deleted")
