"""The texts of the messages the system sends by itself (issue 6): the citizen's "received" and
"resolved" SMS and the staff's SMS per event. Administrators list, edit (jinja2, sandboxed,
checked on save), preview and reset them; core.services.message_templates says how."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Allowed, SessionDep
from api.errors import request_locale
from api.schemas import ERROR_RESPONSES
from core.i18n import translate
from core.services import message_templates
from messaging.segments import sms_segments

router = APIRouter(prefix="/api/v1/message-templates", tags=["Message templates"], responses=ERROR_RESPONSES)

TemplateKey = Annotated[str, Path(max_length=60, pattern=r"^[a-z_]+$", description="e.g. citizen_received")]


class TemplateOut(BaseModel):
    key: str
    audience: str = Field(description="citizen | staff")
    label: str
    body: str = Field(description="the template in use (jinja2)")
    default: str
    enabled: bool
    is_default: bool
    can_disable: bool
    variables: dict[str, str] = Field(description="name -> what it holds")
    updated_at: datetime | None = None


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=message_templates.MAX_TEMPLATE)
    enabled: bool = True


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=message_templates.MAX_TEMPLATE)


class PreviewOut(BaseModel):
    text: str = Field(description="the message with the sample values")
    encoding: str
    characters: int
    segments: int


def _out(view: message_templates.TemplateView, request: Request) -> TemplateOut:
    locale = request_locale(request)
    return TemplateOut(key=view.key, audience=view.audience, label=translate(view.label, locale), body=view.body,
                       default=view.default, enabled=view.enabled, is_default=view.is_default,
                       can_disable=view.can_disable, updated_at=view.updated_at,
                       variables={name: translate(text, locale) for name, text in view.variables.items()})


@router.get("", response_model=list[TemplateOut], summary="Every kind of message, with the text in use")
async def list_templates(request: Request, actor: Allowed("message_templates", "read"),
                         session: SessionDep) -> list[TemplateOut]:
    return [_out(v, request) for v in await message_templates.list_templates(session)]


@router.get("/{key}", response_model=TemplateOut, summary="One kind of message")
async def get_template(key: TemplateKey, request: Request, actor: Allowed("message_templates", "read"),
                       session: SessionDep) -> TemplateOut:
    return _out(await message_templates.get_template(session, key), request)


@router.put("/{key}", response_model=TemplateOut,
            summary="Set the text (checked: syntax, variables, a render with sample values); audited")
async def save_template(key: TemplateKey, body: TemplateIn, request: Request,
                        actor: Allowed("message_templates", "write"), session: SessionDep) -> TemplateOut:
    view = await message_templates.save_template(session, actor, key, body.body, body.enabled)
    await session.commit()
    return _out(view, request)


@router.delete("/{key}", response_model=TemplateOut, summary="Back to the built-in text; audited")
async def reset_template(key: TemplateKey, request: Request, actor: Allowed("message_templates", "write"),
                         session: SessionDep) -> TemplateOut:
    view = await message_templates.reset_template(session, actor, key)
    await session.commit()
    return _out(view, request)


def preview_of(key: str, body: str) -> PreviewOut:
    text = message_templates.preview(key, body)
    encoding, characters, parts = sms_segments(text)
    return PreviewOut(text=text, encoding=encoding, characters=characters, segments=parts)


@router.post("/{key}/preview", response_model=PreviewOut, summary="The message a text would give, with sample values")
async def preview(key: TemplateKey, body: PreviewIn, actor: Allowed("message_templates", "read")) -> PreviewOut:
    return preview_of(key, body.body)
