"""The knowledge base (KB-01…22): questions about administrative procedures, FAQs, events and
announcements, each with several answers (with status and attachments), and the API tokens
outside systems use to read and maintain it.

A question's `revision` grows with every change to it or its answers; the search index records
which revision it holds (`indexed_revision`), so the worker can always tell what is left to
index, whatever was lost on the way (a Temporal outage, a killed worker)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import sqlalchemy as sa
from pydantic import AfterValidator, ConfigDict, StringConstraints
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, tz_field, updated_at_field
from core.types import DbId, Name, no_control_chars


class KbDocType(StrEnum):
    procedure = "procedure"  # thủ tục hành chính
    faq = "faq"  # câu hỏi thường gặp
    event = "event"  # sự kiện
    announcement = "announcement"  # thông báo
    guide = "guide"  # hướng dẫn


class KbStatus(StrEnum):
    draft = "draft"  # being written: staff only
    published = "published"  # public: citizens, the desk, API clients
    hidden = "hidden"  # withdrawn but kept


KbTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
                    AfterValidator(no_control_chars)]
KbText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50_000),
                   AfterValidator(no_control_chars)]
KbHeading = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255), AfterValidator(no_control_chars)]
KbSource = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255), AfterValidator(no_control_chars)]


class KbQuestion(SQLModel, table=True):
    __tablename__ = "kb_question"
    __table_args__ = (
        sa.Index("ix_kb_question_type_status", "type_doc", "status", postgresql_where=sa.text("deleted_at IS NULL")),
        # the worker's "what is left to index" lookup stays small however large the KB grows
        sa.Index("ix_kb_question_unindexed", "id", postgresql_where=sa.text("indexed_revision <> revision")),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=500)
    type_doc: KbDocType = Field(sa_type=sa.String(20))
    status: KbStatus = Field(default=KbStatus.draft, sa_type=sa.String(20))
    area_id: int | None = Field(default=None, foreign_key="area.id", ondelete="SET NULL", index=True)
    field_id: int | None = Field(default=None, foreign_key="ticket_field.id", ondelete="SET NULL", index=True)
    source: str | None = Field(default=None, max_length=255, description="where the text comes from")
    source_ref: str | None = Field(default=None, max_length=128, unique=True,
                                   description="the record's key at its source (imports update, never duplicate)")
    agency: str | None = Field(default=None, max_length=255, description="the agency that carries the procedure out")
    revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    indexed_revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    deleted_at: datetime | None = tz_field()


class KbAnswer(SQLModel, table=True):
    __tablename__ = "kb_answer"

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="kb_question.id", ondelete="CASCADE", index=True)
    heading: str | None = Field(default=None, max_length=255)
    content: str = Field(sa_type=sa.Text)
    status: KbStatus = Field(default=KbStatus.published, sa_type=sa.String(20))
    position: int = 0
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class KbAttachment(SQLModel, table=True):
    """A file attached to an answer (a form, a guide in PDF); bytes in the attachment store."""

    __tablename__ = "kb_attachment"
    __table_args__ = (sa.UniqueConstraint("answer_id", "sha256", name="uq_kb_attachment_answer_sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="kb_answer.id", ondelete="CASCADE", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size_bytes: int = Field(sa_type=sa.BigInteger)
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=255)
    uploaded_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class ApiToken(SQLModel, table=True):
    """A token an administrator issues to an outside system (KB-01). It acts as `user_id` (a
    system account), limited to its `scopes` ("kb:read", "kb:write"); only its sha256 is kept."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    prefix: str = Field(max_length=16, description="the first characters, to recognise a token in lists")
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", index=True)
    scopes: list[str] = Field(default_factory=list, sa_type=postgresql.ARRAY(sa.String(30)))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = tz_field()
    last_used_at: datetime | None = tz_field()
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


# --- API shapes ----------------------------------------------------------------------------------

class KbAttachmentPublic(SQLModel):
    id: int
    answer_id: int
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime


class KbAnswerCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    heading: KbHeading | None = None
    content: KbText
    status: KbStatus = KbStatus.published
    position: int | None = Field(default=None, ge=0, le=10_000)


class KbAnswerUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    heading: KbHeading | None = None
    content: KbText | None = None
    status: KbStatus | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)


class KbAnswerPublic(SQLModel):
    id: int
    question_id: int
    heading: str | None
    content: str
    status: KbStatus
    position: int
    created_at: datetime
    updated_at: datetime
    attachments: list[KbAttachmentPublic] = Field(default_factory=list)


class KbQuestionCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    title: KbTitle
    type_doc: KbDocType = KbDocType.procedure
    status: KbStatus = KbStatus.draft
    area_id: DbId | None = None
    field_id: DbId | None = None
    source: KbSource | None = None
    agency: KbSource | None = None
    answers: list[KbAnswerCreate] = Field(default_factory=list, max_length=50)


class KbQuestionUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    title: KbTitle | None = None
    type_doc: KbDocType | None = None
    status: KbStatus | None = None
    area_id: DbId | None = None
    field_id: DbId | None = None
    source: KbSource | None = None
    agency: KbSource | None = None


class KbQuestionSummary(SQLModel):
    id: int
    title: str
    type_doc: KbDocType
    status: KbStatus
    area_id: int | None
    field_id: int | None
    source: str | None
    agency: str | None
    updated_at: datetime
    indexed: bool = True


class KbQuestionPublic(KbQuestionSummary):
    source_ref: str | None
    created_at: datetime
    answers: list[KbAnswerPublic] = Field(default_factory=list)


TokenScope = Annotated[str, StringConstraints(pattern=r"^kb:(read|write)$")]


class ApiTokenCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    user_id: DbId = Field(description="the system account the token acts as")
    scopes: list[TokenScope] = Field(min_length=1, max_length=10)
    expires_in_days: int = Field(default=90, ge=1, le=730)


class ApiTokenPublic(SQLModel):
    id: int
    name: str
    prefix: str
    user_id: int
    scopes: list[str]
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class ApiTokenIssued(ApiTokenPublic):
    token: str = Field(description="shown once: only its digest is stored")
