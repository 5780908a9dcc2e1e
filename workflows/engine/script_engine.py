"""The restricted Python that BPMN scripts, conditions and expressions run in.

A diagram is code written by analysts, so it gets no imports, no I/O, no clock and no
builtins beyond an explicit allow-list, and it may not reach private attributes (the usual way
out of a restricted eval is `().__class__.__subclasses__()`). The checks are on the syntax
tree, once per distinct source text, so deploy-time validation and run time agree.
"""

from __future__ import annotations

import ast
import builtins
import functools
from collections.abc import Mapping
from types import CodeType
from typing import Any, Literal

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

Mode = Literal["eval", "exec"]

ALLOWED_BUILTINS = ("len", "min", "max", "str", "int", "float", "bool", "dict", "list", "sorted", "any", "all",
                    "round", "abs")


def _iso(amount: float, unit: str, time_part: bool) -> str:
    number = int(amount) if float(amount).is_integer() else amount
    return f"PT{number}{unit}" if time_part else f"P{number}{unit}"


def days(amount: float) -> str:
    """ISO 8601 duration for a timer: days(3) -> "P3D"."""
    return _iso(amount, "D", time_part=False)


def hours(amount: float) -> str:
    """ISO 8601 duration for a timer: hours(8) -> "PT8H"."""
    return _iso(amount, "H", time_part=True)


def minutes(amount: float) -> str:
    return _iso(amount, "M", time_part=True)


def seconds(amount: float) -> str:
    return _iso(amount, "S", time_part=True)


def coalesce(*values: Any) -> Any:
    """The first value that is not None (form fields left empty, optional process data)."""
    return next((value for value in values if value is not None), None)


HELPERS: dict[str, Any] = {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds, "coalesce": coalesce}
SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in ALLOWED_BUILTINS}
KNOWN_NAMES = frozenset(HELPERS) | frozenset(SAFE_BUILTINS)

_FORBIDDEN_NODES: dict[type[ast.AST], str] = {
    ast.Import: "imports are not allowed",
    ast.ImportFrom: "imports are not allowed",
    ast.Global: "'global' is not allowed",
    ast.Nonlocal: "'nonlocal' is not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.While: "'while' loops are not allowed (a loop that never ends stalls the ticket)",
    ast.AsyncFunctionDef: "async code is not allowed",
    ast.Await: "async code is not allowed",
    ast.Yield: "generators are not allowed",
    ast.YieldFrom: "generators are not allowed",
}


class UnsafeExpression(ValueError):
    """The source uses something the restricted language forbids."""


def _check_tree(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        for kind, reason in _FORBIDDEN_NODES.items():
            if isinstance(node, kind):
                raise UnsafeExpression(reason)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise UnsafeExpression(f"private attribute '{node.attr}' is not allowed")
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise UnsafeExpression(f"name '{node.id}' is not allowed")


@functools.lru_cache(maxsize=2048)
def compile_restricted(source: str, mode: Mode) -> CodeType:
    """Compile BPMN Python after checking it; raises SyntaxError or UnsafeExpression."""
    tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    _check_tree(tree)
    return compile(tree, "<string>", mode)  # Spiff looks for '<string>' frames to report line numbers


def check_source(source: str | None, mode: Mode) -> str | None:
    """None when the source compiles in the restricted language, else why not."""
    if source is None or not source.strip():
        return "it is empty"
    try:
        compile_restricted(source, mode)
    except SyntaxError as exc:
        return f"syntax error: {exc.msg} (line {exc.lineno})"
    except UnsafeExpression as exc:
        return str(exc)
    return None


def free_names(source: str, mode: Mode) -> set[str]:
    """Names the source reads that are neither helpers nor builtins (process data it needs)."""
    code = compile_restricted(source, mode)
    names: set[str] = set()

    def collect(obj: CodeType) -> None:
        names.update(obj.co_names)
        for const in obj.co_consts:
            if isinstance(const, CodeType):
                collect(const)

    collect(code)
    return names - KNOWN_NAMES


class RestrictedEnvironment(TaskDataEnvironment):
    """Spiff's task-data environment with our compiler and builtins. Task data is the scope;
    helpers and builtins are set last so data can never replace them."""

    def __init__(self) -> None:
        super().__init__(environment_globals=dict(HELPERS))

    def _scope(self, context: Mapping[str, Any], external_context: Mapping[str, Any] | None) -> dict[str, Any]:
        scope: dict[str, Any] = {}
        scope.update(external_context or {})
        scope.update(context)
        scope.update(self.globals)
        scope["__builtins__"] = SAFE_BUILTINS
        return scope

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        return eval(compile_restricted(expression, "eval"), self._scope(context, external_context))

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        code = compile_restricted(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        context.update(external_context or {})
        context.update(self.globals)
        context["__builtins__"] = SAFE_BUILTINS
        try:
            exec(code, context)  # noqa: S102 - restricted: checked tree, allow-listed builtins
        finally:
            # Spiff's clean-up: drops __builtins__, helpers, external names and any callable.
            self._remove_globals_and_functions_from_context(context, external_context)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise NotImplementedError("service tasks are Temporal activities (workflows.engine.specs.ServiceCallTask)")


class RestrictedScriptEngine(PythonScriptEngine):
    def __init__(self) -> None:
        super().__init__(environment=RestrictedEnvironment())

    def validate(self, expression: str) -> None:
        compile_restricted(expression, "eval")
