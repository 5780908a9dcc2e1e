"""Ticket attachments: upload (streamed, size and type checked, stored once by checksum), list
and download. Authorization and unit scoping are the ticket's: whoever may not see the ticket
gets 404 for its attachments too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import StreamingResponse

from api import uploads
from api.deps import Allowed, PathId, ServicesDep, SessionDep
from api.routers.tickets import TicketCode
from api.schemas import ERROR_RESPONSES, ErrorOut
from core.attachment_store import FileAttachmentStore
from core.models.attachments import TicketAttachmentPublic
from core.ports import AttachmentStore
from core.services import attachments, tickets

router = APIRouter(prefix="/api/v1/tickets/{code}/attachments", tags=["attachments"], responses=ERROR_RESPONSES)

STORE_KEY = "attachment_store"
_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "JPEG, PNG, WebP, PDF, MP3, WAV, M4A or MP4"}}}}}}}


async def get_store(services: ServicesDep) -> AttachmentStore:
    """The store the entry point wired (`build_services`), else files under the data dir."""
    store = services.extra.get(STORE_KEY)
    if store is None:
        store = services.extra[STORE_KEY] = FileAttachmentStore(services.settings.attachments_dir)
    return store  # type: ignore[no-any-return]


StoreDep = Annotated[AttachmentStore, Depends(get_store)]


@router.post("", response_model=TicketAttachmentPublic, status_code=status.HTTP_201_CREATED, openapi_extra=_UPLOAD_BODY,
             responses={413: {"model": ErrorOut}},
             summary="Attach a file (multipart field `file`); the same file again returns the same attachment with 200")
async def upload(code: TicketCode, request: Request, response: Response, actor: Allowed("tickets", "write"),
                 session: SessionDep, services: ServicesDep, store: StoreDep) -> TicketAttachmentPublic:
    settings = services.settings
    ticket = await tickets.find_ticket(session, actor, code)
    # End the read transaction: no pooled connection waits while a slow client sends its bytes.
    # (A full ticket is refused only after the bytes: a retry of its last file must still get 200.)
    await session.commit()
    incoming = await uploads.single_file(request, "file", settings.attachment_max_bytes)
    attachment, created = await attachments.add(session, actor, store, ticket, incoming.filename, incoming.chunks,
                                                max_bytes=settings.attachment_max_bytes,
                                                max_count=settings.attachment_max_per_ticket)
    await session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return TicketAttachmentPublic.model_validate(attachment)


@router.get("", response_model=list[TicketAttachmentPublic], summary="A ticket's attachments, oldest first")
async def list_attachments(code: TicketCode, actor: Allowed("tickets", "read"),
                           session: SessionDep) -> list[TicketAttachmentPublic]:
    ticket = await tickets.find_ticket(session, actor, code)
    return await attachments.list_for(session, ticket)


@router.get("/{attachment_id}", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the file, with the content type detected when it was uploaded"}},
            summary="Download an attachment (always as a download, never rendered inline); each download is logged")
async def download(code: TicketCode, attachment_id: PathId, actor: Allowed("tickets", "read"), session: SessionDep,
                   store: StoreDep) -> StreamingResponse:
    ticket = await tickets.find_ticket(session, actor, code)
    attachment, chunks = await attachments.open_for_download(session, actor, store, ticket, attachment_id)
    await session.commit()  # the access log, before the first byte goes out
    return uploads.file_download(chunks, attachment.content_type, attachment.filename, attachment.size_bytes,
                                 attachment.sha256)
