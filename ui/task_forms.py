"""A user task's form, from the `form_schema` its BPMN declares (the subset of
workflows/engine/forms.py): which inputs to draw, which to show or require when another field
has a given value, and the submitted values turned into the task's data.

The engine stays the judge of a completion; this only draws the form and says, next to each
field and in the page's language, what is missing before anything is sent. Two sources of
conditions: the schema's own `if`/`then`/`else` (the dispatch form: a unit, or a reason for
spam), and what a field obviously belongs to (an officer only when assigning an officer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.i18n import translate
from core.services.work_queue import Choice
from ui.i18n import N_

REQUIRED = N_("This field is required.")
NOT_A_CHOICE = N_("Choose one of the listed options.")
TOO_LONG = N_("Too long (at most {max_length} characters).")
NOT_A_NUMBER = N_("Must be a number.")

UNIT_FIELDS = ("unit_path", "subunit_path", "support_unit_path")
OFFICER_FIELDS = ("officer",)
TEXTAREA_FROM = 500  # strings allowed longer than this get a text area

FIELD_LABELS = {
    "decision": N_("Decision"), "unit_path": N_("Unit to handle it"), "note": N_("Note or reason"),
    "officer": N_("Officer"), "subunit_path": N_("Subordinate unit"), "outcome": N_("Outcome"),
    "result": N_("Result of the processing"), "support_unit_path": N_("Unit asked for support"),
    "answer": N_("Answer"),
}
OPTION_LABELS = {
    ("decision", "dispatch"): N_("Dispatch to a unit"), ("decision", "spam"): N_("Mark as spam"),
    ("decision", "delete"): N_("Delete (entered by mistake or a duplicate)"),
    ("decision", "officer"): N_("Assign an officer"), ("decision", "subunit"): N_("Pass to a subordinate unit"),
    ("decision", "approve"): N_("Approve"), ("decision", "reject"): N_("Reject and send back"),
    ("outcome", "result"): N_("Send the result"), ("outcome", "spam"): N_("Report as spam"),
    ("outcome", "out_of_area"): N_("Report as out of area"), ("outcome", "support"): N_("Ask another unit for support"),
}
# Fields that belong to one answer of another field: shown, and required, only then.
BELONGS_TO = {
    "officer": ("decision", ("officer",)), "subunit_path": ("decision", ("subunit",)),
    "result": ("outcome", ("result",)), "support_unit_path": ("outcome", ("support",)),
}
# A reason is required for these answers (the engine accepts none, people need one).
REASON_FOR = {"decision": ("reject",), "outcome": ("spam", "out_of_area", "support")}


@dataclass(frozen=True)
class Condition:
    """`field` has one of `values` (or, negated, has none of them: also when it is empty)."""

    field: str
    values: tuple[Any, ...]
    negate: bool = False

    def holds(self, data: Mapping[str, Any]) -> bool:
        return (data.get(self.field) in self.values) != self.negate

    @property
    def attr(self) -> str:
        """For the page's script: `decision=spam|other` or `decision!=spam`."""
        return f"{self.field}{'!=' if self.negate else '='}{'|'.join(str(v) for v in self.values)}"


@dataclass
class FormField:
    name: str
    label: str
    widget: str  # radio | select | textarea | input | number | checkbox
    kind: str  # the schema type
    required: bool = False
    required_when: list[Condition] = field(default_factory=list)
    show_when: Condition | None = None
    options: list[Choice] = field(default_factory=list)
    max_length: int | None = None
    default: str = ""  # preselected: the first answer of an optional choice (dispatch: "to a unit")

    def required_for(self, data: Mapping[str, Any]) -> bool:
        return self.required or any(c.holds(data) for c in self.required_when)

    @property
    def required_attr(self) -> str:
        return " ".join(c.attr for c in self.required_when)


