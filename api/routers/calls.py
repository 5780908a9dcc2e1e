"""The call history (CC-28, CC-36, CC-38, CRM-08), the missed calls waiting for a call-back
(CRM-07, CC-29), one call with its queue events, and its recording (CC-30).

Numbers are masked for roles without `pii` read; unmasked reads are logged. A recording is the
citizen's voice: it is served only to roles with `pii` read, and every download (each range
request of a player too) is written to the audit log. It is our copy of the file (the PBX's is
deleted once copied), served with HTTP Range (206, 416) by Starlette's FileResponse."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel

from api.deps import Allowed, ServicesDep, SessionDep, sees_pii
from api.schemas import ERROR_RESPONSES
from core.errors import Forbidden, HotlineError, ValidationFailed
from core.models.calls import CallDirection, Disposition
from core.services import audit, call_history
from core.services.call_history import CallDetail, CallPublic, Outcome
from core.services.crud import Page
from core.types import MAX_DB_ID

router = APIRouter(prefix="/api/v1/calls", tags=["calls"], responses=ERROR_RESPONSES)

# `:int` in the path: /calls/missed, and any fixed path another router adds, never reach these
CallId = Annotated[int, Path(ge=1, le=MAX_DB_ID)]


class NoRecording(HotlineError):
    status_code = 404
    error_id = "no_recording"
    message = "This call has no recording."


class RecordingMissing(HotlineError):
    status_code = 404
    error_id = "recording_missing"
    message = "The recording of this call is not available (the file is missing)."


class CallPageOut(BaseModel):
    total: int
    total_is_estimate: bool  # true: more than 10,000 match and `total` is the database's estimate
    page: int
    per_page: int
    pages: int
    items: list[CallPublic]


def page_of(page: int, per_page: int) -> Page:
    if per_page not in call_history.PAGE_SIZES:
        raise ValidationFailed(details=[{"field": "per_page", "message": "Must be one of: {expected}.",
                                         "params": {"expected": ", ".join(map(str, call_history.PAGE_SIZES))}}])
    return Page(page, per_page)


PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PerPage = Annotated[int, Query(description="25, 50 or 100")]


@router.get("", response_model=CallPageOut,
            summary="Call history, newest first, with the total and pages; filters by phone, local dates, direction, "
                    "disposition or answered/unanswered, queue and agent")
async def list_calls(
    actor: Allowed("calls", "read"), session: SessionDep, services: ServicesDep,
    phone: Annotated[str | None, Query(min_length=1, max_length=64,
                                       description="a number as typed ('+84 912 345 678', '0912.345.678')")] = None,
    date_from: Annotated[date | None, Query(description="first local day (YYYY-MM-DD), included")] = None,
    date_to: Annotated[date | None, Query(description="last local day (YYYY-MM-DD), included")] = None,
    direction: CallDirection | None = None, disposition: Disposition | None = None,
    outcome: Annotated[Outcome | None, Query(description="answered (answered, transferred) or unanswered")] = None,
    queue: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    agent_id: Annotated[int | None, Query(ge=1, le=MAX_DB_ID)] = None,
    page: PageNumber = 1, per_page: PerPage = 25,
) -> CallPageOut:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ValidationFailed(details=[{"field": "date_to", "message": "the last day is before the first day"}])
    number = call_history.parse_number(phone) if phone is not None and phone.strip() else None
    if phone is not None and number is None:
        raise ValidationFailed(details=[{"field": "phone", "message": "empty"}])
    filters = call_history.CallFilters(number=number, direction=direction, disposition=disposition, outcome=outcome,
                                       queue=queue, agent_id=agent_id, date_from=date_from, date_to=date_to)
    result = await call_history.history(session, actor, filters, page_of(page, per_page), sees_pii(services, actor))
    await session.commit()  # the personal-data access log
    return CallPageOut(**vars(result))


@router.get("/missed", response_model=CallPageOut,
            summary="Missed inbound calls not yet called back, newest first, each with how many such calls its "
                    "number made")
async def missed_calls(actor: Allowed("calls", "read"), session: SessionDep, services: ServicesDep,
                       page: PageNumber = 1, per_page: PerPage = 25) -> CallPageOut:
    result = await call_history.missed(session, actor, page_of(page, per_page), sees_pii(services, actor))
    await session.commit()  # the personal-data access log
    return CallPageOut(**vars(result))


@router.get("/{call_id:int}", response_model=CallDetail,
            summary="One call with its queue events; reading its unmasked number is logged")
async def get_call(call_id: CallId, actor: Allowed("calls", "read"), session: SessionDep,
                   services: ServicesDep) -> CallDetail:
    out = await call_history.get_call(session, actor, call_id, sees_pii(services, actor))
    await session.commit()  # the personal-data access log
    return out


@router.get("/{call_id:int}/recording", response_class=FileResponse,
            responses={200: {"content": {"audio/wav": {}}, "description": "the recording (WAV)"},
                       206: {"content": {"audio/wav": {}}, "description": "the requested byte range"},
                       416: {"description": "the range is outside the file"}},
            summary="The call's recording (WAV) with HTTP Range; every download is logged as personal data")
async def get_recording(call_id: CallId, actor: Allowed("calls", "read"), session: SessionDep,
                        services: ServicesDep,
                        download: Annotated[bool, Query(description="as an attachment (a file to save)")] = False,
                        ) -> FileResponse:
    if not sees_pii(services, actor):
        raise Forbidden()
    call = await call_history.call_record(session, actor, call_id)
    if not call.recording_file:
        raise NoRecording()
    path = call_history.recording_path(services.settings, call)
    if path is None or not path.is_file():
        raise RecordingMissing()
    await audit.record(session, actor, "call.recording", "call", call_id)
    await session.commit()
    return FileResponse(path, media_type="audio/wav", filename=f"call-{call_id}.wav",
                        content_disposition_type="attachment" if download else "inline",
                        headers={"Cache-Control": "private, no-store"})
