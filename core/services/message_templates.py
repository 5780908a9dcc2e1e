"""The texts of the messages the system sends by itself (issue 6): the citizen's "received" and
"resolved" SMS and the staff's SMS per notification event (PERM-10). Administrators edit them
with a preview; a person's own SMS text for an event (notification settings) uses the same
syntax and the same checks.

Templates are jinja2 text rendered in an `ImmutableSandboxedEnvironment` (no attribute access to
internals, no mutation of the values given) with `StrictUndefined`, so a template can only use
the variables its kind declares. A template is checked when it is saved: its syntax, the names it
uses, and a render against the kind's sample values (a sandbox refusal or a filter error shows
then, not when a citizen's SMS is due). No row = the built-in default; resetting deletes the row,
so a later change of the default reaches it. A citizen template can be switched off (the message
is then not sent; the step of the life cycle says so); staff texts cannot (each person chooses
their channels in their own settings).

At send time a stored template that still fails (it cannot, unless written around this module)
falls back to the default with a warning: a citizen is never left without their message because
of an editing mistake.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import NotFound, ValidationFailed
from core.models.base import utcnow
from core.models.notifications import MessageTemplate, NotificationEvent
from core.services import audit
from core.services.actor import Actor
from core.types import no_control_chars

log = logging.getLogger(__name__)

E = NotificationEvent
MAX_TEMPLATE = 1000  # characters of template source
MAX_RENDERED = 1600  # characters of a rendered message (Twilio's limit for one concatenated SMS)
STAFF_SMS_MAX = 300  # a staff SMS only points at the inbox: at most two Unicode segments … and a bit


@dataclass(frozen=True)
class TemplateKind:
    key: str
    audience: str  # "citizen" | "staff"
    label: str  # English msgid, shown translated
    default: str
    variables: dict[str, str]  # name -> English msgid describing it
    sample: dict[str, str]
    max_rendered: int = MAX_RENDERED
    can_disable: bool = False


CITIZEN_VARIABLES = {"code": "the report's code", "received_at": "when the report was received (dd/mm/yyyy hh:mm)"}
STAFF_VARIABLES = {"code": "the report's code", "title": "what waits (the task's name)"}
STAFF_SAMPLE = {"code": "1022-2026-000123", "title": "Phản ánh chờ xử lý"}

_STAFF_DEFAULTS: dict[NotificationEvent, tuple[str, str]] = {
    E.ticket_received: ("Staff SMS: a report reached my unit", "Tổng đài 1022 Đồng Nai: {{ title }} - phản ánh {{ code }}."),
    E.task_dispatch: ("Staff SMS: a report waits for dispatch",
                      "Tổng đài 1022 Đồng Nai: phản ánh {{ code }} chờ điều phối ({{ title }})."),
    E.task_assign: ("Staff SMS: a report waits for assignment", "Tổng đài 1022 Đồng Nai: phản ánh {{ code }} chờ anh/chị: {{ title }}."),
    E.task_process: ("Staff SMS: a report waits to be processed",
                     "Tổng đài 1022 Đồng Nai: phản ánh {{ code }} chờ anh/chị xử lý."),
    E.task_approve: ("Staff SMS: a result waits for approval",
                     "Tổng đài 1022 Đồng Nai: phản ánh {{ code }} chờ anh/chị phê duyệt ({{ title }})."),
    E.ticket_due_soon: ("Staff SMS: a report nears its deadline", "Tổng đài 1022 Đồng Nai: phản ánh {{ code }} sắp đến hạn xử lý."),
    E.ticket_overdue: ("Staff SMS: a report is overdue", "Tổng đài 1022 Đồng Nai: phản ánh {{ code }} đã quá hạn xử lý."),
}


def staff_key(event: NotificationEvent) -> str:
    return f"staff_{event.value}"


KINDS: dict[str, TemplateKind] = {
    "citizen_received": TemplateKind(
        "citizen_received", "citizen", "Citizen SMS: report received",
        "Tổng đài 1022 Đồng Nai đã tiếp nhận phản ánh {{ code }} của bạn. Cảm ơn bạn đã liên hệ.",
        CITIZEN_VARIABLES, {"code": "1022-2026-000123", "received_at": "26/11/2026 09:30"}, can_disable=True),
    "citizen_resolved": TemplateKind(
        "citizen_resolved", "citizen", "Citizen SMS: report resolved",
        "Phản ánh {{ code }} của bạn đã được xử lý: {{ result }}",
        {**CITIZEN_VARIABLES, "result": "the result the unit wrote"},
        {"code": "1022-2026-000123", "received_at": "26/11/2026 09:30",
         "result": "Đơn vị đã sửa đèn chiếu sáng trên đường Võ Thị Sáu."}, can_disable=True),
    **{staff_key(event): TemplateKind(staff_key(event), "staff", label, text, STAFF_VARIABLES, STAFF_SAMPLE,
                                       max_rendered=STAFF_SMS_MAX)
       for event, (label, text) in _STAFF_DEFAULTS.items()},
}


def kind_of(key: str) -> TemplateKind:
    kind = KINDS.get(key)
    if kind is None:
        raise NotFound("Message template")
    return kind


_SINGLE_BRACES = re.compile(r"(?<!\{)\{\s*([A-Za-z_]\w*)\s*\}(?!\})")  # "{code}": the old placeholder style
_ENV = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=256)
def _compiled(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def _render(source: str, values: dict[str, Any], limit: int) -> str:
    """Rendered, each line's spaces collapsed, empty lines dropped, cut at `limit`."""
    lines = (" ".join(line.split()) for line in _compiled(source).render(**values).splitlines())
    return "\n".join(line for line in lines if line)[:limit]


