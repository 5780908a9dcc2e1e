"""The signed-in page frame: who is signed in (name, unit, roles) and their menu as a tree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import OrgUnit, Role
from core.models.access import MenuPublic
from core.models.calls import AgentState
from core.services.access import menus_for_roles
from core.services.auth import SignedIn
from ui.i18n import menu_label, role_label


@dataclass
class MenuNode:
    code: str
    label: str
    url: str | None
    icon: str | None
    children: list[MenuNode] = field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        return not self.children


CALL_ROLES = {"coordinator", "agent"}  # who answers the hotline's calls (Casbin `calls` write)


@dataclass(frozen=True)
class Shell:
    full_name: str
    username: str
    unit_name: str | None
    role_names: tuple[str, ...]
    menu: tuple[MenuNode, ...]
    takes_calls: bool = False  # the incoming-call popup (ui/pages/call_popup.py)
    agent_status: str | None = None  # their state at the call center (ui/pages/agent_panel.py)
    agent_extension: str | None = None

    def leaves(self) -> list[MenuNode]:
        """Every entry that leads to a page, depth first, in menu order."""
        out: list[MenuNode] = []

        def walk(nodes: Sequence[MenuNode]) -> None:
            for node in nodes:
                if node.is_leaf and node.url:
                    out.append(node)
                walk(node.children)

        walk(self.menu)
        return out


def menu_tree(menus: Sequence[MenuPublic], locale: str) -> tuple[MenuNode, ...]:
    """Nest the flat, ordered list; an entry whose parent is not visible becomes a top entry."""
    nodes = {m.id: MenuNode(m.code, menu_label(m.code, m.name, locale), m.url, m.icon) for m in menus}
    roots: list[MenuNode] = []
    for m in sorted(menus, key=lambda m: (m.sort_order, m.id)):
        parent = nodes.get(m.parent_id) if m.parent_id is not None else None
        (parent.children if parent is not None else roots).append(nodes[m.id])
    return tuple(n for n in roots if n.url or n.children)


async def build_shell(session: AsyncSession, signed_in: SignedIn, locale: str) -> Shell:
    user = signed_in.user
    unit = await session.get(OrgUnit, user.unit_id) if user.unit_id is not None else None
    role_query = select(Role).where(col(Role.code).in_(sorted(signed_in.roles))).order_by(col(Role.code))
    roles = (await session.exec(role_query)).all()
    menus = await menus_for_roles(session, signed_in.roles)
    takes_calls = bool(CALL_ROLES & set(signed_in.roles))
    agent = await session.get(AgentState, user.id) if takes_calls else None
    return Shell(full_name=user.full_name, username=user.username, unit_name=unit.name if unit else None,
                 role_names=tuple(role_label(r.code, r.name, locale) for r in roles), menu=menu_tree(menus, locale),
                 takes_calls=takes_calls, agent_status=str(agent.status) if agent else ("logged_out" if takes_calls else None),
                 agent_extension=agent.extension if agent and agent.status != "logged_out" else None)
