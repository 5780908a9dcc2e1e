"""Local HTTP doubles of outside services: real HTTP servers (stdlib ThreadingHTTPServer on
127.0.0.1, one thread per request) that follow the provider's documented request and response
formats, record every request they receive, and inject failures on demand.

`HttpDouble` is the common part: start/stop as a context manager, `url`, `requests` (what came in,
in order, failures included), and the failures any provider can have — `fail_next_with_timeout()`
(the answer is held until the double closes, longer than any client timeout a test sets) and
`fail_next_with_status(503)`. Subclasses answer in `answer()`."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

HOLD_SECONDS = 60.0  # a "timeout" answer waits at most this long if the double is never closed


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        """Form fields (last value of each name)."""
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    hold: bool = False  # wait for the double to close before answering (a client timeout)

    @classmethod
    def json(cls, status: int, data: Any) -> Answer:
        return cls(status, json.dumps(data, ensure_ascii=False).encode("utf-8"))


@dataclass
class _Failure:
    answer: Answer
    times: int = 1


class HttpDouble:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._failures: deque[_Failure] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        # a short poll interval: shutdown() waits for the serving loop to notice (0.5 s by default)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()  # held answers go out (to clients that gave up long ago)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- failures ---------------------------------------------------------------------------

    def fail_next(self, answer: Answer, times: int = 1) -> None:
        with self._lock:
            self._failures.append(_Failure(answer, times))

    def fail_next_with_timeout(self, times: int = 1) -> None:
        self.fail_next(Answer(504, b"", "text/plain", hold=True), times)

    def fail_next_with_status(self, status: int, body: bytes = b"<html>Service Unavailable</html>",
                              content_type: str = "text/html", times: int = 1) -> None:
        self.fail_next(Answer(status, body, content_type), times)

    def _take_failure(self) -> Answer | None:
        with self._lock:
            if not self._failures:
                return None
            failure = self._failures[0]
            failure.times -= 1
            if failure.times <= 0:
                self._failures.popleft()
            return failure.answer

    # --- requests -----------------------------------------------------------------------------

    def received(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if (method is None or r.method == method)
                    and (path is None or r.path == path)]

    def answer(self, request: Recorded) -> Answer:  # pragma: no cover - subclasses answer
        return Answer.json(404, {"error": "not found"})

    def _serve(self, request: Recorded) -> Answer:
        with self._lock:
            self.requests.append(request)
        failure = self._take_failure()
        if failure is not None:
            if failure.hold:
                self._closing.wait(HOLD_SECONDS)
            return failure
        return self.answer(request)


def _handler(double: HttpDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Recorded(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                               {k.lower(): v for k, v in self.headers.items()}, body)
            answer = double._serve(request)
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                pass

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


__all__ = ["Answer", "HttpDouble", "Recorded"]
