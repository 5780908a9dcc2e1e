"""One error base class carrying its HTTP contract (status, error_id, details).

`message` is an English message id; the API translates it (Vietnamese first) with the
error's `params`.
"""

from __future__ import annotations

from typing import Any


class HotlineError(Exception):
    status_code: int = 400
    error_id: str = "bad_request"
    message: str = "The request is not valid."

    def __init__(self, message: str | None = None, *, details: Any = None, **params: Any) -> None:
        if message is not None:
            self.message = message
        self.details = details
        self.params = params
        super().__init__(self.message.format(**params) if params else self.message)


class ValidationFailed(HotlineError):
    status_code = 422
    error_id = "validation_error"
    message = "Some fields are not valid."


class NotAuthenticated(HotlineError):
    status_code = 401
    error_id = "not_authenticated"
    message = "Please sign in."


class InvalidCredentials(HotlineError):
    status_code = 401
    error_id = "invalid_credentials"
    message = "Wrong username or password."


class AccountLocked(HotlineError):
    status_code = 423
    error_id = "account_locked"
    message = "The account is locked after too many failed sign-ins. Try again in {minutes} minutes."


class AccountInactive(HotlineError):
    status_code = 403
    error_id = "account_inactive"
    message = "This account is disabled. Contact the administrator."


class Forbidden(HotlineError):
    status_code = 403
    error_id = "forbidden"
    message = "You do not have permission to do this."


class NotFound(HotlineError):
    status_code = 404
    error_id = "not_found"
    message = "{what} not found."

    def __init__(self, what: str = "Record", **kw: Any) -> None:
        super().__init__(what=what, **kw)


class Conflict(HotlineError):
    status_code = 409
    error_id = "conflict"
    message = "{what} already exists."

    def __init__(self, what: str = "Record", **kw: Any) -> None:
        super().__init__(what=what, **kw)


class TicketNotEditable(HotlineError):
    status_code = 409
    error_id = "ticket_not_editable"
    message = "Report {code} has already been dispatched: it can no longer be changed at the desk."


class StaleVersion(HotlineError):
    status_code = 409
    error_id = "stale_version"
    message = "Someone else took or changed this {what} in the meantime. Reload it and try again."

    def __init__(self, what: str = "record", **kw: Any) -> None:
        super().__init__(what=what, **kw)


class InUse(HotlineError):
    status_code = 409
    error_id = "in_use"
    message = "{what} is still used by other records; deactivate it instead."

    def __init__(self, what: str = "Record", **kw: Any) -> None:
        super().__init__(what=what, **kw)


class NothingToRetry(HotlineError):
    status_code = 409
    error_id = "nothing_to_retry"
    message = "This ticket's process has no failed step that a retry can fix."


class PayloadTooLarge(HotlineError):
    status_code = 413
    error_id = "payload_too_large"
    message = "The file is too large: at most {limit}."

    @classmethod
    def for_limit(cls, max_bytes: int) -> PayloadTooLarge:
        return cls(limit=human_size(max_bytes))


class UnsupportedFileType(HotlineError):
    status_code = 422
    error_id = "unsupported_file_type"
    message = ("This kind of file is not accepted. Attach a photo (JPEG, PNG, WebP), a PDF document, "
               "an audio recording (MP3, WAV, M4A) or an MP4 video.")


class TooManyAttachments(HotlineError):
    status_code = 409
    error_id = "too_many_attachments"
    message = "A ticket can have at most {limit} attachments."


def human_size(size: int) -> str:
    """1048576 -> '1 MB' (binary units, as people read file sizes)."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} B"


class TooManyRequests(HotlineError):
    status_code = 429
    error_id = "too_many_requests"
    message = "Too many requests. Please wait a moment and try again."


class ServiceUnavailable(HotlineError):
    status_code = 503
    error_id = "service_unavailable"
    message = "{component} is not available right now."


class PbxNotConnected(HotlineError):
    """Telephony endpoints without a PBX (HOTLINE_ARI_URL unset, or Asterisk not answering)."""

    status_code = 503
    error_id = "pbx_not_connected"
    message = "The telephone exchange is not connected: calls cannot be made or handled now. Everything else works."
