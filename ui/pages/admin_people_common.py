"""Helpers shared by the people-and-access administration pages: ids from the address, ticked
checkboxes, pickers (units by id, groups, roles) and domain refusals as per-field messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from core.authz import Scope
from core.errors import NotFound
from core.models.access import GroupPublic, RolePublic
from core.services import org_units
from core.services.actor import Actor
from core.types import MAX_DB_ID
from ui.i18n import role_label


# A value already used elsewhere, said next to the field that holds it.
@dataclass(frozen=True)
class Option:
    """One entry of a picker or a checkbox list: the value sent, its label, its depth in a tree."""

    value: str
    label: str
    depth: int = 0
    hint: str | None = None


def path_id(value: str, what: str) -> int:
    """An id from the address; anything else is simply not found (never a 422 in JSON)."""
    if not value.isdigit() or not 0 < int(value) <= MAX_DB_ID:
        raise NotFound(what)
    return int(value)


def query_id(value: str | None) -> int | None:
    """An optional id from a filter; a value that is not one is ignored, like an empty filter."""
    return int(value) if value and value.isdigit() and 0 < int(value) <= MAX_DB_ID else None


async def ticked_ids(request: Request, name: str) -> list[int]:
    """The ids of the ticked checkboxes called `name` (read_form keeps one value per name).
    Call after read_form: the form is parsed once and the CSRF token is checked there."""
    form = await request.form()
    values = [v for v in form.getlist(name) if isinstance(v, str)]
    return sorted({int(v) for v in values if v.isdigit() and 0 < int(v) <= MAX_DB_ID})


async def unit_options(session: AsyncSession, actor: Actor, keep: int | None = None) -> list[Option]:
    """Active units as a tree (siblings by name), limited to the actor's subtree unless they see
    all; `keep` is a unit shown even when inactive (the one a record already points at)."""
    units = [u for u in await org_units.list_units(session) if u.active or u.id == keep]
    if actor.scope is not Scope.all and actor.unit_path:
        units = [u for u in units if u.path.startswith(actor.unit_path)]
    names = {str(u.id): u.name.casefold() for u in units}

    def tree_key(unit: Any) -> tuple[str, ...]:
        return tuple(names.get(part, part) for part in unit.path.strip("/").split("/"))

    ordered = sorted(units, key=tree_key)
    base = min((u.path.strip("/").count("/") for u in ordered), default=0)
    return [Option(str(u.id), u.name, u.path.strip("/").count("/") - base) for u in ordered]


def group_options(groups: list[GroupPublic]) -> list[Option]:
    return [Option(str(g.id), g.name, hint=g.code) for g in groups]


def role_options(roles: list[RolePublic], locale: str) -> list[Option]:
    return [Option(str(r.id), role_label(r.code, r.name, locale), hint=r.code) for r in roles]


def names_by_id(options: list[Option]) -> dict[int, str]:
    return {int(o.value): o.label for o in options}
