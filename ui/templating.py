"""Jinja2 rendering for UI pages: autoescaped templates with the page's translator and CSRF token."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ui.csrf import CSRF_FIELD, csrf_token
from ui.i18n import N_, gettext_for, page_locale

TEMPLATE_DIR = Path(__file__).parent / "templates"
SITE_NAME_MSGID = N_("Đồng Nai 1022 Hotline")


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Built on first render, not at import (house rule 5)."""
    return Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(default=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    locale = page_locale(request)
    _ = gettext_for(locale)
    base: dict[str, Any] = {
        "request": request, "locale": locale, "title": None, "_": _, "site_name": _(SITE_NAME_MSGID),
        "csrf_field": CSRF_FIELD, "csrf_token": csrf_token(request), "shell": None, "notice": None,
        "error": None, "errors": {}, "values": {}, "current_path": request.url.path,
        "current_url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    base.update(context)
    html = environment().get_template(template).render(base)
    return HTMLResponse(html, status_code=status_code)
