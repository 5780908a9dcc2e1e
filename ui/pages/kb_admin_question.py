"""A question's page in the knowledge base's administration (KB-05…09, 12…20): its fields (title,
type, status, area, field, source, agency), its answers with adding, editing, hiding or
publishing and deleting (confirmed), and each answer's files: upload (type and size read from the
bytes, refusals beside the field in the page's language), download, removal.

The same use cases as the JSON API, in the same order: change, commit, then ask the worker to
index (attachments, which the search does not read, are not re-indexed there either)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from api import uploads
from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from api.routers.attachments import get_store
from api.search import request_indexing
from core.errors import HotlineError, PayloadTooLarge, TooManyAttachments, UnsupportedFileType, ValidationFailed
from core.i18n import translate
from core.models.kb import KbAnswerUpdate, KbStatus
from core.services import kb
from ui import csrf
from ui.forms import FieldErrors, failed_fields, read_form
from ui.i18n import N_, gettext_for, page_locale
from ui.pages import kb_admin_view as view
from ui.pages.common import page_router, render_signed_in, see_other
from ui.pages.kb_admin_forms import answer_values, question_values, read_answer, read_question_update

router = page_router()

BASE = "/admin/kb"
TOO_MANY_FILES = N_("An answer can have at most {limit} files.")
DONE = {
    "created": N_("The question was added. It is searchable within seconds."),
    "saved": N_("The question was saved."),
    "answer_added": N_("The answer was added."),
    "answer_saved": N_("The answer was saved."),
    "answer_hidden": N_("The answer was hidden: citizens no longer see it."),
    "answer_published": N_("The answer was published."),
    "answer_deleted": N_("The answer was deleted."),
    "uploaded": N_("The file was attached."),
    "same": N_("This file was already attached to the answer."),
    "file_removed": N_("The file was removed."),
}

Editor = Allowed("kb", "write")


def _href(question_id: int, done: str, anchor: str = "") -> str:
    return f"{BASE}/{question_id}?done={done}" + (f"#{anchor}" if anchor else "")


async def _page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                question_id: int, status_code: int = 200, failed: str | None = None,
                values: dict[str, str] | None = None, errors: FieldErrors | None = None, **context: Any) -> Response:
    """The page; after a refusal, `failed` names the form (question, new-answer, answer-<id>,
    file-<id>) that shows `values` and `errors`, while every other form shows what is stored."""
    _ = gettext_for(page_locale(request))
    question = await kb.question_detail(session, question_id)
    names = await view.kb_names(session, [question.area_id], [question.field_id])
    return await render_signed_in(
        request, session, signed_in, "kb/question.html", status_code, title=question.title, question=question,
        names=names, base=BASE, failed=failed, form_values=values or {}, form_errors=errors or {},
        stored=question_values(question), answer_values=answer_values,
        areas=await view.area_choices(session, services, question.area_id), fields=await view.field_choices(session),
        max_upload=services.settings.attachment_max_bytes,
        **view.helpers(_), **context)


async def _refused(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                   question_id: int, failed: str, values: dict[str, str], exc: HotlineError) -> Response:
    await session.rollback()
    errors, general = failed_fields(exc, page_locale(request))
    return await _page(request, session, services, signed_in, question_id, exc.status_code, failed, values, errors,
                       error=general)


@router.get(BASE + "/{question_id}")
async def question_page(question_id: str, request: Request, session: SessionDep, services: ServicesDep,
                        signed_in: SignedInDep, actor: Editor) -> Response:
    _ = gettext_for(page_locale(request))
    done = request.query_params.get("done")
    return await _page(request, session, services, signed_in, view.path_id(question_id),
                       notice=_(DONE[done]) if done in DONE else None)


@router.post(BASE + "/{question_id}/edit")
async def question_edit(question_id: str, request: Request, session: SessionDep, services: ServicesDep,
                        signed_in: SignedInDep, actor: Editor) -> Response:
    ident = view.path_id(question_id)
    form = await read_form(request)
    current = await kb.get_question(session, ident)
    areas = {c.value for c in await view.area_choices(session, services, current.area_id)}
    fields = {c.value for c in await view.field_choices(session)}
    body, errors = read_question_update(form, areas, fields, page_locale(request))
    values = {k: form.get(k, "") for k in ("title", "type_doc", "status", "area_id", "field_id", "source", "agency")}
    if body is None:
        return await _page(request, session, services, signed_in, ident, 422, "question", values, errors)
    try:
        question = await kb.update_question(session, actor, ident, body)
        await session.commit()
    except HotlineError as exc:
        return await _refused(request, session, services, signed_in, ident, "question", values, exc)
    await request_indexing(services, question)
    return see_other(_href(ident, "saved"))


# ---- answers ----

@router.post(BASE + "/{question_id}/answers")
async def answer_add(question_id: str, request: Request, session: SessionDep, services: ServicesDep,
                     signed_in: SignedInDep, actor: Editor) -> Response:
    ident = view.path_id(question_id)
    form = await read_form(request)
    await kb.get_question(session, ident)
    body, errors = read_answer(form, page_locale(request), new=True)
    values = {k: form.get(k, "") for k in ("heading", "content", "status")}
    if body is None:
        return await _page(request, session, services, signed_in, ident, 422, "new-answer", values, errors)
    try:
        answer = await kb.add_answer(session, actor, ident, body)
        await session.commit()
    except HotlineError as exc:
        return await _refused(request, session, services, signed_in, ident, "new-answer", values, exc)
    await request_indexing(services, await kb.get_question(session, ident))
    return see_other(_href(ident, "answer_added", f"answer-{answer.id}"))


@router.post(BASE + "/{question_id}/answers/{answer_id}/edit")
async def answer_edit(question_id: str, answer_id: str, request: Request, session: SessionDep,
                      services: ServicesDep, signed_in: SignedInDep, actor: Editor) -> Response:
    ident, answer_ident = view.path_id(question_id), view.path_id(answer_id, "Answer")
    form = await read_form(request)
    await kb.get_answer(session, ident, answer_ident)
    body, errors = read_answer(form, page_locale(request), new=False)
    failed = f"answer-{answer_ident}"
    values = {k: form.get(k, "") for k in ("heading", "content", "status", "position")}
    if body is None:
        return await _page(request, session, services, signed_in, ident, 422, failed, values, errors)
    try:
        await kb.update_answer(session, actor, ident, answer_ident, body)
        await session.commit()
    except HotlineError as exc:
        return await _refused(request, session, services, signed_in, ident, failed, values, exc)
    await request_indexing(services, await kb.get_question(session, ident))
    return see_other(_href(ident, "answer_saved", failed))


@router.post(BASE + "/{question_id}/answers/{answer_id}/status")
async def answer_status(question_id: str, answer_id: str, request: Request, session: SessionDep,
                        services: ServicesDep, actor: Editor) -> Response:
    """Sets the state the button asked for (not a blind flip: a double click cannot undo itself)."""
    ident, answer_ident = view.path_id(question_id), view.path_id(answer_id, "Answer")
    form = await read_form(request)
    wanted = KbStatus.published if form.get("status") == KbStatus.published else KbStatus.hidden
    await kb.update_answer(session, actor, ident, answer_ident, KbAnswerUpdate(status=wanted))
    await session.commit()
    await request_indexing(services, await kb.get_question(session, ident))
    done = "answer_published" if wanted == KbStatus.published else "answer_hidden"
    return see_other(_href(ident, done, f"answer-{answer_ident}"))


@router.get(BASE + "/{question_id}/answers/{answer_id}/delete")
async def answer_delete_confirm(question_id: str, answer_id: str, request: Request, session: SessionDep,
                                signed_in: SignedInDep, actor: Editor) -> Response:
    _ = gettext_for(page_locale(request))
    ident, answer_ident = view.path_id(question_id), view.path_id(answer_id, "Answer")
    answer = await kb.get_answer(session, ident, answer_ident)
    label = answer.heading or answer.content[:80]
    return await render_signed_in(
        request, session, signed_in, "kb/confirm.html", title=_("Delete the answer?"), heading=_("Delete the answer?"),
        back=f"{BASE}/{ident}#answer-{answer_ident}", action=f"{BASE}/{ident}/answers/{answer_ident}/delete",
        text=_("Answer “{name}” and its files will be deleted. This cannot be undone.", name=label))


@router.post(BASE + "/{question_id}/answers/{answer_id}/delete")
async def answer_delete(question_id: str, answer_id: str, request: Request, session: SessionDep,
                        services: ServicesDep, actor: Editor) -> Response:
    ident, answer_ident = view.path_id(question_id), view.path_id(answer_id, "Answer")
    await read_form(request)
    await kb.delete_answer(session, actor, ident, answer_ident)
    await session.commit()
    await request_indexing(services, await kb.get_question(session, ident))
    return see_other(_href(ident, "answer_deleted", "answers"))


# ---- files of an answer ----

def _upload_message(exc: HotlineError, locale: str) -> str:
    if isinstance(exc, TooManyAttachments):
        return translate(TOO_MANY_FILES, locale, **exc.params)
    if isinstance(exc, ValidationFailed) and exc.details:
        return " ".join(translate(str(d.get("message", "")), locale) for d in exc.details if isinstance(d, dict))
    return translate(exc.message, locale, **exc.params)


@router.post(BASE + "/{question_id}/answers/{answer_id}/attachments")
async def attachment_upload(question_id: str, answer_id: str, request: Request, session: SessionDep,
                            services: ServicesDep, signed_in: SignedInDep, actor: Editor) -> Response:
    # The body is streamed to the store, never parsed as a whole form: the CSRF token comes in
    # the form's address (as on the ticket page).
    csrf.verify(request, request.query_params)
    ident, answer_ident = view.path_id(question_id), view.path_id(answer_id, "Answer")
    max_bytes = services.settings.attachment_max_bytes
    await kb.get_answer(session, ident, answer_ident)
    await session.commit()  # no pooled connection waits while the bytes arrive
    store = await get_store(services)
    try:
        incoming = await uploads.single_file(request, "file", max_bytes)
        _attachment, created = await kb.add_attachment(session, actor, store, ident, answer_ident, incoming.filename,
                                                       incoming.chunks, max_bytes=max_bytes)
        await session.commit()
    except (UnsupportedFileType, PayloadTooLarge, TooManyAttachments, ValidationFailed) as exc:
        await session.rollback()
        return await _page(request, session, services, signed_in, ident, exc.status_code, f"file-{answer_ident}", {},
                           {"file": [_upload_message(exc, page_locale(request))]})
    return see_other(_href(ident, "uploaded" if created else "same", f"answer-{answer_ident}"))


@router.post(BASE + "/{question_id}/answers/{answer_id}/attachments/{attachment_id}/delete")
async def attachment_delete(question_id: str, answer_id: str, attachment_id: str, request: Request,
                            session: SessionDep, actor: Editor) -> Response:
    ident, answer_ident = view.path_id(question_id), view.path_id(answer_id, "Answer")
    await read_form(request)
    await kb.delete_attachment(session, actor, ident, answer_ident, view.path_id(attachment_id, "Attachment"))
    await session.commit()
    return see_other(_href(ident, "file_removed", f"answer-{answer_ident}"))
