"""Row scoping by the actor's unit: `unit` scope = the actor's unit and its whole subtree."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from core.authz import Scope
from core.models import OrgUnit
from core.services.actor import Actor


def units_visible(actor: Actor) -> Any:
    """A subquery of the org_unit ids the actor may see, or None when they see everything."""
    if actor.scope is Scope.all:
        return None
    if actor.scope is Scope.unit and actor.unit_path:
        return select(OrgUnit.id).where(col(OrgUnit.path).startswith(actor.unit_path))
    return select(OrgUnit.id).where(col(OrgUnit.id) == actor.unit_id) if actor.unit_id else select(OrgUnit.id).where(False)


def can_see_unit(actor: Actor, unit_path: str | None) -> bool:
    if actor.scope is Scope.all:
        return True
    if actor.scope is Scope.unit and actor.unit_path and unit_path:
        return unit_path.startswith(actor.unit_path)
    return False
