"""Who is acting, from where, with which roles and scope: the input every use case gets."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from core.authz import Scope


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    roles: frozenset[str] = frozenset()
    unit_id: int | None = None
    unit_path: str | None = None
    scope: Scope = Scope.own
    request_id: str | None = None
    ip: str | None = None
    locale: str = "vi"
    extra: dict[str, str] = field(default_factory=dict)

    def with_scope(self, scope: Scope) -> "Actor":
        return replace(self, scope=scope)

    @property
    def is_system(self) -> bool:
        return self.user_id is None


def system_actor(name: str = "system") -> Actor:
    """The actor of CLI commands, migrations and seeding."""
    return Actor(user_id=None, username=name, roles=frozenset({"admin"}), scope=Scope.all)
