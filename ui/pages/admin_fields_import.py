"""CSV import of fields (CRM-21): the upload form with the file format and a sample file, and the
import job's page, whose progress bar htmx refreshes until the completion notice, the report of
refused rows and the new fields appear.

The file is checked as a whole while the upload request waits (type, size, header: the message
appears beside the file input); the rows are then checked and imported by a job running in this
server process, in one transaction (core.services.field_import). The job's state lives in memory
(`AppServices.extra`): it is only a progress display — if the server restarts mid-import the
transaction is rolled back and nothing was imported."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import col, select
from starlette.datastructures import UploadFile

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from api.services import AppServices
from core.db import unit_of_work
from core.errors import HotlineError, NotFound, human_size
from core.i18n import translate
from core.models import TicketField
from core.services import field_import, work_queue
from core.services.actor import Actor
from core.services.field_import import MAX_BYTES, MAX_ROWS, CsvRefused, Outcome, ParsedFile, Problem
from ui.forms import read_form
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in, see_other
from ui.templating import render

log = logging.getLogger(__name__)
router = page_router()
WRITE = ("fields", "write")
UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries and the other form fields
KEEP_JOBS, KEEP_SECONDS = 20, 3600
CHOOSE_FILE = N_("Choose a CSV file to import.")
NOT_LISTED = N_("Choose one of the listed options.")
INTERNAL = N_("Something went wrong on our side. The error was logged.")


@dataclass
class ImportJob:
    id: str
    owner_id: int | None
    filename: str
    area_id: int | None
    state: str = "queued"  # queued -> checking -> importing -> done | failed
    total: int = 0
    done: int = 0
    problems: list[Problem] = field(default_factory=list)
    outcome: Outcome | None = None
    error: str | None = None  # an English message id
    error_params: dict[str, object] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.state not in ("done", "failed")

    @property
    def percent(self) -> int:
        if not self.running:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def advance(self, done: int) -> None:
        self.done = done


class ImportJobs:
    """This process's import jobs; one import runs at a time (the others wait their turn)."""

    def __init__(self) -> None:
        self.jobs: dict[str, ImportJob] = {}
        self.turn = asyncio.Lock()

    def start(self, services: AppServices, actor: Actor, parsed: ParsedFile, filename: str,
              area_id: int | None) -> ImportJob:
        self._prune()
        job = ImportJob(secrets.token_urlsafe(12), actor.user_id, filename, area_id)
        self.jobs[job.id] = job
        job.task = asyncio.get_running_loop().create_task(self._run(job, services, actor, parsed))
        return job

    def get(self, job_id: str, owner_id: int | None) -> ImportJob | None:
        job = self.jobs.get(job_id)
        return job if job is not None and job.owner_id == owner_id else None

    def _prune(self) -> None:
        now = time.monotonic()
        finished = sorted((j for j in self.jobs.values() if not j.running), key=lambda j: j.started)
        for job in finished[:-KEEP_JOBS] + [j for j in finished if now - (j.finished or now) > KEEP_SECONDS]:
            self.jobs.pop(job.id, None)

    async def _run(self, job: ImportJob, services: AppServices, actor: Actor, parsed: ParsedFile) -> None:
        try:
            async with self.turn:
                job.state = "checking"
                async with unit_of_work(services.sessions) as session:
                    plan = await field_import.make_plan(session, parsed)
                    job.problems, job.total, job.state = plan.problems, plan.size, "importing"
                    job.outcome = await field_import.apply_plan(session, actor, plan, job.area_id, job.advance)
                job.state = "done"
        except HotlineError as exc:  # the transaction was rolled back: nothing was imported
            job.state, job.error, job.error_params, job.outcome = "failed", exc.message, exc.params, None
        except Exception:
            log.exception("field import failed", extra={"error_id": "internal_error"})
            job.state, job.error, job.outcome = "failed", INTERNAL, None
        finally:
            job.finished = time.monotonic()


def jobs_of(services: AppServices) -> ImportJobs:
    return services.extra.setdefault("field_imports", ImportJobs())  # type: ignore[no-any-return]


