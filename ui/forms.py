"""Reading UI forms (CSRF-checked) and turning validation errors into per-field messages."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from core.errors import Conflict, HotlineError, ValidationFailed
from core.i18n import translate
from ui import csrf

FieldErrors = dict[str, list[str]]
M = TypeVar("M", bound=BaseModel)


async def read_form(request: Request) -> dict[str, str]:
    """The submitted text fields, after the CSRF check (raises CsrfRejected)."""
    form = await request.form()
    # NUL cannot be stored in PostgreSQL text; drop it here rather than fail deeper down.
    values = {key: value.replace("\x00", "") for key, value in form.items() if isinstance(value, str)}
    csrf.verify(request, values)
    return values


def local_path(value: str | None, default: str = "/") -> str:
    """Only a path on this site ("/x", never "//host" or "/\\host") may be a redirect target."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if "\\" in value or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return default
    return value


def safe_next(value: str | None, default: str = "/") -> str:
    """Where to go after signing in: a local path, but not back to the sign-in or sign-out page."""
    target = local_path(value, default)
    return default if target.split("?")[0] in ("/login", "/logout") else target


def refusal(exc: HotlineError, locale: str) -> str:
    """A refused action's message as one sentence in the page's language (parameters that are
    message ids, such as what already exists, translated too)."""
    params = {k: translate(v, locale) if isinstance(v, str) else v for k, v in exc.params.items()}
    return translate(exc.message, locale, **params)


def refusal_sentence(exc: HotlineError, locale: str) -> str:
    """A refusal in one sentence for a spot with no fields beside it: the fields' own messages
    ("Log in at an extension first.") rather than the general "Some fields are not valid."."""
    errors, general = failed_fields(exc, locale)
    said = " ".join(message for messages in errors.values() for message in messages)
    return said or general or refusal(exc, locale)


BAD_DAY = "Enter a date as YYYY-MM-DD."
DAYS_REVERSED = "The last day is before the first day."


def day_range(date_from: str | None, date_to: str | None, errors: FieldErrors,
              locale: str) -> tuple[date | None, date | None]:
    """A history filter's `date_from` / `date_to` (ISO days, both optional); problems go into
    `errors` beside their field."""
    days: dict[str, date | None] = {}
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        try:
            days[name] = date.fromisoformat(value) if value else None
        except ValueError:
            days[name] = None
            errors[name] = [translate(BAD_DAY, locale)]
    first, last = days["date_from"], days["date_to"]
    if first and last and first > last:
        errors["date_to"] = [translate(DAYS_REVERSED, locale)]
    return first, last


def failed_fields(exc: HotlineError, locale: str) -> tuple[FieldErrors, str | None]:
    """(field -> messages, a message for the whole form or None) from any refusal of a service.
    A detail's own message goes beside its field, filled with its params; a taken value (409
    without params: "X already exists") shows the refusal itself beside the field it names.
    The whole-form message is left out when it only says "see the fields"."""
    errors: FieldErrors = {}
    for detail in exc.details if isinstance(exc.details, list) else []:
        if isinstance(detail, dict) and "field" in detail and "message" in detail:
            taken = isinstance(exc, Conflict) and not detail.get("params")
            message = refusal(exc, locale) if taken else _detail_message(detail, locale)
            merge(errors, {str(detail["field"]): [message]})
    if errors and (isinstance(exc, Conflict) or exc.message == ValidationFailed.message):
        return errors, None
    return errors, refusal(exc, locale)


def _detail_message(detail: dict[str, Any], locale: str) -> str:
    """A detail's message id, translated, then filled with its params ("{code} is already used by {name}")."""
    params = detail.get("params") or {}
    try:
        return translate(str(detail["message"]), locale, **params)
    except (KeyError, IndexError, ValueError):
        return translate(str(detail["message"]), locale)


# The same English message ids as api.errors (their Vietnamese is in core's catalogue); here
# they are translated before the placeholders are filled, so "{max_length}" messages translate too.
_KNOWN = {
    "missing": "This field is required.",
    "string_too_long": "Too long (at most {max_length} characters).",
    "string_too_short": "Too short (at least {min_length} characters).",
    "string_pattern_mismatch": "The format is not valid.",
    "int_parsing": "Must be a whole number.",
    "enum": "Must be one of: {expected}.",
}


def _message(err: dict[str, Any], locale: str) -> str:
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        kind = "missing"  # a blank required field
    message_id = _KNOWN.get(kind)
    if message_id is None:
        return translate(str(err.get("msg", "Not valid.")).removeprefix("Value error, "), locale)
    try:
        return translate(message_id, locale, **ctx)
    except (KeyError, IndexError):
        return translate(message_id, locale)


def validate_into(model: type[M], data: dict[str, Any], errors: FieldErrors, locale: str) -> M | None:
    """`model` from the form's data, or None with its messages added to `errors` (beside the
    ones the page found itself, without repeating them)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        merge(errors, invalid_fields(exc, locale))
        return None


def merge(errors: FieldErrors, more: FieldErrors) -> FieldErrors:
    """Add `more` messages to `errors`, each message once per field."""
    for name, messages in more.items():
        errors.setdefault(name, []).extend(m for m in messages if m not in errors.get(name, []))
    return errors


def invalid_fields(exc: ValidationError, locale: str) -> FieldErrors:
    """Per-field messages from a pydantic model's validation error, in the page's language."""
    errors: FieldErrors = {}
    for err in exc.errors():
        loc: tuple[Any, ...] = tuple(err.get("loc", ()))
        field = str(loc[0]) if loc else "form"
        errors.setdefault(field, []).append(_message(dict(err), locale))
    return errors
