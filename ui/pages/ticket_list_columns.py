"""What the ticket lists show (labels in ui.labels): the filters' choices, and the Excel
export's columns (Vietnamese headers, dates as dates)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Area, OrgUnit, TicketField
from core.services.actor import Actor
from core.services.scoping import units_visible
from core.services.ticket_list import TicketRow
from reports.xlsx import Column, Kind
from ui.i18n import Gettext
from ui.labels import CHANNEL_LABELS, STATUS_LABELS


@dataclass(frozen=True)
class Option:
    id: int
    label: str
    depth: int


@dataclass(frozen=True)
class FilterOptions:
    fields: list[Option]
    areas: list[Option]
    units: list[Option]


def _depth(path: str) -> int:
    return max(path.strip("/").count("/"), 0)


async def filter_options(session: AsyncSession, actor: Actor) -> FilterOptions:
    """Fields and areas as trees (indented by depth); only the units the person may see."""
    fields = (await session.exec(select(TicketField.id, TicketField.name, TicketField.path)
                                 .where(col(TicketField.active)).order_by(col(TicketField.path)))).all()
    areas = (await session.exec(select(Area.id, Area.name, Area.path).order_by(col(Area.path)))).all()
    unit_query = select(OrgUnit.id, OrgUnit.name, OrgUnit.path).where(col(OrgUnit.active)).order_by(col(OrgUnit.path))
    visible = units_visible(actor)
    if visible is not None:
        unit_query = unit_query.where(col(OrgUnit.id).in_(visible))
    units = (await session.exec(unit_query)).all()
    return FilterOptions(*([Option(r[0], r[1], _depth(r[2])) for r in rows] for rows in (fields, areas, units)))


def options_html(items: list[Option], selected: str | None) -> Markup:
    """The <option>s of a long tree list (areas are hundreds), built here: a jinja loop over
    them was most of the page's render time."""
    indent = "\u00a0\u00a0\u00a0"
    return Markup("".join(
        f'<option value="{o.id}"{" selected" if selected == str(o.id) else ""}>{indent * o.depth}{escape(o.label)}</option>'
        for o in items))


def export_columns(_: Gettext) -> list[Column]:
    return [
        Column(_("Code"), 17), Column(_("Received at"), 17, Kind.datetime), Column(_("Channel"), 13),
        Column(_("Status"), 18), Column(_("Citizen"), 24), Column(_("Phone"), 14), Column(_("ID number"), 15),
        Column(_("Field"), 28), Column(_("Area"), 24), Column(_("Handling unit"), 30), Column(_("Address"), 36),
        Column(_("Description"), 70), Column(_("Due at"), 17, Kind.datetime), Column(_("Overdue"), 10),
        Column(_("Closed at"), 17, Kind.datetime),
    ]


def export_values(row: TicketRow, _: Gettext) -> tuple[Any, ...]:
    return (row.code, row.created_at, _(CHANNEL_LABELS[row.channel]), _(STATUS_LABELS[row.status]), row.citizen_name,
            row.citizen_phone, row.citizen_id_number, row.field_name, row.area_name, row.unit_name, row.address,
            row.description, row.due_at, _("Yes") if row.overdue else None, row.closed_at)
