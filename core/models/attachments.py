"""Files attached to a ticket (photos, PDFs, short recordings). The bytes live in the attachment
store under their sha256; a row records what was checked when they arrived."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field


class TicketAttachment(SQLModel, table=True):
    __tablename__ = "ticket_attachment"
    # One row per content per ticket: a retried upload finds its first row instead of a second.
    __table_args__ = (sa.UniqueConstraint("ticket_id", "sha256", name="uq_ticket_attachment_ticket_sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", ondelete="CASCADE")
    filename: str = Field(max_length=255, description="the client's name, sanitised (no path parts)")
    content_type: str = Field(max_length=100, description="detected from the bytes, never the client's claim")
    size_bytes: int = Field(sa_type=sa.BigInteger)
    sha256: str = Field(max_length=64, description="hex digest of the content")
    storage_key: str = Field(max_length=255)
    uploaded_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class TicketAttachmentPublic(SQLModel):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by_id: int | None
    created_at: datetime
