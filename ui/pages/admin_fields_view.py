"""What the fields screens show and read: the tree, the table rows (with the SLA a field inherits),
the search and area filter, and the create/edit form turned into service input with per-field
Vietnamese messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.i18n import translate
from core.models import Area
from core.models.catalog import TicketFieldCreate, TicketFieldPublic, TicketFieldUpdate
from core.services.field_icons import icon_examples, is_known_icon
from core.services.field_import import CODE_PATTERN, DESCRIPTION_MAX, parse_sla_hours
from core.text import fold
from ui.forms import FieldErrors, invalid_fields
from ui.i18n import N_
from ui.task_forms import REQUIRED

FORM_FIELDS = ("level", "parent_id", "area_id", "name", "code", "description", "icon", "sla_hours",
               "sla_working_hours", "active")
CODE_FORMAT = N_("Use letters without accents, digits, '.', '-' or '_' (at most 50 characters).")
CHOOSE_PARENT = N_("Choose the parent field of a child field.")
NOT_LISTED = N_("Choose one of the listed options.")


@dataclass
class FieldView:
    """One field as the table and the tree show it."""

    item: TicketFieldPublic
    depth: int
    parent: TicketFieldPublic | None
    area_name: str | None
    sla_hours: int | None  # its own, or inherited from the nearest ancestor that has one
    sla_inherited: bool
    children: list[FieldView] = field(default_factory=list)


async def area_index(session: AsyncSession) -> dict[int, Area]:
    return {a.id: a for a in (await session.exec(select(Area).order_by(col(Area.path)))).all()}  # type: ignore[misc]


def build_rows(fields: list[TicketFieldPublic], areas: dict[int, Area]) -> list[FieldView]:
    """Rows in tree order (siblings by their sort order, then name), each with its children."""
    by_id = {f.id: f for f in fields}
    children: dict[int | None, list[TicketFieldPublic]] = {}
    for f in fields:
        parent_id = f.parent_id if f.parent_id in by_id else None
        children.setdefault(parent_id, []).append(f)
    ordered: list[FieldView] = []

    def walk(parent: FieldView | None, depth: int) -> list[FieldView]:
        nodes = []
        kids = children.get(parent.item.id if parent else None, [])
        for f in sorted(kids, key=lambda k: (k.sort_order, fold(k.name))):
            own = f.sla_hours
            inherited = own is None and parent is not None and parent.sla_hours is not None
            area = areas.get(f.area_id) if f.area_id else None
            row = FieldView(f, depth, parent.item if parent else None, _area_label(area),
                           own if own is not None else (parent.sla_hours if parent else None), inherited)
            ordered.append(row)
            row.children = walk(row, depth + 1)
            nodes.append(row)
        return nodes

    walk(None, 0)
    return ordered


def _area_label(area: Area | None) -> str | None:
    if area is None:
        return None
    return f"{area.kind} {area.name}" if area.kind and not area.name.startswith(area.kind) else area.name


def matches(row: FieldView, q: str, area: Area | None, under: TicketFieldPublic | None,
            areas: dict[int, Area]) -> bool:
    """The table's filters: text in code or name, the fields that apply in an area (those of the
    whole province, of the area, or of an area above it), the subtree of a field."""
    if q and fold(q) not in fold(row.item.name) and fold(q) not in fold(row.item.code):
        return False
    if under is not None and not row.item.path.startswith(under.path):
        return False
    if area is not None and row.item.area_id is not None:
        own = areas.get(row.item.area_id)
        if own is None or not area.path.startswith(own.path):
            return False
    return True


def icon_choices() -> list[tuple[str, str]]:
    """(icon name, the catalogue field it stands for, or the name itself) for the icon picker."""
    return [(name, example or name) for name, example in icon_examples().items()]


# ---- the create / edit form ----


def form_values(form: dict[str, str]) -> dict[str, str]:
    values = {name: form.get(name, "").strip() for name in FORM_FIELDS}
    values["sla_working_hours"] = "1" if form.get("sla_working_hours") else ""
    values["active"] = "1" if form.get("active") else ""
    return values


def _id(value: str, allowed: set[int], name: str, errors: FieldErrors, locale: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) not in allowed:
        errors.setdefault(name, []).append(translate(NOT_LISTED, locale))
        return None
    return int(value)


def field_data(values: dict[str, str], locale: str, field_ids: set[int], area_ids: set[int],
               creating: bool) -> tuple[dict[str, Any], FieldErrors]:
    """The service input of the form, and a message beside each field that is wrong."""
    errors: FieldErrors = {}
    data: dict[str, Any] = {"name": values["name"], "description": values["description"] or None,
                            "icon": values["icon"] or None, "sla_working_hours": bool(values["sla_working_hours"]),
                            "area_id": _id(values["area_id"], area_ids, "area_id", errors, locale)}
    if not values["name"]:
        errors["name"] = [translate(REQUIRED, locale)]
    if len(values["description"]) > DESCRIPTION_MAX:
        errors["description"] = [translate("Too long (at most {max_length} characters).", locale,
                                           max_length=DESCRIPTION_MAX)]
    if values["icon"] and not is_known_icon(values["icon"]):
        errors["icon"] = [translate(NOT_LISTED, locale)]
    try:
        data["sla_hours"] = parse_sla_hours(values["sla_hours"])
    except ValueError as exc:
        errors["sla_hours"] = [translate(str(exc), locale)]
    if creating:
        data["code"] = values["code"]
        if not values["code"]:
            errors["code"] = [translate(REQUIRED, locale)]
        elif not CODE_PATTERN.fullmatch(values["code"]):
            errors["code"] = [translate(CODE_FORMAT, locale)]
        if values["level"] == "child":
            data["parent_id"] = _id(values["parent_id"], field_ids, "parent_id", errors, locale)
            if data["parent_id"] is None and "parent_id" not in errors:
                errors["parent_id"] = [translate(CHOOSE_PARENT, locale)]
        elif values["level"] != "top":
            errors["level"] = [translate(NOT_LISTED, locale)]
    else:
        data["active"] = bool(values["active"])
    model = TicketFieldCreate if creating else TicketFieldUpdate
    if not errors:
        try:
            model.model_validate(data)
        except ValidationError as exc:
            errors = invalid_fields(exc, locale)
    return data, errors