def job_of(services: AppServices, job_id: str | None, owner_id: int | None) -> ImportJob | None:
    return jobs_of(services).get(job_id or "", owner_id)


# ---- pages ----


async def _form(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                status_code: int = 200, **context: object) -> Response:
    _ = gettext_for(page_locale(request))
    return await render_signed_in(
        request, session, signed_in, "admin/fields/import.html", status_code, title=_("Import fields from a CSV file"),
        max_size=human_size(MAX_BYTES), max_rows=MAX_ROWS, columns=field_import.COLUMNS,
        area_choices=await work_queue.area_choices(session, str(services.settings.area_scheme.value)), **context)


@router.get("/admin/fields/import")
async def import_form(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                      actor: Allowed(*WRITE)) -> Response:
    return await _form(request, session, services, signed_in)


@router.get("/admin/fields/import/sample.csv")
async def sample(actor: Allowed(*WRITE)) -> Response:
    # With a byte order mark, so Excel opens the Vietnamese text as UTF-8.
    return Response(("\ufeff" + field_import.sample_csv()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="linh-vuc-mau.csv"'})


@router.post("/admin/fields/import")
async def upload(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                 actor: Allowed(*WRITE)) -> Response:
    locale = page_locale(request)
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_BYTES + UPLOAD_OVERHEAD:  # refused before reading the body
        message = translate("The file is too large: at most {limit}.", locale, limit=human_size(MAX_BYTES))
        return await _form(request, session, services, signed_in, 413, errors={"file": [message]})
    form = await read_form(request)
    upload_file = (await request.form()).get("file")
    area_value = form.get("area_id", "")
    areas = {a.value for a in await work_queue.area_choices(session, str(services.settings.area_scheme.value))}
    errors: dict[str, list[str]] = {}
    if area_value and area_value not in areas:
        errors["area_id"] = [translate(NOT_LISTED, locale)]
    if not isinstance(upload_file, UploadFile) or not upload_file.filename:
        errors["file"] = [translate(CHOOSE_FILE, locale)]
    else:
        try:
            parsed = field_import.read_csv(await upload_file.read(MAX_BYTES + 1), upload_file.filename)
        except CsvRefused as exc:
            errors["file"] = [translate(exc.message, locale, **exc.params)]
    if errors:
        return await _form(request, session, services, signed_in, 422, errors=errors, values={"area_id": area_value})
    job = jobs_of(services).start(services, actor, parsed, upload_file.filename,  # type: ignore[union-attr]
                                  int(area_value) if area_value else None)
    return see_other(f"/admin/fields/import/{job.id}")


@router.get("/admin/fields/import/{job_id}")
async def job_page(job_id: str, request: Request, session: SessionDep, services: ServicesDep,
                   signed_in: SignedInDep, actor: Allowed(*WRITE)) -> Response:
    """The job's state: the whole page, or (for htmx's polling) only its status block."""
    job = job_of(services, job_id, actor.user_id)
    if job is None:
        raise NotFound(N_("Field import"))
    _ = gettext_for(page_locale(request))
    fields = await _fields_of(session, job)
    parent_ids = {f.parent_id for f in fields if f.parent_id}
    parents = {f.id: f.code for f in (await session.exec(select(TicketField).where(
        col(TicketField.id).in_(parent_ids)))).all()} if parent_ids else {}
    context = {"job": job, "fields": fields, "parents": parents,
               "created": set(job.outcome.created if job.outcome else []),
               "problem_text": lambda p: _(p.message, **p.params)}
    if request.headers.get("hx-request") == "true":
        return render(request, "admin/fields/_import_status.html", **context)
    return await render_signed_in(request, session, signed_in, "admin/fields/import_job.html",
                                  title=_("Import of {file}", file=job.filename), **context)


async def _fields_of(session: SessionDep, job: ImportJob) -> list[TicketField]:
    """The fields the import created or updated, as they are now."""
    if job.outcome is None:
        return []
    ids = job.outcome.created + job.outcome.updated
    rows = (await session.exec(select(TicketField).where(col(TicketField.id).in_(ids)))).all() if ids else []
    return sorted(rows, key=lambda f: f.path)
