"""How the system log reads to a person: actions and entity types in words, before/after as a
list of fields with the changed ones marked, a one-line summary per entry, and the Excel
export's columns (Vietnamese headers, times as dates)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.models.audit import AuditLogPublic
from core.services.audit import PII_ACTIONS
from reports.xlsx import Column, Kind
from ui.i18n import N_, Gettext

ACTION_LABELS = {
    "create": N_("Created"),
    "update": N_("Changed"),
    "delete": N_("Deleted"),
    "deactivate": N_("Deactivated"),
    "sla.update": N_("Processing time changed"),
    "profile.update": N_("Own profile changed"),
    "password.set": N_("Password set by an administrator"),
    "password.change": N_("Password changed"),
    "password.reset_requested": N_("Password reset requested"),
    "password.reset": N_("Password reset"),
    "notification_settings.update": N_("SMS notification settings changed"),
    "pii.read": N_("Personal data viewed (one report)"),
    "pii.list": N_("Personal data viewed (a list)"),
    "attachment.read": N_("Attachment opened"),
    "tickets.export": N_("Reports exported to Excel"),
    "process.retry": N_("Failed processing step retried"),
    "audit.export": N_("System log exported to Excel"),
}
ENTITY_LABELS = {
    "user": N_("User"),
    "role": N_("Role"),
    "menu": N_("Menu"),
    "permission_group": N_("Permission group"),
    "org_unit": N_("Unit"),
    "area": N_("Area"),
    "ticket_field": N_("Field"),
    "auto_dispatch_rule": N_("Auto-dispatch rule"),
    "ticket": N_("Report"),
    "audit_log": N_("System log"),
}
# The usual names of a row's columns; others are shown as they are stored.
KEY_LABELS = {
    "name": N_("Name"), "code": N_("Record code"), "active": N_("In use"), "priority": N_("Priority"),
    "field_ids": N_("Fields"), "area_id": N_("Area"), "unit_id": N_("Unit"), "parent_id": N_("Parent"),
    "full_name": N_("Full name"), "username": N_("Username"), "email": N_("Email"), "phone": N_("Phone number"),
    "address": N_("Address"), "sla_hours": N_("Processing time (hours)"), "description": N_("Record description"),
    "created_at": N_("Created at"), "updated_at": N_("Updated at"), "codes": N_("Reports"),
    "rows": N_("Rows"), "filters": N_("Filters"), "pii": N_("Personal data unmasked"),
}
PII_LABEL = N_("Personal data")


@dataclass(frozen=True)
class DiffLine:
    key: str
    label: str
    before: str
    after: str
    changed: bool


def action_label(action: str, _: Gettext) -> str:
    return _(ACTION_LABELS[action]) if action in ACTION_LABELS else action


def entity_label(entity: str, _: Gettext) -> str:
    return _(ENTITY_LABELS[entity]) if entity in ENTITY_LABELS else entity


def is_pii(entry: AuditLogPublic) -> bool:
    return entry.action in PII_ACTIONS


def shown(value: Any, _: Gettext) -> str:
    """A stored value as a person reads it: yes/no, lists joined, nested data as compact JSON."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def diff(entry: AuditLogPublic, _: Gettext) -> list[DiffLine]:
    """Every key of before and after, changed ones first (in the stored order), then the rest."""
    before, after = entry.before or {}, entry.after or {}
    keys = list(dict.fromkeys([*before, *after]))
    lines = [DiffLine(k, _(KEY_LABELS[k]) if k in KEY_LABELS else k, shown(before.get(k), _), shown(after.get(k), _),
                      (k in before) != (k in after) or before.get(k) != after.get(k)) for k in keys]
    return [line for line in lines if line.changed] + [line for line in lines if not line.changed]


def changed_keys(entry: AuditLogPublic) -> list[str]:
    if entry.before is None or entry.after is None:
        return []
    keys = dict.fromkeys([*entry.before, *entry.after])
    return [k for k in keys if k != "updated_at" and entry.before.get(k) != entry.after.get(k)]


def summary(entry: AuditLogPublic, _: Gettext) -> str:
    """One line for the table: what changed, or what was read."""
    if entry.before is not None and entry.after is not None:
        keys = changed_keys(entry)
        if not keys:
            return _("Nothing changed")
        parts = []
        for key in keys[:3]:
            label = _(KEY_LABELS[key]) if key in KEY_LABELS else key
            parts.append(f"{label}: {_truncate(shown(entry.before.get(key), _))} → {_truncate(shown(entry.after.get(key), _))}")
        more = len(keys) - 3
        return "; ".join(parts) + (" " + _("and {count} other changes", count=more) if more > 0 else "")
    data = entry.after or entry.before or {}
    if "codes" in data and isinstance(data["codes"], list):
        return _("{count} reports: {codes}", count=len(data["codes"]), codes=_truncate(", ".join(map(str, data["codes"]))))
    if "name" in data:
        return str(data["name"])
    if "filename" in data:
        return str(data["filename"])
    if "rows" in data:
        return _("{count} rows", count=data["rows"])
    return ""


def _truncate(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def export_columns(_: Gettext) -> list[Column]:
    return [
        Column(_("Entry no."), 11, Kind.number), Column(_("Time"), 17, Kind.datetime), Column(_("Username"), 16),
        Column(_("Performed by"), 24), Column(_("Action"), 28), Column(_("Object type"), 20),
        Column(_("Object ID"), 14), Column(_("Changed fields"), 30), Column(_("Before"), 60), Column(_("After"), 60),
        Column(_("IP address"), 16), Column(_("Request ID"), 20),
    ]


def export_values(entry: AuditLogPublic, full_name: str | None, _: Gettext) -> tuple[Any, ...]:
    def as_json(data: dict[str, Any] | None) -> str | None:
        return json.dumps(data, ensure_ascii=False, sort_keys=True) if data is not None else None

    return (entry.id, entry.at, entry.actor_name, full_name, action_label(entry.action, _),
            entity_label(entry.entity, _), entry.entity_id, ", ".join(changed_keys(entry)) or None,
            as_json(entry.before), as_json(entry.after), entry.ip, entry.request_id)
