"""Authorization with Casbin: role -> resource -> action -> scope.

A request is allowed when one of the user's roles has a matching policy; the widest scope of
the matching policies says which rows the user may touch: `all`, `unit` (their unit's subtree)
or `own` (their own records). Custom roles (PERM-04) may inherit a system role (`g` rules).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import casbin
from casbin.model import Model

MODEL_TEXT = """
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act, scope

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && keyMatch(r.obj, p.obj) && (r.act == p.act || p.act == "*")
"""


class SystemRole(StrEnum):
    admin = "admin"
    coordinator = "coordinator"
    agent = "agent"
    unit_manager = "unit_manager"
    officer = "officer"
    auditor = "auditor"
    citizen = "citizen"
    api_client = "api_client"


class Scope(StrEnum):
    own = "own"
    unit = "unit"
    all = "all"


_SCOPE_RANK = {Scope.own: 0, Scope.unit: 1, Scope.all: 2}

STAFF = (SystemRole.admin, SystemRole.coordinator, SystemRole.agent, SystemRole.unit_manager,
         SystemRole.officer, SystemRole.auditor)

# (role, resource, action, scope). Resources are route groups; "*" matches any.
DEFAULT_POLICIES: tuple[tuple[str, str, str, str], ...] = (
    ("admin", "*", "*", "all"),
    *((r, "areas", "read", "all") for r in (*STAFF, SystemRole.citizen, SystemRole.api_client)),
    *((r, "fields", "read", "all") for r in (*STAFF, SystemRole.citizen, SystemRole.api_client)),
    *((r, "org_units", "read", "all") for r in (*STAFF, SystemRole.api_client)),
    *((r, "menus", "read", "all") for r in (SystemRole.coordinator, SystemRole.auditor)),
    ("coordinator", "users", "read", "all"),
    ("agent", "users", "read", "unit"),
    ("unit_manager", "users", "read", "unit"),
    ("officer", "users", "read", "unit"),
    ("auditor", "users", "read", "all"),
    ("auditor", "roles", "read", "all"),
    ("auditor", "groups", "read", "all"),
    ("auditor", "audit", "read", "all"),
    # tickets: the desk sees and writes all; units see their subtree; citizens and outside
    # systems see what they created
    *((r, "tickets", a, "all") for r in (SystemRole.coordinator, SystemRole.agent) for a in ("read", "write")),
    ("unit_manager", "tickets", "read", "unit"),
    ("officer", "tickets", "read", "unit"),
    ("auditor", "tickets", "read", "all"),
    *((r, "tickets", a, "own") for r in (SystemRole.citizen, SystemRole.api_client) for a in ("read", "write")),
    # auto-dispatch rules (CRM-37): the desk runs dispatching, so coordinators maintain them
    *(("coordinator", "dispatch_rules", a, "all") for a in ("read", "write")),
    ("auditor", "dispatch_rules", "read", "all"),
    # a ticket's process (state, incidents): read with the ticket; the desk retries failed steps
    ("coordinator", "incidents", "write", "all"),
    # the task inbox: every person who works tickets (rows are theirs or their unit's)
    *((r, "inbox", a, "own") for r in (SystemRole.coordinator, SystemRole.agent, SystemRole.unit_manager,
                                        SystemRole.officer) for a in ("read", "write")),
    # my own notifications
    *((r, "notifications", "read", "own") for r in (*STAFF, SystemRole.citizen)),
    # the knowledge base (KB-01…22): everyone reads what is published; coordinators maintain it;
    # an outside system's API token reads and writes as far as its scopes allow
    *((r, "kb", "read", "all") for r in (*STAFF, SystemRole.citizen, SystemRole.api_client)),
    *((r, "kb", "write", "all") for r in (SystemRole.coordinator, SystemRole.api_client)),
    # the SMS / Zalo message log (SMS-05…07, CRM-09): the desk and auditors read all of it; a unit's
    # people read the messages linked to their unit's tickets
    *((r, "messages", "read", "all") for r in (SystemRole.coordinator, SystemRole.agent, SystemRole.auditor)),
    ("unit_manager", "messages", "read", "unit"),
    ("officer", "messages", "read", "unit"),
    # the call center (issue 7): the desk's telephone agents and coordinators handle calls (history,
    # recordings, click-to-call, transfer) and their own agent state; coordinators and auditors watch
    # every agent and the live monitor
    *((r, "calls", a, "all") for r in (SystemRole.coordinator, SystemRole.agent) for a in ("read", "write")),
    ("auditor", "calls", "read", "all"),
    *((r, "agents", a, "own") for r in (SystemRole.coordinator, SystemRole.agent) for a in ("read", "write")),
    ("coordinator", "agents", "read", "all"),
    ("auditor", "agents", "read", "all"),
    *((r, "telephony", "read", "all") for r in (SystemRole.coordinator, SystemRole.auditor)),
    # citizens' personal data unmasked: only the roles that handle the case
    ("coordinator", "pii", "read", "all"),
    ("agent", "pii", "read", "all"),
    ("unit_manager", "pii", "read", "unit"),
    ("officer", "pii", "read", "unit"),
)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    scope: Scope | None = None


@dataclass
class Authorizer:
    """Wraps one in-memory Casbin enforcer; `reload()` after policies change in the database."""

    enforcer: casbin.Enforcer
    _cache: dict[tuple[frozenset[str], str, str], Decision] = field(default_factory=dict)

    def decide(self, roles: Iterable[str], resource: str, action: str) -> Decision:
        key = (frozenset(roles), resource, action)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        best: Scope | None = None
        for role in key[0]:
            ok, rule = self.enforcer.enforce_ex(role, resource, action)
            if ok and rule:
                scope = Scope(rule[3])
                if best is None or _SCOPE_RANK[scope] > _SCOPE_RANK[best]:
                    best = scope
        decision = Decision(best is not None, best)
        self._cache[key] = decision
        return decision

    def reload(self) -> None:
        self.enforcer.load_policy()
        self._cache.clear()


def make_model() -> Model:
    model = Model()
    model.load_model_from_text(MODEL_TEXT)
    return model


def build_authorizer(adapter: object | None = None) -> Authorizer:
    """An authorizer on a persistent adapter (policies in PostgreSQL), or in memory with the
    default policies when no adapter is given (unit tests)."""
    if adapter is None:
        enforcer = casbin.Enforcer(make_model())
        for policy in DEFAULT_POLICIES:
            enforcer.add_policy(*policy)
    else:
        enforcer = casbin.Enforcer(make_model(), adapter)
    return Authorizer(enforcer)
