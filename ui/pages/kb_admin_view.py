"""What the knowledge-base screens show around the questions: the labels of types and statuses,
the area and field pickers and the names their ids stand for, the types each public search
covers, and reading ids from addresses and forms. Read-only; the questions themselves go through
core.services.kb, as the JSON API's do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.services import AppServices
from core.errors import NotFound
from core.models import Area, TicketField
from core.models.kb import KbDocType, KbStatus
from core.services import work_queue
from core.services.actor import Actor
from core.services.work_queue import Choice
from core.types import MAX_DB_ID
from ui.i18n import N_, Gettext
from ui.pages.desk_rules_choices import area_label, area_options
from ui.pages.work import local_time

TYPE_LABELS = {
    KbDocType.procedure: N_("Administrative procedure"),
    KbDocType.faq: N_("Frequently asked question"),
    KbDocType.event: N_("Event"),
    KbDocType.announcement: N_("Announcement"),
    KbDocType.guide: N_("Guide"),
}
STATUS_LABELS = {
    KbStatus.draft: N_("Draft"),
    KbStatus.published: N_("Published"),
    KbStatus.hidden: N_("Hidden"),
}
NOT_INDEXED = N_("not yet in the search")


@dataclass(frozen=True)
class PublicSection:
    """One public search: its address and the types of document citizens look for there."""

    slug: str
    title: str
    types: tuple[KbDocType, ...]

    @property
    def path(self) -> str:
        return f"/tra-cuu/{self.slug}"


PROCEDURES = PublicSection("thu-tuc", N_("Look up administrative procedures"),
                           (KbDocType.procedure, KbDocType.faq, KbDocType.guide))
EVENTS = PublicSection("su-kien", N_("Events and announcements"), (KbDocType.event, KbDocType.announcement))
SECTIONS = {s.slug: s for s in (PROCEDURES, EVENTS)}


def section_of(type_doc: KbDocType | str) -> PublicSection:
    return EVENTS if type_doc in EVENTS.types else PROCEDURES


def as_id(raw: str | None) -> int | None:
    """A database id typed in an address or a form, or None."""
    if raw and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) <= MAX_DB_ID:
        return int(raw)
    return None


def path_id(raw: str, what: str = "Question") -> int:
    """An id from the path; anything else is the page's 404 (never a 422 or a 500)."""
    ident = as_id(raw)
    if ident is None:
        raise NotFound(what)
    return ident


def as_enum(enum: type[Any], raw: str | None) -> Any:
    try:
        return enum(raw) if raw else None
    except ValueError:
        return None


def may_write(services: AppServices, actor: Actor) -> bool:
    return services.authorizer.decide(actor.roles, "kb", "write").allowed


async def area_choices(session: AsyncSession, services: AppServices, keep: int | None = None) -> list[Choice]:
    """The province and its communes (as the desk picks them), and a question's own area if it is not among them."""
    return await area_options(session, str(services.settings.area_scheme.value), keep)


async def field_choices(session: AsyncSession) -> list[Choice]:
    return await work_queue.field_choices(session)


@dataclass(frozen=True)
class KbNames:
    """Display names for the area and field ids on a page of questions."""

    areas: dict[int, str]
    fields: dict[int, str]

    def area(self, area_id: int | None) -> str:
        return "" if area_id is None else self.areas.get(area_id, f"#{area_id}")

    def field(self, field_id: int | None) -> str:
        return "" if field_id is None else self.fields.get(field_id, f"#{field_id}")


async def kb_names(session: AsyncSession, area_ids: Iterable[int | None], field_ids: Iterable[int | None]) -> KbNames:
    areas = sorted({a for a in area_ids if a is not None})
    fields = sorted({f for f in field_ids if f is not None})
    area_names = {int(a.id): area_label(a) for a in  # type: ignore[arg-type]
                  (await session.exec(select(Area).where(col(Area.id).in_(areas)))).all()} if areas else {}
    field_names = dict((await session.exec(select(TicketField.id, TicketField.name)
                                           .where(col(TicketField.id).in_(fields)))).all()) if fields else {}
    return KbNames(area_names, field_names)  # type: ignore[arg-type]


def helpers(_: Gettext) -> dict[str, Any]:
    """What every knowledge-base template uses to name things."""
    return {"type_label": lambda t: _(TYPE_LABELS.get(t, str(t))),
            "status_label": lambda s: _(STATUS_LABELS.get(s, str(s))),
            "type_choices": [(t.value, _(label)) for t, label in TYPE_LABELS.items()],
            "status_choices": [(s.value, _(label)) for s, label in STATUS_LABELS.items()],
            "local_time": local_time, "not_indexed": _(NOT_INDEXED)}
