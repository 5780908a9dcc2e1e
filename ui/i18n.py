"""The UI's language: which locale a page is shown in, and labels for seeded data in English.

Vietnamese first: the signed-in user's own setting wins, then the `lang` cookie set by the
header switch, then the browser's Accept-Language, then Vietnamese."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import Request

from core.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES, negotiate_locale, translate

LOCALE_DIR = Path(__file__).parent / "locale"
LANG_COOKIE = "lang"

Gettext = Callable[..., str]


def page_locale(request: Request) -> str:
    signed_in = getattr(request.state, "locale", None)  # set by api.deps.get_signed_in
    if signed_in in SUPPORTED_LOCALES:
        return str(signed_in)
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in SUPPORTED_LOCALES:
        return str(cookie)
    return negotiate_locale(request.headers.get("accept-language"), DEFAULT_LOCALE)


def N_(message: str) -> str:
    """Marks a message id for extraction where it is defined; it is translated where shown."""
    return message


def gettext_for(locale: str) -> Gettext:
    """`_("Hello {name}", name=...)` in templates and pages: English msgid -> the locale's text."""

    def _(message: str, **params: object) -> str:
        return translate(message, locale, **params)

    return _


# Menus and roles are data an administrator edits in Vietnamese; the seeded ones also get an
# English label so the English UI reads in English. Unknown codes keep their stored name.
_MENU_EN = {
    "HOME": "Home", "DESK": "1022 desk", "DESK_NEW": "New reports", "DESK_SPAM": "Spam",
    "DESK_OUT_OF_AREA": "Out of area", "DESK_PROCESSED": "Processed", "DESK_RULES": "Auto-dispatch",
    "TICKETS": "Report statistics",
    "INBOX": "My tasks", "CALLS": "Calls", "AGENT": "My extension", "CALLS_MONITOR": "Call center monitor",
    "SMS": "SMS messages", "KB": "Administrative procedures",
    "REPORTS": "Reports", "ADMIN": "Administration", "ADMIN_USERS": "Users", "ADMIN_ROLES": "Roles and menus",
    "ADMIN_GROUPS": "Permission groups", "ADMIN_UNITS": "Units", "ADMIN_AREAS": "Areas", "ADMIN_FIELDS": "Fields",
    "ADMIN_AUDIT": "System log",
    "ADMIN_KB": "Knowledge base",
    "ADMIN_API_TOKENS": "API keys", "ADMIN_MESSAGE_TEMPLATES": "Message templates",
}
_ROLE_EN = {
    "admin": "System administrator", "coordinator": "Coordinator", "agent": "Call agent",
    "unit_manager": "Unit manager", "officer": "Case officer", "auditor": "Inspector", "citizen": "Citizen",
    "api_client": "Connected system",
}


def menu_label(code: str, name: str, locale: str) -> str:
    return _MENU_EN.get(code, name) if locale == "en" else name


def role_label(code: str, name: str, locale: str) -> str:
    return _ROLE_EN.get(code, name) if locale == "en" else name