def _branch_conditions(schema: Mapping[str, Any]) -> tuple[Condition | None, list[str], list[str]]:
    condition = schema.get("if")
    if not isinstance(condition, dict) or len(condition.get("properties", {})) != 1:
        return None, [], []
    (name, test), = condition["properties"].items()
    values = (test["const"],) if "const" in test else tuple(test.get("enum", ()))
    return Condition(name, values), list(schema.get("then", {}).get("required", [])), \
        list(schema.get("else", {}).get("required", []))


def build_form(schema: Mapping[str, Any] | None, choices: Mapping[str, Sequence[Choice]], locale: str) -> list[FormField]:
    """The form's fields in schema order; `choices` gives pickers' options by field name."""
    schema = schema or {}
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    condition, then_required, else_required = _branch_conditions(schema)
    fields: list[FormField] = []
    for name, spec in properties.items():
        kind = spec.get("type", "string")
        label = translate(FIELD_LABELS[name], locale) if name in FIELD_LABELS else spec.get("title") or name
        item = FormField(name, label, "input", kind, required=name in required, max_length=spec.get("maxLength"))
        if "enum" in spec:
            item.widget = "radio" if len(spec["enum"]) <= 5 else "select"
            item.options = [Choice(str(v), translate(OPTION_LABELS[(name, v)], locale) if (name, v) in OPTION_LABELS
                                   else str(v)) for v in spec["enum"]]
            item.default = "" if item.required else item.options[0].value
        elif name in choices:
            item.widget, item.options = "select", list(choices[name])
        elif kind in ("integer", "number"):
            item.widget = "number"
        elif kind == "boolean":
            item.widget = "checkbox"
        elif (spec.get("maxLength") or 10_000) > TEXTAREA_FROM:
            item.widget = "textarea"
        if condition is not None:
            for branch, names in ((condition, then_required), (Condition(condition.field, condition.values, True), else_required)):
                if name in names:
                    item.required_when.append(branch)
                    if name in choices:
                        item.show_when = branch
        owner = BELONGS_TO.get(name)
        if owner and owner[0] in properties and set(owner[1]) <= set(properties[owner[0]].get("enum", ())):
            item.show_when = Condition(*owner)
            item.required_when.append(item.show_when)
        if name == "note":
            item.required_when += [Condition(f, v) for f, v in REASON_FOR.items() if f in properties]
        fields.append(item)
    return fields


def initial_values(fields: Sequence[FormField]) -> dict[str, str]:
    return {f.name: f.default for f in fields if f.default}


def read_data(fields: Sequence[FormField], form: Mapping[str, str], locale: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The task data from the submitted form (hidden and empty fields left out) and the
    messages per field; the data is only sent when there are none."""
    raw: dict[str, Any] = {f.name: form.get(f.name, "").strip() or None for f in fields}
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for f in fields:
        if f.show_when is not None and not f.show_when.holds(raw):
            continue
        value = raw[f.name]
        if value is None:
            if f.required_for(raw):
                errors[f.name] = [translate(REQUIRED, locale)]
            continue
        if f.options and value not in {o.value for o in f.options}:
            errors[f.name] = [translate(NOT_A_CHOICE, locale)]
            continue
        if f.kind in ("integer", "number"):
            try:
                value = int(value) if f.kind == "integer" else float(value)
            except ValueError:
                errors[f.name] = [translate(NOT_A_NUMBER, locale)]
                continue
        elif f.kind == "boolean":
            value = value in ("1", "true", "on")
        elif f.max_length is not None and len(value) > f.max_length:
            errors[f.name] = [translate(TOO_LONG, locale, max_length=f.max_length)]
            continue
        data[f.name] = value
    return data, errors


def engine_refusal(message: str, fields: Sequence[FormField], locale: str) -> tuple[dict[str, list[str]], str | None]:
    """The engine's form refusal ("field 'x' is required", …) placed next to field x when it names one."""
    for f in fields:
        if f"field '{f.name}'" in message:
            text = REQUIRED if "is required" in message else NOT_A_CHOICE
            return {f.name: [translate(text, locale)]}, None
    return {}, translate("Some fields are not valid.", locale)
