"""The ARI protocol of Asterisk 22, read from Asterisk's own Swagger 1.2 declarations.

`tests/fixtures/ari-22/*.json` are the `rest-api/api-docs` files of Asterisk 22 (see README.md there).
This module turns them into two checks used by the ARI double (`tests/doubles/ari_double.py`):

- `check_request(method, path, query, body) -> Operation`: the request must name a declared
  resource path and method; every query parameter (or JSON body field, which Asterisk's generated
  handlers also read parameters from) must be declared for that operation; required parameters must
  be present; values must parse as the declared type (int, long, boolean, ...) and lie within the
  declared `allowableValues` (LIST or RANGE); a parameter without `allowMultiple` takes one value.
  A refusal raises `ContractError(status, message)` with the answer real Asterisk gives
  (res/res_ari.c: 404 "Resource not found" for an unknown path, 405 "Invalid method" for an
  undeclared method, 400 for parameters). Note: real Asterisk silently *ignores* unknown parameters;
  the double refuses them so that a misspelt parameter cannot go unnoticed in tests.
- `check_event(event)`: the event must be a declared subtype of `Message`/`Event` in events.json,
  have every required field (the model's own plus `type`, `application`, `timestamp`), no
  undocumented field (as res/ari/ari_model_validators.c enforces), and every field of the declared
  type, object models and `List[...]` checked recursively.
- `check_model(type_name, value)`: the same check for any declared model or type (REST answers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ari-22"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)$")
_TRUE = {"true", "yes", "1", "on", "y", "t"}
_FALSE = {"false", "no", "0", "off", "n", "f"}


class ContractError(Exception):
    """A request or event that Asterisk's declarations do not allow."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Operation:
    """A matched, checked ARI operation."""

    resource: str  # declaration file stem: "channels", "bridges", ...
    nickname: str  # e.g. "originate", "addChannel"
    method: str
    path: str  # the declared template, e.g. "/channels/{channelId}"
    response_class: str
    path_params: dict[str, str] = field(default_factory=dict)
    # query parameters (from the query string and from JSON body fields), parsed to their types;
    # allowMultiple ones are lists
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # declared body parameters ("variables", "fields", "filter")

    @property
    def key(self) -> str:
        return f"{self.resource}.{self.nickname}"


@dataclass
class _Api:
    resource: str
    path: str
    segments: list[str]
    operations: dict[str, dict]