# What an SMS text may contain: text, variables, the filters below, {% if %} with comparisons.
# No loops, attribute access, calls, assignments, macros or includes: nothing an SMS needs and
# nothing that could run long or reach past the values given (on top of the sandbox).
_ALLOWED_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.Filter, nodes.If,
                  nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Concat, nodes.CondExpr,
                  nodes.Test)
ALLOWED_FILTERS = frozenset({"upper", "lower", "capitalize", "title", "trim", "truncate", "default", "replace"})


def _plain(tree: nodes.Node) -> bool:
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            return False
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            return False
    return isinstance(tree, _ALLOWED_NODES)


def check_problem(kind: TemplateKind, source: str) -> tuple[str, dict[str, Any]] | None:
    """Why `source` cannot be this kind's template (an English msgid and its params), or None."""
    text = source.strip()
    if not text:
        return "Write the text of the message.", {}
    if len(text) > MAX_TEMPLATE:
        return "At most {max} characters.", {"max": MAX_TEMPLATE}
    try:
        no_control_chars(text)
    except ValueError:
        return "The text contains control characters.", {}
    try:
        parsed = _ENV.parse(text)
        names = meta.find_undeclared_variables(parsed)
    except jinja2.TemplateSyntaxError as exc:
        return "The text is not written correctly at line {line}: write a variable as {example}.", {
            "line": exc.lineno, "example": "{{ " + next(iter(kind.variables)) + " }}"}
    single = _SINGLE_BRACES.search(text)
    if single:
        return "Write a variable between double braces: {example}.", {"example": "{{ " + single.group(1) + " }}"}
    if not _plain(parsed):
        return "The template uses something that is not allowed.", {}
    unknown = sorted(names - kind.variables.keys())
    if unknown:
        return "Unknown variable {names}. Only these may be used: {allowed}.", {
            "names": ", ".join(unknown), "allowed": ", ".join("{{ " + n + " }}" for n in kind.variables)}
    try:
        rendered = _render(text, kind.sample, kind.max_rendered)
    except SecurityError:
        return "The template uses something that is not allowed.", {}
    except Exception:  # noqa: BLE001 - any render failure of an admin's template is a 422, not a 500
        log.info("template of %s fails with the sample values", kind.key, exc_info=True)
        return "The text cannot be filled in with the sample values; simplify it.", {}
    if not rendered:
        return "The message would be empty.", {}
    return None


