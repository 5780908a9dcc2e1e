"""A small, strict validator for the JSON-schema subset user-task forms use.

Supported: a top-level `{"type": "object", "required": [...], "properties": {...}}` whose
properties have `type` string / integer / number / boolean, and optionally `enum`,
`minLength` / `maxLength` (strings), `minimum` / `maximum` (numbers), plus the annotations
`title` / `description`. Fields the schema does not declare are refused: form data is merged
into the process data, so an undeclared field could overwrite a process variable.

A string field may say what it refers to: `"format": "org-unit-path"` or `"username"`; the API
checks those against the database before the workflow sees the form.

Conditional requirements, JSON Schema's `if` / `then` / `else` in one narrow shape: `if` holds
`properties` whose fields state a `const` or an `enum` (and may list `required`), `then` and
`else` hold only `required`. E.g. a dispatch form needs `unit_path`, unless the decision is
"spam", which needs a `note` instead.

Why not jsonschema-rs: it does run in the Temporal sandbox (checked: it imports and validates,
with a late-import warning unless passed through), but it accepts all of JSON Schema while a
form must stay within what the inbox can render and we can refuse at deploy time, and its
messages are not ours to keep stable. This subset is a page of code.
"""

from __future__ import annotations

import math
from typing import Any

from core.engine_types import REFERENCE_FORMATS

_TYPES = ("string", "integer", "number", "boolean")
_TOP_KEYS = {"type", "required", "properties", "title", "description", "additionalProperties", "if", "then", "else"}
_FIELD_KEYS = {"type", "enum", "minLength", "maxLength", "minimum", "maximum", "title", "description", "format"}



def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _matches_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return _is_number(value)


def check_schema(schema: Any) -> list[str]:
    """Problems that make `schema` unusable (empty when it is a valid form schema)."""
    if not isinstance(schema, dict):
        return ["the form schema must be a JSON object"]
    problems = [f"unsupported schema keyword '{key}'" for key in sorted(set(schema) - _TOP_KEYS)]
    if schema.get("type") != "object":
        problems.append("the form schema must have \"type\": \"object\"")
    if schema.get("additionalProperties", False) is not False:
        problems.append("additionalProperties must be false (undeclared fields are always refused)")
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        return [*problems, "'properties' must be an object"]
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
        problems.append("'required' must be a list of field names")
    else:
        problems += [f"required field '{name}' is not declared in properties" for name in required
                     if name not in properties]
    for name, field in properties.items():
        problems += [f"field '{name}': {problem}" for problem in _check_field(name, field)]
    problems += _check_condition(schema, properties if isinstance(properties, dict) else {})
    return problems


def _check_condition(schema: dict[str, Any], properties: dict[str, Any]) -> list[str]:
    if not any(key in schema for key in ("if", "then", "else")):
        return []
    condition = schema.get("if")
    if not isinstance(condition, dict) or set(condition) - {"properties", "required"} \
            or not isinstance(condition.get("properties"), dict) or not condition["properties"]:
        return ["'if' must hold 'properties' (each with 'const' or 'enum') and optionally 'required'"]
    problems = []
    for name, test in condition["properties"].items():
        if name not in properties:
            problems.append(f"'if' tests field '{name}', which is not declared in properties")
        if not isinstance(test, dict) or len(test) != 1 or not ("const" in test or isinstance(test.get("enum"), list)):
            problems.append(f"'if' must test field '{name}' with exactly one 'const' or 'enum'")
    for branch in ("then", "else"):
        part = schema.get(branch, {"required": []})
        if not isinstance(part, dict) or set(part) != {"required"} or not isinstance(part["required"], list):
            problems.append(f"'{branch}' may hold only 'required' (a list of field names)")
            continue
        problems += [f"'{branch}' requires field '{name}', which is not declared in properties"
                     for name in part["required"] if name not in properties]
    return problems


def _condition_holds(condition: dict[str, Any], data: dict[str, Any]) -> bool:
    """JSON Schema semantics: a tested field that is absent passes, unless `required`."""
    if any(data.get(name) is None for name in condition.get("required", [])):
        return False
    for name, test in condition["properties"].items():
        value = data.get(name)
        if value is None:
            continue
        if ("const" in test and value != test["const"]) or ("enum" in test and value not in test["enum"]):
            return False
    return True


def _check_field(name: str, field: Any) -> list[str]:
    if name.startswith("_"):
        return ["field names may not start with '_'"]
    if not isinstance(field, dict):
        return ["must be an object"]
    problems = [f"unsupported keyword '{key}'" for key in sorted(set(field) - _FIELD_KEYS)]
    kind = field.get("type")
    if kind not in _TYPES:
        return [*problems, f"type must be one of {', '.join(_TYPES)}"]
    if "format" in field and (kind != "string" or field["format"] not in REFERENCE_FORMATS):
        problems.append(f"format applies to strings and must be one of {', '.join(REFERENCE_FORMATS)}")
    if "enum" in field and (not isinstance(field["enum"], list) or not field["enum"]
                            or not all(_matches_type(v, kind) for v in field["enum"])):
        problems.append(f"enum must be a non-empty list of {kind} values")
    for key in ("minLength", "maxLength"):
        if key in field and (kind != "string" or not isinstance(field[key], int) or field[key] < 0):
            problems.append(f"{key} applies to strings and must be a non-negative integer")
    for key in ("minimum", "maximum"):
        if key in field and (kind not in ("integer", "number") or not _is_number(field[key])):
            problems.append(f"{key} applies to numbers and must be a number")
    return problems


def validate_form(schema: dict[str, Any], data: Any) -> list[str]:
    """Problems with `data` against a schema that passed check_schema (empty when valid)."""
    if not isinstance(data, dict):
        return ["the form data must be a JSON object"]
    properties: dict[str, dict[str, Any]] = schema.get("properties", {})
    required = list(schema.get("required", []))
    if "if" in schema:
        branch = schema.get("then" if _condition_holds(schema["if"], data) else "else", {})
        required += [name for name in branch.get("required", []) if name not in required]
    problems = [f"field '{name}' is required" for name in required if data.get(name) is None]
    problems += [f"field '{name}' is not part of this form" for name in sorted(set(data) - set(properties))]
    for name, field in properties.items():
        value = data.get(name)
        if value is not None:
            problems += [f"field '{name}' {problem}" for problem in _field_problems(field, value)]
    return problems


def _field_problems(field: dict[str, Any], value: Any) -> list[str]:
    kind = field["type"]
    if not _matches_type(value, kind):
        return [f"must be {'an' if kind == 'integer' else 'a'} {kind}"]
    problems = []
    if "enum" in field and value not in field["enum"]:
        problems.append(f"must be one of {', '.join(str(option) for option in field['enum'])}")
    if "minLength" in field and len(value) < field["minLength"]:
        problems.append(f"must have at least {field['minLength']} characters")
    if "maxLength" in field and len(value) > field["maxLength"]:
        problems.append(f"must have at most {field['maxLength']} characters")
    if "minimum" in field and value < field["minimum"]:
        problems.append(f"must be at least {field['minimum']}")
    if "maximum" in field and value > field["maximum"]:
        problems.append(f"must be at most {field['maximum']}")
    return problems

