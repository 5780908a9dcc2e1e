"""What the unit and area screens share: tree nodes for templates/admin/_tree.html, lenient
query parameters, confirmation pages (or their dialog fragment) and the field errors of a
refused form."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response

from core.i18n import translate
from core.types import MAX_DB_ID
from ui.forms import FieldErrors
from ui.pages.common import render_signed_in
from ui.templating import render

T = TypeVar("T")
REQUIRED_MESSAGE = "This field is required."  # core's message id (the API says the same)


@dataclass
class TreeNode:
    """One node of a link tree (see the macro's comment for what each part does)."""

    id: int
    label: str
    url: str
    meta: str | None = None
    has_children: bool = False
    children: list[TreeNode] | None = field(default=None)
    load_url: str | None = None
    expanded: bool = False
    current: bool = False
    inactive: bool = False


def build_tree(rows: Iterable[T], node_of: Callable[[T], TreeNode], parent_of: Callable[[T], int | None],
               open_ids: set[int]) -> list[TreeNode]:
    """Nodes nested by parent, in the rows' order; `open_ids` are expanded. A row whose parent
    is not among the rows is a root (so a subtree can be drawn on its own)."""
    nodes: dict[int, TreeNode] = {}
    parents: dict[int, int | None] = {}
    for row in rows:
        node = node_of(row)
        nodes[node.id] = node
        parents[node.id] = parent_of(row)
    roots: list[TreeNode] = []
    for node_id, node in nodes.items():
        parent = nodes.get(parents[node_id]) if parents[node_id] is not None else None  # type: ignore[arg-type]
        if parent is None:
            roots.append(node)
        else:
            parent.children = [*(parent.children or []), node]
            parent.has_children = True
    for node in nodes.values():
        node.expanded = node.has_children and node.id in open_ids
    return roots


def path_ids(path: str | None) -> list[int]:
    """"/1/5/9/" -> [1, 5, 9]: a materialized path's ancestors, root first, then the node itself."""
    return [int(part) for part in (path or "").split("/") if part.isdigit()]


def query_id(value: str | None) -> int | None:
    """A row id from the query string, or None when missing or not an id (a page never 422s on it)."""
    if value and value.isdigit() and 0 < int(value) <= MAX_DB_ID:
        return int(value)
    return None


def query_page(value: str | None) -> int:
    return min(int(value), 100_000) if value and value.isdigit() and int(value) > 0 else 1


def is_fragment(request: Request, target: str | None = None) -> bool:
    """An htmx request for a part of the page (a dialog's body, the results), not a history restore."""
    if request.headers.get("hx-request") != "true" or request.headers.get("hx-history-restore-request") == "true":
        return False
    return target is None or request.headers.get("hx-target") == target


def required_errors(values: dict[str, str], required: Iterable[str], locale: str) -> FieldErrors:
    """"This field is required." under each blank required field."""
    return {name: [translate(REQUIRED_MESSAGE, locale)] for name in required if not values.get(name)}


def merge_errors(errors: FieldErrors, more: FieldErrors) -> FieldErrors:
    for name, messages in more.items():
        known = errors.setdefault(name, [])
        known.extend(m for m in messages if m not in known)
    return errors


async def confirmation(request: Request, session: Any, signed_in: Any, *, title: str, message: str, action: str,
                       button: str, back: str, danger: bool = True) -> Response:
    """A yes/no question before a destructive action: the dialog's body for htmx, else a page."""
    context = {"title": title, "message": message, "action": action, "button": button, "back": back, "danger": danger}
    if is_fragment(request):
        return render(request, "admin/org/_confirm.html", in_dialog=True, **context)
    return await render_signed_in(request, session, signed_in, "admin/org/confirm.html", in_dialog=False, **context)
