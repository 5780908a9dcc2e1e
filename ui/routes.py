"""Web UI page routes (jinja2 + htmx), mounted by cli.asgi beside the API.

Vietnamese first: the UI's own catalogue is registered with core.i18n here, at import."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from core.i18n import register_catalog_dir
from ui.i18n import LOCALE_DIR
from ui.pages import account, auth, home
from ui.pages import agent_panel, call_monitor, call_popup, calls, desk, inbox, live, sms_inbox
from ui.pages import ticket_lists
from ui.pages import ticket_detail
from ui.pages import admin_audit, admin_fields, admin_org, admin_people, desk_rules
from ui.pages import admin_api_tokens, admin_message_templates, kb_admin, kb_admin_question, kb_desk, kb_public
from ui.security import PageRoute, SecureStaticFiles

STATIC_DIR = Path(__file__).parent / "static"

register_catalog_dir(LOCALE_DIR)

router = APIRouter(include_in_schema=False, route_class=PageRoute)
for pages in (auth.router, account.router, home.router, ticket_lists.router):
    router.include_router(pages)
for pages in (desk.router, inbox.router, live.router, sms_inbox.router,  # the work screens
              agent_panel.router, call_monitor.router, call_popup.router,  # fixed /calls/... paths first
              calls.router):
    router.include_router(pages)
for pages in (admin_people.router, admin_org.router, admin_fields.router, desk_rules.router, admin_audit.router,
              admin_message_templates.router):
    router.include_router(pages)
# The knowledge base: administration (/admin/kb/new before /admin/kb/{id}), API keys, the desk's
# look-up and the public look-ups without sign-in.
for pages in (kb_admin.router, kb_admin_question.router, admin_api_tokens.router, kb_desk.router, kb_public.router):
    router.include_router(pages)


# Last: /tickets/{code} must not shadow the fixed /tickets/... pages above.
router.include_router(ticket_detail.router)


def static_files() -> StaticFiles:
    return SecureStaticFiles(directory=STATIC_DIR)