def check(kind: TemplateKind, source: str, field_name: str = "body") -> str:
    """The template stripped, or ValidationFailed (422) naming `field_name`."""
    problem = check_problem(kind, source)
    if problem is not None:
        message, params = problem
        raise ValidationFailed(details=[{"field": field_name, "message": message, "params": params}])
    return source.strip()


def render_text(kind: TemplateKind, source: str, values: dict[str, Any]) -> str:
    """`source` rendered with `values` (whitespace collapsed, cut at the kind's limit); the
    kind's default if it fails."""
    try:
        return _render(source, values, kind.max_rendered)
    except Exception:  # noqa: BLE001 - see the module docstring: never leave a message unsent over a template
        log.warning("message template %s failed at send time; the default text is used", kind.key, exc_info=True)
        return _render(kind.default, values, kind.max_rendered)


@dataclass(frozen=True)
class TemplateView:
    key: str
    audience: str
    label: str
    body: str
    default: str
    enabled: bool
    is_default: bool
    can_disable: bool
    variables: dict[str, str]
    sample: dict[str, str]
    updated_at: Any = None
    updated_by_id: int | None = None


def _view(kind: TemplateKind, row: MessageTemplate | None) -> TemplateView:
    return TemplateView(kind.key, kind.audience, kind.label, row.body if row else kind.default, kind.default,
                        row.enabled if row else True, row is None, kind.can_disable, kind.variables, kind.sample,
                        row.updated_at if row else None, row.updated_by_id if row else None)


async def list_templates(session: AsyncSession) -> list[TemplateView]:
    rows = {r.key: r for r in (await session.exec(select(MessageTemplate))).all()}
    return [_view(kind, rows.get(key)) for key, kind in KINDS.items()]


async def get_template(session: AsyncSession, key: str) -> TemplateView:
    kind = kind_of(key)
    return _view(kind, await session.get(MessageTemplate, key))


async def save_template(session: AsyncSession, actor: Actor, key: str, body: str, enabled: bool = True) -> TemplateView:
    kind = kind_of(key)
    text = check(kind, body)
    if not enabled and not kind.can_disable:
        raise ValidationFailed(details=[{"field": "enabled", "message": "Staff messages cannot be switched off here; "
                                         "each person chooses their channels in their notification settings."}])
    row = await session.get(MessageTemplate, key, with_for_update=True)
    before = _view(kind, row)
    if text == kind.default and enabled:
        if row is not None:
            await session.delete(row)
        row = None
    else:
        row = row or MessageTemplate(key=key, body=text)
        row.body, row.enabled, row.updated_at, row.updated_by_id = text, enabled, utcnow(), actor.user_id
        session.add(row)
    await session.flush()
    after = _view(kind, row)
    await audit.record(session, actor, "message_template.update", "message_template", key,
                       before={"body": before.body, "enabled": before.enabled},
                       after={"body": after.body, "enabled": after.enabled})
    return after


async def reset_template(session: AsyncSession, actor: Actor, key: str) -> TemplateView:
    kind = kind_of(key)
    row = await session.get(MessageTemplate, key, with_for_update=True)
    if row is not None:
        await audit.record(session, actor, "message_template.reset", "message_template", key,
                           before={"body": row.body, "enabled": row.enabled}, after={"body": kind.default, "enabled": True})
        await session.delete(row)
        await session.flush()
    return _view(kind, None)


def preview(key: str, body: str, values: dict[str, Any] | None = None) -> str:
    """The message `body` would give with the kind's sample values (ValidationFailed if it cannot)."""
    kind = kind_of(key)
    text = check(kind, body)
    return _render(text, {**kind.sample, **(values or {})}, kind.max_rendered)


async def render(session: AsyncSession, key: str, values: dict[str, Any]) -> str | None:
    """The message of this kind with `values`, as the administrators set it; None when switched off."""
    kind = kind_of(key)
    row = await session.get(MessageTemplate, key)
    if row is not None and not row.enabled:
        return None
    return render_text(kind, row.body if row else kind.default, values)
