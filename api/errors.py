"""The one error shape: {error_id, message, details, request_id}; messages in the caller's language."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError as DBAPIDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import HotlineError
from core.i18n import negotiate_locale, translate

log = logging.getLogger(__name__)

_HTTP_IDS = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large", 415: "unsupported_media_type",
             429: "too_many_requests"}
_HTTP_MESSAGES = {404: "The address does not exist.", 405: "This method is not allowed here.",
                  401: "Please sign in.", 403: "You do not have permission to do this."}


def request_locale(request: Request) -> str:
    locale = getattr(request.state, "locale", None)
    return locale or negotiate_locale(request.headers.get("accept-language"))


def error_body(request: Request, error_id: str, message: str, details: Any = None, **params: Any) -> dict[str, Any]:
    locale = request_locale(request)
    if isinstance(details, list):
        details = [_translated_detail(d, locale) if isinstance(d, dict) and "message" in d else d for d in details]
    # Names given as parameters ("User", "Field") are message ids too.
    params = {k: translate(v, locale) if isinstance(v, str) else v for k, v in params.items()}
    return {"error_id": error_id, "message": translate(message, locale, **params), "details": details,
            "request_id": getattr(request.state, "request_id", None)}


def _translated_detail(detail: dict[str, Any], locale: str) -> dict[str, Any]:
    params = detail.get("params") or {}
    try:
        message = translate(detail["message"], locale, **params)
    except (KeyError, IndexError, ValueError):
        message = translate(detail["message"], locale)
    return {k: v for k, v in detail.items() if k != "params"} | {"message": message}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def _validation_detail(err: dict[str, Any]) -> dict[str, Any]:
    """{field, message id, params}: translated first, then filled in (by error_body)."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    known = {
        "missing": "This field is required.",
        "extra_forbidden": "This field is not allowed.",
        "json_invalid": "The request body is not valid JSON.",
        "string_too_long": "Too long (at most {max_length} characters).",
        "string_too_short": "Too short (at least {min_length} characters).",
        "string_pattern_mismatch": "The format is not valid.",
        "int_parsing": "Must be a whole number.",
        "bool_parsing": "Must be true or false.",
        "enum": "Must be one of: {expected}.",
        "greater_than_equal": "Must be at least {ge}.",
        "less_than_equal": "Must be at most {le}.",
        "greater_than": "Must be greater than {gt}.",
        "too_long": "Too many items (at most {max_length}).",
        "string_type": "Must be text.",
        "list_type": "Must be a list.",
    }
    field = _field_name(tuple(err.get("loc", ())))
    if kind in known:
        params = {k: ", ".join(map(str, v)) if isinstance(v, list | tuple) else v for k, v in ctx.items()}
        return {"field": field, "message": known[kind], "params": params}
    return {"field": field, "message": str(err.get("msg", "Not valid.")).removeprefix("Value error, ")}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HotlineError)
    async def _hotline(request: Request, exc: HotlineError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(error_body(request, exc.error_id, exc.message, exc.details, **exc.params),
                            status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [_validation_detail(e) for e in exc.errors()]
        fields = ", ".join(dict.fromkeys(d["field"] for d in details))
        return JSONResponse(error_body(request, "validation_error", "Some fields are not valid: {fields}.", details, fields=fields),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = _HTTP_MESSAGES.get(exc.status_code) or (exc.detail if isinstance(exc.detail, str) else "The request is not valid.")
        return JSONResponse(error_body(request, _HTTP_IDS.get(exc.status_code, "http_error"), message),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(DBAPIDataError)
    async def _bad_data(request: Request, exc: DBAPIDataError) -> JSONResponse:
        # Last line of defence: values the edge validation let through but the database refuses.
        log.warning("database refused a value: %s", str(exc.orig)[:200] if exc.orig else "")
        return JSONResponse(error_body(request, "invalid_data", "Some values are not valid (out of range or with invalid characters)."),
                            status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"error_id": "internal_error"})
        return JSONResponse(error_body(request, "internal_error", "Something went wrong on our side. The error was logged."),
                            status_code=500)
