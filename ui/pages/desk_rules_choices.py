"""What the auto-dispatch rule screens show around the rules: the field tree grouped by its
top-level fields (a multi-select of checkboxes), the area and unit pickers, and the names that a
rule's ids stand for. Read-only lookups; the rules themselves go through core.services.dispatch_rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Area, OrgUnit, TicketField
from core.models.tickets import AutoDispatchRulePublic
from core.services import work_queue
from core.services.work_queue import Choice


@dataclass(frozen=True)
class FieldOption:
    id: int
    name: str
    depth: int  # below its group's root (0: the root itself)
    active: bool


@dataclass(frozen=True)
class FieldGroup:
    """A top-level field and everything under it, in tree order."""

    root: FieldOption
    children: list[FieldOption] = field(default_factory=list)


@dataclass(frozen=True)
class RuleNames:
    """Display names for the ids on a page of rules."""

    fields: dict[int, str]
    areas: dict[int, str]
    units: dict[int, tuple[str, bool]]  # id -> (name, active)

    def field_names(self, ids: Sequence[int]) -> list[str]:
        return [self.fields.get(i, f"#{i}") for i in ids]


def _parts(path: str) -> list[int]:
    return [int(p) for p in path.strip("/").split("/") if p]


def area_label(area: Area) -> str:
    """As the desk's area picker names it ("Phường Trấn Biên"; the kind added when missing)."""
    return f"{area.kind} {area.name}" if area.kind and not area.name.startswith(area.kind) else area.name


async def field_groups(session: AsyncSession, keep: Iterable[int] = ()) -> list[FieldGroup]:
    """Active fields (and inactive ones a rule still names, in `keep`) grouped under their
    top-level field; siblings in the catalogue's order, then by name."""
    keep_ids = [i for i in keep if isinstance(i, int)]
    stmt = select(TicketField).order_by(col(TicketField.path))
    stmt = stmt.where(or_(col(TicketField.active), col(TicketField.id).in_(keep_ids))) if keep_ids \
        else stmt.where(col(TicketField.active))
    rows = list((await session.exec(stmt)).all())
    shown = {r.id for r in rows}
    rows = [r for r in rows if all(p in shown for p in _parts(r.path))]  # no orphans under a hidden parent
    order = {r.id: (r.sort_order, r.name.casefold()) for r in rows}
    rows.sort(key=lambda r: [order[p] for p in _parts(r.path)])
    groups: list[FieldGroup] = []
    for row in rows:
        depth = len(_parts(row.path)) - 1
        option = FieldOption(int(row.id), row.name, depth, row.active)  # type: ignore[arg-type]
        if depth == 0:
            groups.append(FieldGroup(option))
        elif groups:
            groups[-1].children.append(option)
    return groups


async def area_options(session: AsyncSession, scheme: str, keep: int | None = None) -> list[Choice]:
    """The province and its communes (the desk's area picker), plus the rule's own area if it
    is no longer in that list."""
    choices = await work_queue.area_choices(session, scheme)
    if keep is not None and str(keep) not in {c.value for c in choices}:
        area = await session.get(Area, keep)
        if area is not None:
            choices.append(Choice(str(area.id), area_label(area)))
    return choices


async def unit_options(session: AsyncSession, keep: int | None = None) -> list[tuple[Choice, bool]]:
    """Active units as a tree (value: the unit's id), plus the rule's own unit if it was
    deactivated since, flagged inactive so the page can say why it cannot be kept switched on."""
    stmt = select(OrgUnit).order_by(col(OrgUnit.path))
    stmt = stmt.where(or_(col(OrgUnit.active), col(OrgUnit.id) == keep)) if keep is not None \
        else stmt.where(col(OrgUnit.active))
    units = list((await session.exec(stmt)).all())
    names = {u.id: u.name.casefold() for u in units}
    units.sort(key=lambda u: [names.get(p, str(p)) for p in _parts(u.path)])
    base = min((len(_parts(u.path)) for u in units), default=1)
    return [(Choice(str(u.id), u.name, len(_parts(u.path)) - base), u.active) for u in units]


async def rule_names(session: AsyncSession, rules: Iterable[AutoDispatchRulePublic]) -> RuleNames:
    rules = list(rules)
    field_ids = sorted({i for r in rules for i in r.field_ids})
    area_ids = sorted({r.area_id for r in rules if r.area_id is not None})
    unit_ids = sorted({r.unit_id for r in rules})
    fields = dict((await session.exec(select(TicketField.id, TicketField.name)
                                      .where(col(TicketField.id).in_(field_ids)))).all()) if field_ids else {}
    areas = {int(a.id): area_label(a) for a in  # type: ignore[arg-type]
             (await session.exec(select(Area).where(col(Area.id).in_(area_ids)))).all()} if area_ids else {}
    units = {int(i): (name, bool(active)) for i, name, active in
             (await session.exec(select(OrgUnit.id, OrgUnit.name, OrgUnit.active)
                                 .where(col(OrgUnit.id).in_(unit_ids)))).all()} if unit_ids else {}
    return RuleNames(fields, areas, units)
