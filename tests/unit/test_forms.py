"""The user-task form subset: conditional requirements (if / then / else) as the dispatch form
uses them, and the refusals an analyst gets at deploy time for shapes we do not support."""

from __future__ import annotations

import pytest

from workflows.engine.forms import check_schema, validate_form

DISPATCH = {
    "type": "object", "required": [],
    "properties": {"decision": {"type": "string", "enum": ["dispatch", "spam"]},
                   "unit_path": {"type": "string", "maxLength": 200}, "note": {"type": "string", "maxLength": 2000}},
    "if": {"properties": {"decision": {"const": "spam"}}, "required": ["decision"]},
    "then": {"required": ["note"]}, "else": {"required": ["unit_path"]},
}


def test_the_dispatch_form_is_a_valid_schema() -> None:
    assert check_schema(DISPATCH) == []


@pytest.mark.parametrize(("data", "problems"), [
    ({"unit_path": "/1/5/"}, []),  # the decision may be left out: a dispatch
    ({"decision": "dispatch", "unit_path": "/1/5/"}, []),
    ({"decision": "spam", "note": "Gọi quấy rối"}, []),
    ({}, ["field 'unit_path' is required"]),
    ({"decision": "dispatch"}, ["field 'unit_path' is required"]),
    ({"decision": "spam"}, ["field 'note' is required"]),
    ({"decision": "spam", "unit_path": "/1/5/"}, ["field 'note' is required"]),
    ({"decision": "other", "unit_path": "/1/"}, ["field 'decision' must be one of dispatch, spam"]),
])
def test_a_condition_chooses_which_fields_are_required(data: dict, problems: list[str]) -> None:
    assert validate_form(DISPATCH, data) == problems


def test_an_enum_condition_and_a_missing_else() -> None:
    schema = {"type": "object", "properties": {"kind": {"type": "string"}, "reason": {"type": "string"}},
              "if": {"properties": {"kind": {"enum": ["reject", "return"]}}}, "then": {"required": ["reason"]}}
    assert check_schema(schema) == []
    assert validate_form(schema, {"kind": "return"}) == ["field 'reason' is required"]
    assert validate_form(schema, {"kind": "approve"}) == []


@pytest.mark.parametrize(("part", "problem"), [
    ({"if": {"properties": {"x": {"const": 1}}}}, "'if' tests field 'x', which is not declared in properties"),
    ({"if": {"properties": {"a": {"minLength": 1}}}}, "'if' must test field 'a' with exactly one 'const' or 'enum'"),
    ({"if": {"allOf": []}}, "'if' must hold 'properties' (each with 'const' or 'enum') and optionally 'required'"),
    ({"if": {"properties": {"a": {"const": "x"}}}, "then": {"properties": {}}},
     "'then' may hold only 'required' (a list of field names)"),
    ({"if": {"properties": {"a": {"const": "x"}}}, "else": {"required": ["zz"]}},
     "'else' requires field 'zz', which is not declared in properties"),
])
def test_unsupported_conditions_are_refused_at_deploy_time(part: dict, problem: str) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, **part}
    assert problem in check_schema(schema)


def test_a_field_may_say_what_it_refers_to_but_only_known_references() -> None:
    base = {"type": "object", "properties": {"unit_path": {"type": "string", "format": "org-unit-path"},
                                             "officer": {"type": "string", "format": "username"}}}
    assert check_schema(base) == []
    assert validate_form(base, {"unit_path": "/1/5/", "officer": "cv.tranbien"}) == []
    wrong = {"type": "object", "properties": {"when": {"type": "string", "format": "date-time"},
                                              "count": {"type": "integer", "format": "username"}}}
    assert check_schema(wrong) == [
        "field 'when': format applies to strings and must be one of org-unit-path, username",
        "field 'count': format applies to strings and must be one of org-unit-path, username"]
