"""An asyncio client of the Asterisk REST Interface (Asterisk 22): REST over httpx and the events
WebSocket, reconnecting with backoff.

REST: `await ari.request("POST", "/channels/{id}/answer")` and the typed helpers below, each one
ARI operation as `rest-api/api-docs` declares it (path, query parameters, JSON body for
`variables`). A refusal raises `AriError` with Asterisk's status and message (404 a channel that
is gone, 409 a channel not in Stasis, 422 a bad endpoint…); a PBX that cannot be reached raises
`PbxUnreachable`.

Events: `run_events(handler)` keeps one WebSocket to `/ari/events?app=<app>` open: every
message is parsed (`ari_models.parse_event`) and awaited in order by `handler`; when the socket
drops it reconnects after 0.5 s, doubling to `max_backoff` (with jitter), and calls
`on_connected` after each (re)connection, before the first event, so the application can
reconcile what changed while it was away — Asterisk does not replay events missed while no
socket was open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx
import websockets
from pydantic import ValidationError

from telephony.ari_models import AriEvent, Bridge, Channel, Endpoint, LiveRecording, Playback, parse_event

log = logging.getLogger(__name__)


class AriError(Exception):
    def __init__(self, status: int, message: str, method: str = "", path: str = "") -> None:
        super().__init__(f"ARI {method} {path}: {status} {message}")
        self.status = status
        self.message = message


class PbxUnreachable(Exception):
    """The PBX did not answer (connection refused, timeout)."""


def _q(value: str) -> str:
    return quote(value, safe="")


class AriClient:
    def __init__(self, base_url: str, user: str, password: str, app: str = "hotline", *, timeout: float = 5.0,
                 max_backoff: float = 30.0) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        path = parts.path if parts.path.endswith("/ari") else parts.path + "/ari"
        self.base_url = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        ws_scheme = "wss" if parts.scheme == "https" else "ws"
        self.ws_url = urlunsplit((ws_scheme, parts.netloc, path + "/events", "", ""))
        self.app = app
        self._auth = (user, password)
        self._http = httpx.AsyncClient(base_url=self.base_url, auth=self._auth, timeout=timeout)
        self.max_backoff = max_backoff
        self.connected = asyncio.Event()
        self._stopping = False

    async def aclose(self) -> None:
        self._stopping = True
        await self._http.aclose()

    # ---- REST ----

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      json_body: Any = None) -> Any:
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._http.request(method, path, params=query, json=json_body)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise PbxUnreachable(f"ARI {method} {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            try:  # {"message": …}, or {"error": "Allocation failed"} when an originate cannot create the channel
                body = response.json()
                message = str(body.get("message") or body.get("error") or "")
            except (ValueError, AttributeError):
                message = response.text[:200]
            raise AriError(response.status_code, message, method, path)
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    async def info(self) -> dict[str, Any]:
        return await self.request("GET", "/asterisk/info")  # type: ignore[no-any-return]

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{_q(channel_id)}/answer")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self.request("DELETE", f"/channels/{_q(channel_id)}", params={"reason": reason})

    async def ring(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{_q(channel_id)}/ring")

    async def originate(self, endpoint: str, *, channel_id: str, app_args: str = "", caller_id: str | None = None,
                        timeout: int = 30, variables: dict[str, str] | None = None,
                        originator: str | None = None) -> Channel:
        """A new channel to `endpoint` that enters our application (StasisStart with `app_args`)
        once answered. `channel_id` is ours, so a retried request cannot make a second call."""
        data = await self.request("POST", f"/channels/{_q(channel_id)}", params={
            "endpoint": endpoint, "app": self.app, "appArgs": app_args, "callerId": caller_id, "timeout": timeout,
            "originator": originator}, json_body={"variables": variables} if variables else None)
        return Channel.model_validate(data)

    async def get_channel(self, channel_id: str) -> Channel:
        return Channel.model_validate(await self.request("GET", f"/channels/{_q(channel_id)}"))

    async def channels(self) -> list[Channel]:
        return [Channel.model_validate(c) for c in await self.request("GET", "/channels")]

    async def play(self, channel_id: str, media: str, playback_id: str) -> Playback:
        data = await self.request("POST", f"/channels/{_q(channel_id)}/play/{_q(playback_id)}", params={"media": media})
        return Playback.model_validate(data)

    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"/playbacks/{_q(playback_id)}")

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        await self.request("POST", f"/channels/{_q(channel_id)}/moh", params={"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{_q(channel_id)}/moh")

    async def record_channel(self, channel_id: str, name: str, *, fmt: str = "wav", max_seconds: int = 0,
                             beep: bool = False, terminate_on: str = "none") -> LiveRecording:
        data = await self.request("POST", f"/channels/{_q(channel_id)}/record", params={
            "name": name, "format": fmt, "maxDurationSeconds": max_seconds, "beep": beep,
            "terminateOn": terminate_on, "ifExists": "fail"})
        return LiveRecording.model_validate(data)

    async def create_bridge(self, bridge_id: str, name: str = "") -> Bridge:
        data = await self.request("POST", f"/bridges/{_q(bridge_id)}", params={"type": "mixing", "name": name})
        return Bridge.model_validate(data)

    async def add_to_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self.request("POST", f"/bridges/{_q(bridge_id)}/addChannel", params={"channel": channel_ids})

    async def remove_from_bridge(self, bridge_id: str, channel_id: str) -> None:
        await self.request("POST", f"/bridges/{_q(bridge_id)}/removeChannel", params={"channel": channel_id})

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{_q(bridge_id)}")

    async def record_bridge(self, bridge_id: str, name: str, *, fmt: str = "wav") -> LiveRecording:
        data = await self.request("POST", f"/bridges/{_q(bridge_id)}/record", params={
            "name": name, "format": fmt, "ifExists": "fail", "beep": False, "terminateOn": "none"})
        return LiveRecording.model_validate(data)

    async def bridges(self) -> list[Bridge]:
        return [Bridge.model_validate(b) for b in await self.request("GET", "/bridges")]

    async def redirect(self, channel_id: str, endpoint: str) -> None:
        await self.request("POST", f"/channels/{_q(channel_id)}/redirect", params={"endpoint": endpoint})

    async def endpoints(self) -> list[Endpoint]:
        return [Endpoint.model_validate(e) for e in await self.request("GET", "/endpoints")]

    async def subscribe(self, event_sources: list[str]) -> None:
        await self.request("POST", f"/applications/{_q(self.app)}/subscription", params={"eventSource": event_sources})

    @contextlib.asynccontextmanager
    async def stored_recording(self, name: str, byte_range: str | None = None) -> AsyncIterator[httpx.Response]:
        """The stored recording's file, streamed. Asterisk 22 ignores `Range` (it answers 200 with the
        whole file): that is why recordings are copied and served by us."""
        headers = {"Range": byte_range} if byte_range else None
        try:
            request = self._http.build_request("GET", f"/recordings/stored/{_q(name)}/file", headers=headers)
            response = await self._http.send(request, stream=True)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise PbxUnreachable(f"ARI recording {name}: {type(exc).__name__}") from None
        try:
            if response.status_code >= 400:
                await response.aread()
                raise AriError(response.status_code, response.text[:200], "GET", f"/recordings/stored/{name}/file")
            yield response
        finally:
            await response.aclose()

    # ---- events ----

    def events_url(self) -> str:
        user, password = self._auth
        query = urlencode({"app": self.app, "api_key": f"{user}:{password}"})
        return f"{self.ws_url}?{query}"

    async def run_events(self, handler: Callable[[AriEvent], Awaitable[None]],
                         on_connected: Callable[[], Awaitable[None]] | None = None) -> None:
        """Receive events until cancelled, reconnecting with backoff (see the module docstring)."""
        delay = 0.5
        while not self._stopping:
            try:
                async with websockets.connect(self.events_url(), open_timeout=10, ping_interval=20,
                                              ping_timeout=20, max_size=2**22) as socket:
                    delay = 0.5
                    self.connected.set()
                    log.info("ARI events connected to %s (app %s)", self.ws_url, self.app)
                    if on_connected is not None:
                        await on_connected()
                    async for raw in socket:
                        if await self._dispatch(raw, handler) == "ApplicationReplaced":
                            # another connection took the application: this socket gets nothing more
                            log.error("ARI application %s was taken by another connection; reconnecting", self.app)
                            break
            except asyncio.CancelledError:
                raise
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                log.warning("ARI events socket lost (%s: %s); reconnecting in %.1f s", type(exc).__name__, exc, delay)
            self.connected.clear()
            if self._stopping:
                break
            await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))  # noqa: S311 - jitter, not security
            delay = min(delay * 2, self.max_backoff)

    async def _dispatch(self, raw: str | bytes, handler: Callable[[AriEvent], Awaitable[None]]) -> str | None:
        """Hand one event to `handler`; returns its type."""
        try:
            event = parse_event(json.loads(raw))
        except (ValueError, ValidationError) as exc:
            log.error("unreadable ARI event ignored: %s", exc)
            return None
        try:
            await handler(event)
        except Exception:  # noqa: BLE001 - one failing event must not stop the call center
            log.exception("handling ARI event %s failed", event.type)
        return event.type


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):  # allowMultiple: Asterisk splits one comma-separated value (res_ari)
        return ",".join(str(v) for v in value)
    return value
