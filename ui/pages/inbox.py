"""My tasks (INBOX; CRM-13…19, 38): my tasks and my unit's with counts, claim / release, and
each task's form drawn from its BPMN `form_schema`; a submitted form completes the task through
the ticket's workflow, as the API does (api.lifecycle.complete_inbox_task)."""

from __future__ import annotations

from typing import Literal

from fastapi import Query, Request
from fastapi.responses import Response

from api import lifecycle
from api.deps import Allowed, PathId, ServicesDep, SessionDep, SignedInDep
from core.errors import HotlineError, StaleVersion, ValidationFailed
from core.services import inbox
from core.services.crud import Page
from ui.forms import local_path, read_form, refusal
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in, see_other
from ui.pages.work import TaskView, page_numbers, task_view, template_helpers
from ui.task_forms import engine_refusal, initial_values, read_data

router = page_router()

PER_PAGE = 25
NOTICES = {
    "done": N_("The task was completed."),
    "claimed": N_("You took the task."),
    "released": N_("You gave the task back to your unit."),
}


@router.get("/inbox")
async def inbox_page(request: Request, session: SessionDep, signed_in: SignedInDep, actor: Allowed("inbox", "read"),
                     view: Literal["all", "mine"] = "all", page: int = Query(1, ge=1, le=10_000),
                     notice: str | None = None) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    result = await inbox.list_inbox(session, actor, Page(page, PER_PAGE), mine_only=view == "mine")
    counts = await inbox.inbox_counts(session, actor)
    message = NOTICES.get(notice or "")
    return await render_signed_in(request, session, signed_in, "work/inbox.html", title=_("My tasks"),
                                  items=result.items, total=result.total, page=page,
                                  pages=page_numbers(result.total, PER_PAGE), view=view, counts=counts,
                                  me=actor.user_id, roles=actor.roles, notice=_(message) if message else None,
                                  **template_helpers(locale))


async def _task_page(request: Request, session: SessionDep, signed_in: SignedInDep, view: TaskView,
                     status_code: int = 200, **context: object) -> Response:
    locale = page_locale(request)
    return await render_signed_in(request, session, signed_in, "work/task.html", status_code, title=view.label,
                                  view=view, initial=initial_values(view.fields), **template_helpers(locale), **context)


@router.get("/inbox/{task_id}")
async def task_page(task_id: PathId, request: Request, session: SessionDep, signed_in: SignedInDep,
                    actor: Allowed("inbox", "write"), next: str | None = None, notice: str | None = None) -> Response:
    locale = page_locale(request)
    view = await task_view(session, actor, task_id, locale)
    message = NOTICES.get(notice or "")
    return await _task_page(request, session, signed_in, view, next=local_path(next, "/inbox"),
                            notice=gettext_for(locale)(message) if message else None)


@router.post("/inbox/{task_id}")
async def task_submit(task_id: PathId, request: Request, session: SessionDep, services: ServicesDep,
                      signed_in: SignedInDep, actor: Allowed("inbox", "write")) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    target = local_path(form.get("next"), "/inbox")
    view = await task_view(session, actor, task_id, locale)
    data, errors = read_data(view.fields, form, locale)
    values = {f.name: form.get(f.name, "") for f in view.fields}
    if errors:
        return await _task_page(request, session, signed_in, view, 422, values=values, errors=errors, next=target)
    try:
        await lifecycle.complete_inbox_task(session, services, actor, task_id, data)
    except ValidationFailed as exc:  # the engine refused the form: say where, in the page's language
        details = exc.details if isinstance(exc.details, list) else []
        said = " ".join(str(d.get("message", "")) for d in details if isinstance(d, dict))
        errors, general = engine_refusal(said, view.fields, locale)
        return await _task_page(request, session, signed_in, view, 422, values=values, errors=errors, error=general,
                                next=target)
    except HotlineError as exc:  # 403 another unit's or person's task, 409 already done, 503 no engine
        return await _task_page(request, session, signed_in, view, exc.status_code, values=values,
                                error=refusal(exc, locale), next=target)
    return see_other(_with_notice(target, "done"))


def _with_notice(path: str, notice: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}notice={notice}"


async def _claim_or_release(request: Request, session: SessionDep, actor: object, task_id: int, claim: bool) -> Response:
    form = await read_form(request)
    target = local_path(form.get("next"), "/inbox")
    version = form.get("version", "")
    if not version.isdigit() or not 1 <= int(version) <= 2_147_483_647:
        raise StaleVersion("task")
    if claim:
        await inbox.claim(session, actor, task_id, int(version))  # type: ignore[arg-type]
    else:
        await inbox.release(session, actor, task_id, int(version))  # type: ignore[arg-type]
    await session.commit()
    return see_other(_with_notice(target, "claimed" if claim else "released"))


@router.post("/inbox/{task_id}/claim")
async def claim(task_id: PathId, request: Request, session: SessionDep, actor: Allowed("inbox", "write")) -> Response:
    return await _claim_or_release(request, session, actor, task_id, claim=True)


@router.post("/inbox/{task_id}/release")
async def release(task_id: PathId, request: Request, session: SessionDep, actor: Allowed("inbox", "write")) -> Response:
    return await _claim_or_release(request, session, actor, task_id, claim=False)
