"""Ticket attachments: photos, PDFs and short recordings a citizen or the desk adds to a ticket.

The size limit is enforced while the bytes stream in (never read unbounded), the type is read
from the bytes themselves, and the content is stored once under its sha256; a ticket holds one
row per content, so a retried upload returns the first attachment instead of a second."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core import filetypes
from core.errors import NotFound, PayloadTooLarge, TooManyAttachments, UnsupportedFileType
from core.models.attachments import TicketAttachment, TicketAttachmentPublic
from core.models.tickets import Ticket
from core.ports import AttachmentStore, AttachmentWriter
from core.services import audit
from core.services.actor import Actor
from core.services.tickets import record_event

log = logging.getLogger(__name__)

# pg_advisory_xact_lock(class, ticket id): serialises the count-and-insert of concurrent
# uploads to one ticket without locking the ticket row the workflow updates.
_LOCK_CLASS = 1022_0003


@dataclass(frozen=True)
class Received:
    """An upload fully received and checked, staged in the store but not yet kept."""

    writer: AttachmentWriter
    content_type: str
    size_bytes: int
    sha256: str


async def count(session: AsyncSession, ticket: Ticket) -> int:
    stmt = select(func.count()).select_from(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
    return (await session.exec(stmt)).one()


async def ensure_room(session: AsyncSession, ticket: Ticket, max_count: int) -> None:
    if await count(session, ticket) >= max_count:
        raise TooManyAttachments(limit=max_count)


async def receive(store: AttachmentStore, chunks: AsyncIterable[bytes], filename: str | None,
                  max_bytes: int) -> Received:
    """Stream the bytes into the store's staging area, counting, hashing and sniffing as they
    come; stop at the first byte over `max_bytes` or as soon as the type is known to be refused."""
    writer = await store.writer()
    digest, size, head = hashlib.sha256(), 0, b""
    content_type: str | None = None
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge.for_limit(max_bytes)
            if content_type is None and len(head) < filetypes.SNIFF_BYTES:
                head += chunk[:filetypes.SNIFF_BYTES - len(head)]
                if len(head) >= filetypes.SNIFF_BYTES:
                    content_type = _allowed_type(head, filename)
            digest.update(chunk)
            await writer.write(chunk)
        if size == 0:
            raise UnsupportedFileType("The file is empty.")
        content_type = content_type or _allowed_type(head, filename)
    except BaseException:
        await writer.discard()
        raise
    return Received(writer, content_type, size, digest.hexdigest())


def _allowed_type(head: bytes, filename: str | None) -> str:
    content_type = filetypes.detect(head, filename)
    if content_type is None:
        raise UnsupportedFileType()
    return content_type


async def save(session: AsyncSession, actor: Actor, ticket: Ticket, filename: str | None, received: Received,
               max_count: int) -> tuple[TicketAttachment, bool]:
    """Keep a received upload and record it; the same content on the same ticket returns the
    existing attachment (created = False). The caller commits."""
    try:
        await session.exec(select(func.pg_advisory_xact_lock(_LOCK_CLASS, ticket.id)))  # type: ignore[call-overload]
        existing = (await session.exec(select(TicketAttachment).where(
            TicketAttachment.ticket_id == ticket.id, TicketAttachment.sha256 == received.sha256))).first()
        if existing is not None:
            await received.writer.discard()
            return existing, False
        await ensure_room(session, ticket, max_count)
        key = await received.writer.keep(received.sha256)
    except BaseException:
        await received.writer.discard()
        raise
    # Kept before the row is written: a row never points at missing bytes. If the transaction
    # then fails, the stored file is unreferenced (harmless; the same bytes are reused later).
    attachment = TicketAttachment(
        ticket_id=ticket.id, filename=filetypes.safe_filename(filename, received.content_type),  # type: ignore[arg-type]
        content_type=received.content_type, size_bytes=received.size_bytes, sha256=received.sha256,
        storage_key=key, uploaded_by_id=actor.user_id)
    session.add(attachment)
    await session.flush()
    await record_event(session, ticket.id, "attachment_added", f"attachment:{received.sha256}",  # type: ignore[arg-type]
                       actor=actor, unit_id=ticket.current_unit_id, note=attachment.filename,
                       data={"attachment_id": attachment.id, "filename": attachment.filename,
                             "content_type": attachment.content_type, "size_bytes": attachment.size_bytes,
                             "sha256": attachment.sha256})
    return attachment, True


async def add(session: AsyncSession, actor: Actor, store: AttachmentStore, ticket: Ticket, filename: str | None,
              chunks: AsyncIterable[bytes], *, max_bytes: int, max_count: int) -> tuple[TicketAttachment, bool]:
    """Receive the bytes (size and type checked) without touching the database, then keep and
    record them (duplicates and room checked under the ticket's lock). Returns (attachment,
    created); the caller commits. Nothing is kept when anything fails. The caller should end
    its read transaction first, so no pooled connection waits on a slow upload."""
    received = await receive(store, chunks, filename, max_bytes)
    return await save(session, actor, ticket, filename, received, max_count)


async def list_for(session: AsyncSession, ticket: Ticket) -> list[TicketAttachmentPublic]:
    rows = (await session.exec(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
                               .order_by(col(TicketAttachment.id)))).all()
    return [TicketAttachmentPublic.model_validate(r) for r in rows]


async def open_for_download(session: AsyncSession, actor: Actor, store: AttachmentStore, ticket: Ticket,
                            attachment_id: int) -> tuple[TicketAttachment, AsyncIterator[bytes]]:
    """The attachment and its bytes. A photo of an ID card is personal data: every download is
    written to the audit log (the caller commits before streaming)."""
    attachment = (await session.exec(select(TicketAttachment).where(
        TicketAttachment.id == attachment_id, TicketAttachment.ticket_id == ticket.id))).first()
    if attachment is None:
        raise NotFound("Attachment")
    try:
        chunks = await store.open(attachment.storage_key)
    except LookupError as exc:
        log.error("attachment %s of ticket %s: stored bytes %s are missing", attachment.id, ticket.code,
                  attachment.storage_key)
        raise NotFound("Attachment") from exc
    await audit.record(session, actor, "attachment.read", "ticket", ticket.code,
                       after={"attachment_id": attachment.id, "filename": attachment.filename, "sha256": attachment.sha256})
    return attachment, chunks