class AriContract:
    def __init__(self, directory: Path = FIXTURES) -> None:
        self.apis: list[_Api] = []
        self.models: dict[str, dict] = {}
        for file in sorted(directory.glob("*.json")):
            declaration = json.loads(file.read_text(encoding="utf-8"))
            for api in declaration.get("apis", []):
                self.apis.append(_Api(
                    resource=file.stem, path=api["path"], segments=api["path"].strip("/").split("/"),
                    operations={op["httpMethod"].upper(): op for op in api["operations"]}))
            self.models.update(declaration.get("models", {}))
        self._parents: dict[str, str] = {}
        for name, model in self.models.items():
            for sub in model.get("subTypes", []):
                self._parents[sub] = name

    # ---- requests -------------------------------------------------------------------------------

    def _match(self, path: str) -> tuple[_Api, dict[str, str]] | None:
        if path.startswith("/ari/"):
            path = path[4:]
        segments = path.strip("/").split("/")
        best: tuple[int, _Api, dict[str, str]] | None = None
        for api in self.apis:
            if len(api.segments) != len(segments):
                continue
            variables: dict[str, str] = {}
            literals = 0
            for declared, actual in zip(api.segments, segments, strict=True):
                if declared.startswith("{") and declared.endswith("}"):
                    if not actual:
                        break
                    variables[declared[1:-1]] = actual
                elif declared == actual:
                    literals += 1
                else:
                    break
            else:
                # Asterisk resolves path segments literal-first (POST /channels/create is "create")
                if best is None or literals > best[0]:
                    best = (literals, api, variables)
        return None if best is None else (best[1], best[2])

    def check_request(self, method: str, path: str, query: Mapping[str, Any] | None = None,
                      body: Any = None) -> Operation:
        matched = self._match(path)
        if matched is None:
            raise ContractError(404, "Resource not found")
        api, path_params = matched
        op = api.operations.get(method.upper())
        if op is None:
            raise ContractError(405, "Invalid method")
        declared = {p["name"]: p for p in op.get("parameters", [])}
        query_decl = {n: p for n, p in declared.items() if p["paramType"] == "query"}
        body_decl = {n: p for n, p in declared.items() if p["paramType"] == "body"}

        raw: dict[str, list[str]] = {}
        for name, value in (query or {}).items():
            values = value if isinstance(value, list | tuple) else [value]
            if name not in query_decl:
                raise ContractError(400, f"Unknown query parameter '{name}' for {method.upper()} {api.path}")
            raw.setdefault(name, []).extend(str(v) for v in values)
        body_params: dict[str, Any] = {}
        if body is not None and body != {}:
            if not isinstance(body, dict):
                raise ContractError(400, "Error parsing request body")
            for name, value in body.items():
                if name in body_decl:
                    expected = body_decl[name]["dataType"]
                    if expected in ("containers", "object") and not isinstance(value, dict):
                        raise ContractError(400, f"Body field '{name}' must be an object")
                    body_params[name] = value
                elif name in query_decl:  # generated handlers read query parameters from the body too
                    raw.setdefault(name, []).append(_body_scalar(value))
                else:
                    raise ContractError(400, f"Unknown body field '{name}' for {method.upper()} {api.path}")

        params: dict[str, Any] = {}
        for name, values in raw.items():
            spec = query_decl[name]
            if spec.get("allowMultiple"):
                items = [item for v in values for item in v.split(",") if item != ""]
                params[name] = [_parse(name, item, spec) for item in items]
            else:
                if len(values) > 1:
                    raise ContractError(400, f"Parameter '{name}' does not take multiple values")
                params[name] = _parse(name, values[0], spec)
        for name, spec in declared.items():
            if not spec.get("required"):
                continue
            if spec["paramType"] == "path":
                continue
            present = name in params if spec["paramType"] == "query" else name in body_params
            if not present or params.get(name) in ("", []):
                raise ContractError(400, f"Missing required parameter '{name}'")
        return Operation(resource=api.resource, nickname=op["nickname"], method=method.upper(), path=api.path,
                         response_class=op.get("responseClass", "void"), path_params=path_params,
                         params=params, body=body_params or None)

    # ---- models and events ----------------------------------------------------------------------

    def _chain(self, model: str) -> list[str]:
        chain = [model]
        while chain[-1] in self._parents:
            chain.append(self._parents[chain[-1]])
        return chain

    def _properties(self, model: str) -> dict[str, dict]:
        props: dict[str, dict] = {}
        for name in reversed(self._chain(model)):
            props.update(self.models[name].get("properties", {}))
        return props

    def check_event(self, event: Any) -> None:
        if not isinstance(event, dict):
            raise ContractError(500, "An event must be a JSON object")
        kind = event.get("type")
        if not isinstance(kind, str):
            raise ContractError(500, "Event has no string 'type'")
        if kind not in self.models or "Message" not in self._chain(kind) or kind == "Message":
            raise ContractError(500, f"Undeclared event type {kind!r}")
        if "Event" not in self._chain(kind) and kind != "MissingParams":
            raise ContractError(500, f"{kind!r} is not an Event")
        problems: list[str] = []
        self._check_object(kind, event, kind, problems)
        if problems:
            raise ContractError(500, "; ".join(problems))

    def check_model(self, type_name: str, value: Any) -> None:
        problems: list[str] = []
        self._check_type(type_name, value, type_name, problems)
        if problems:
            raise ContractError(500, "; ".join(problems))

    def _check_object(self, model: str, value: Any, where: str, problems: list[str]) -> None:
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a {model} object, got {type(value).__name__}")
            return
        props = self._properties(model)
        for name, spec in props.items():
            if spec.get("required") and name not in value:
                problems.append(f"{where}: missing required field '{name}'")
        for name, item in value.items():
            spec = props.get(name)
            if spec is None:
                problems.append(f"{where}: undocumented field '{name}'")
                continue
            self._check_type(spec["type"], item, f"{where}.{name}", problems)
            allowed = spec.get("allowableValues")
            if allowed and allowed.get("valueType") == "LIST" and item not in allowed["values"]:
                problems.append(f"{where}.{name}: {item!r} not in {allowed['values']}")

    def _check_type(self, type_name: str, value: Any, where: str, problems: list[str]) -> None:
        if type_name.startswith("List[") and type_name.endswith("]"):
            if not isinstance(value, list):
                problems.append(f"{where}: expected a list, got {type(value).__name__}")
                return
            for i, item in enumerate(value):
                self._check_type(type_name[5:-1], item, f"{where}[{i}]", problems)
            return
        t = type_name.lower()
        ok = True
        if t == "string":
            ok = isinstance(value, str)
        elif t in ("int", "long"):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif t == "double":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif t == "boolean":
            ok = isinstance(value, bool)
        elif t == "date":
            ok = isinstance(value, str) and bool(_DATE.match(value))
        elif t in ("object", "containers"):
            ok = isinstance(value, dict)
        elif t in ("void", "binary"):
            return
        elif type_name in self.models:
            self._check_object(type_name, value, where, problems)
            return
        else:
            problems.append(f"{where}: undeclared type {type_name!r}")
            return
        if not ok:
            problems.append(f"{where}: {value!r} is not a {type_name}")


def _body_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _parse(name: str, value: str, spec: dict) -> Any:
    kind = spec.get("dataType", "string")
    parsed: Any = value
    if kind in ("int", "long"):
        try:
            parsed = int(value)
        except ValueError:
            raise ContractError(400, f"Parameter '{name}' must be an integer, got {value!r}") from None
    elif kind == "double":
        try:
            parsed = float(value)
        except ValueError:
            raise ContractError(400, f"Parameter '{name}' must be a number, got {value!r}") from None
    elif kind == "boolean":
        if value.lower() in _TRUE:
            parsed = True
        elif value.lower() in _FALSE:
            parsed = False
        else:
            raise ContractError(400, f"Parameter '{name}' must be a boolean, got {value!r}")
    allowed = spec.get("allowableValues") or {}
    if allowed.get("valueType") == "LIST" and parsed not in allowed["values"]:
        raise ContractError(400, f"Parameter '{name}' value {value!r} is not one of {allowed['values']}")
    if allowed.get("valueType") == "RANGE":
        low, high = allowed.get("min"), allowed.get("max")
        if (low is not None and parsed < low) or (high is not None and parsed > high):
            raise ContractError(400, f"Parameter '{name}' value {value!r} is outside [{low}, {high}]")
    return parsed


_DEFAULT: AriContract | None = None


def contract() -> AriContract:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = AriContract()
    return _DEFAULT


def check_request(method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None) -> Operation:
    return contract().check_request(method, path, query, body)


def check_event(event: Any) -> None:
    contract().check_event(event)


def check_model(type_name: str, value: Any) -> None:
    contract().check_model(type_name, value)
