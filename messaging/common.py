"""What every gateway needs to read webhooks and numbers: phone numbers between our national form
and E.164, HMAC-SHA256 signatures compared in constant time, JSON bodies and dotted paths."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from core.ports import InvalidSignature, MalformedWebhook, WebhookRequest
from core.types import normalize_phone

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def to_e164(number: str) -> str:
    """'0912345678' (or '+84 912 345 678') -> '+84912345678'; a foreign E.164 number is kept.
    Raises ValueError for anything else."""
    compact = re.sub(r"[\s.\-()]", "", number)
    if compact.startswith("+") and not compact.startswith("+84"):
        if not _E164.match(compact):
            raise ValueError(f"not an E.164 phone number: {number!r}")
        return compact
    return "+84" + normalize_phone(compact)[1:]


def from_e164(number: str) -> str:
    """'+84912345678' -> '0912345678' (our stored form); a foreign E.164 number is kept as it is,
    since it has no national form of ours. Raises ValueError for anything else."""
    compact = re.sub(r"[\s.\-()]", "", number)
    if compact.startswith("+") and not compact.startswith("+84"):
        if not _E164.match(compact):
            raise ValueError(f"not an E.164 phone number: {number!r}")
        return compact
    return normalize_phone(compact)


def header(request: WebhookRequest, name: str) -> str | None:
    """A request header by name whatever the case the adapter was given."""
    value = request.headers.get(name.lower())
    if value is None:
        value = next((v for k, v in request.headers.items() if k.lower() == name.lower()), None)
    return value


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def check_hmac_sha256(signature: str | None, secret: str, body: bytes, prefix: str = "sha256=") -> None:
    """Raise InvalidSignature unless `signature` is `prefix` + the hex HMAC-SHA256 of `body` (the
    prefix may be left out; hex case is ignored)."""
    if not signature or not secret:
        raise InvalidSignature("missing signature")
    given = signature.strip()
    if prefix and given.lower().startswith(prefix.lower()):
        given = given[len(prefix):]
    if not hmac.compare_digest(given.lower().encode("ascii", "replace"), hmac_sha256_hex(secret, body).encode()):
        raise InvalidSignature("signature does not match")


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or MalformedWebhook."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedWebhook(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedWebhook("body is not a JSON object")
    return data


def dig(data: Any, path: str) -> Any:
    """`data` at a dotted path ('data.messages.0.id'); None when any step is missing."""
    current = data
    for step in path.split("."):
        if isinstance(current, dict):
            current = current.get(step)
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            return None
        if current is None:
            return None
    return current


def required_text(data: Any, path: str, what: str | None = None) -> str:
    """A string (or number) at `path`, as text; MalformedWebhook when it is missing."""
    value = dig(data, path)
    if value is None or isinstance(value, (dict, list, bool)):
        raise MalformedWebhook(f"missing field {what or path!r}")
    return str(value)


def inbound_sender(raw: str) -> str:
    """A sender number from a webhook in our national form (foreign numbers in E.164)."""
    try:
        return from_e164(raw)
    except ValueError:
        raise MalformedWebhook(f"sender is not a phone number: {raw[:32]!r}") from None
