"""Streaming `multipart/form-data`: one file field handed to the use case chunk by chunk.

FastAPI's `UploadFile` spools the whole body to a temporary file before the route runs, with
no size limit; here the body is parsed as it arrives, so the use case can stop reading at its
limit and nothing unchecked touches the disk."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request
from starlette.responses import StreamingResponse

from core.errors import PayloadTooLarge, ValidationFailed
from core.filetypes import ascii_filename

MAX_PARTS = 8  # a form with a few text fields besides the file is fine; more is not an upload
MAX_FIELD_BYTES = 16 * 1024  # per other (non-file) part; they are read and dropped
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers on top of the file itself

_NOT_AN_UPLOAD = "Send one file as multipart/form-data in the field named file."
_INCOMPLETE = "The upload is incomplete or malformed."


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(details=[{"field": "file", "message": message}])


@dataclass
class IncomingFile:
    filename: str | None
    chunks: AsyncIterator[bytes]


class _Parts:
    """python-multipart's callbacks turned into a queue of events: ('headers', name, filename),
    ('data', bytes), ('end',)."""

    def __init__(self) -> None:
        self.events: deque[tuple] = deque()
        self._field, self._value = b"", b""
        self._disposition = b""

    def callbacks(self) -> dict:
        return {"on_part_begin": self._begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished, "on_part_data": self._data,
                "on_part_end": lambda: self.events.append(("end",))}

    def _begin(self) -> None:
        self._disposition = b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if self._field.lower() == b"content-disposition":
            self._disposition = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name, filename = options.get(b"name"), options.get(b"filename")
        self.events.append(("headers", name.decode("utf-8", "replace") if name is not None else None,
                            filename.decode("utf-8", "replace") if filename is not None else None))

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.events.append(("data", data[start:end]))


async def single_file(request: Request, field: str, max_file_bytes: int) -> IncomingFile:
    """Read the body up to the start of the file part named `field`; the returned chunks read
    the rest of that part on demand. Refuses what is not such a form (422), and a declared or
    streamed body far over the file limit (413) without reading it."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise _refuse(_NOT_AN_UPLOAD)
    max_body = max_file_bytes + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body:
        raise PayloadTooLarge.for_limit(max_file_bytes)

    parts = _Parts()
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    body = request.stream()
    received = 0

    async def next_event() -> tuple | None:
        nonlocal received
        while not parts.events:
            try:
                chunk = await anext(body)
            except StopAsyncIteration:
                parser.finalize()
                return None
            except ClientDisconnect as exc:
                raise _refuse(_INCOMPLETE) from exc
            received += len(chunk)
            if received > max_body:
                raise PayloadTooLarge.for_limit(max_file_bytes)
            try:
                parser.write(chunk)
            except MultipartParseError as exc:
                raise _refuse(_INCOMPLETE) from exc
        return parts.events.popleft()

    for _ in range(MAX_PARTS):
        event = await next_event()
        while event is not None and event[0] != "headers":  # preamble noise or a previous part's end
            event = await next_event()
        if event is None:
            break
        _, name, filename = event
        if name == field and filename is not None:
            return IncomingFile(filename, _file_chunks(next_event))
        skipped = 0
        while (event := await next_event()) is not None and event[0] == "data":
            skipped += len(event[1])
            if skipped > MAX_FIELD_BYTES:
                raise _refuse(_NOT_AN_UPLOAD)
    raise _refuse(_NOT_AN_UPLOAD)


async def _file_chunks(next_event) -> AsyncIterator[bytes]:  # noqa: ANN001
    while (event := await next_event()) is not None:
        if event[0] == "data":
            if event[1]:
                yield event[1]
        elif event[0] == "end":
            return
    raise _refuse(_INCOMPLETE)  # the body ended inside the file: never keep a truncated file


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / 5987)."""
    fallback = ascii_filename(filename).replace('"', "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_download(chunks: AsyncIterator[bytes], content_type: str, filename: str, size_bytes: int,
                  sha256: str) -> StreamingResponse:
    """A stored file sent back: always as a download (never rendered inline, sandboxed if it
    is), with its exact name, length and checksum as the ETag; never cached by shared caches."""
    return StreamingResponse(chunks, media_type=content_type, headers={
        "Content-Disposition": content_disposition(filename),
        "Content-Length": str(size_bytes),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
        "ETag": f'"{sha256}"',
    })
