"""A local double of Asterisk 22's ARI (REST + events WebSocket): a small Asterisk simulator.

`AriDouble` is a real HTTP/WebSocket server on 127.0.0.1 (Starlette under uvicorn in a background
thread), usable from sync and async tests::

    with AriDouble(app="hotline", user="ari", password="secret") as ari:
        ari.add_endpoint("PJSIP", "101")
        ...  # the product connects to ari.url / ari.ws_url
        assert ari.violations == []

Protocol: REST under `/ari/...` with HTTP Basic auth or `?api_key=user:pass` (401
{"message": "Authentication required"} otherwise), JSON answers, errors `{"message": "..."}`;
events on `GET /ari/events?app=hotline&api_key=user:pass[&subscribeAll=true]`, one JSON event per
text frame. Every request is checked by `ari_contract.check_request` (a refusal is answered as
Asterisk would - 404 "Resource not found", 405 "Invalid method", 400 - and recorded in
`violations`), every event sent by `check_event`, every 2xx JSON answer against the operation's
`responseClass` model.

Event order and answers follow the Asterisk sources (github.com/asterisk/asterisk):
- res/res_stasis.c `stasis_app_exec`: on hangup a bridged channel first departs the bridge
  (ChannelLeftBridge), then StasisEnd is sent, then the PBX hangs the channel up (ChannelDestroyed).
  So a far-end hangup is ChannelHangupRequest{cause} -> [PlaybackFinished/RecordingFinished] ->
  [ChannelLeftBridge] -> StasisEnd -> ChannelDestroyed{cause, cause_txt}.
- res/ari/resource_channels.c `ast_ari_channels_hangup` + main/channel.c `ast_softhangup`:
  DELETE /channels/{id} sets the hangup cause (reason_code / reason, default 16) and soft-hangs up,
  which publishes ChannelHangupRequest{cause: 32 (AST_SOFTHANGUP_EXPLICIT), soft: true}; the
  ChannelDestroyed carries the requested cause. A far-end hangup (chan_pjsip -> ast_queue_hangup)
  publishes ChannelHangupRequest{cause} without `soft`.
- resource_channels.c `ari_channels_handle_originate_with_id` / main/dial.c: originate answers 200
  with the new channel (state Down); the app is subscribed to the channel after it was created, so
  it gets no ChannelCreated; ast_dial publishes Dial{dialstatus ""} when calling, then the phone
  rings (ChannelStateChange Ringing, Dial RINGING); on answer ChannelStateChange Up, Dial ANSWER,
  then Stasis runs: StasisStart{args: appArgs split on ","}. The dial timeout (default 30 s,
  `timeout` seconds, -1 none) hangs the channel up with cause 19 -> ChannelDestroyed{19, "User
  alerting, no answer"} (no Dial event on that path). Busy (17) -> Dial BUSY + ChannelDestroyed;
  other rejections -> ChannelHangupRequest{cause} + Dial{ast_hangup_cause_to_dial_status} +
  ChannelDestroyed. An offline/unknown PJSIP endpoint makes ast_dial_prerun fail: 500
  {"error": "Allocation failed"} (ast_ari_response_alloc_failed).
- An app hears about a bridge only while one of its channels is in it (res/stasis/control.c
  app_subscribe_bridge / app_unsubscribe_bridge): BridgeCreated is not delivered for bridges the
  app creates (unless subscribeAll or an explicit `bridge:` subscription); BridgeDestroyed is
  delivered when the bridge is destroyed with app channels in it.
- res/ari/resource_bridges.c `ast_ari_bridges_record`: the Recorder channel is internal (no events
  of its own); RecordingStarted/RecordingFinished reach the app through the bridge topic. The
  recorder leaves (and the recording finishes) when it is alone in the bridge (LONELY flag) or when
  the bridge is destroyed.
- res/ari/resource_recordings.c `ast_ari_recordings_get_stored_file`: the whole file, 200,
  `Content-Type: audio/<ext>`; Asterisk does NOT honour Range requests, and neither does the double.
- There is no ARI event for music on hold (POST /channels/{id}/moh), for ring indication or for
  hold requested through ARI (ChannelHold is only for a hold received from the device).
- res/ari/ari_websockets.c: inbound websockets get no ApplicationRegistered; a second connection
  for the same app replaces the first (the old one gets ApplicationReplaced). While no websocket is
  connected the app is inactive and its events are lost ("Inactive Stasis app missed message"):
  the double records them in `lost_events`; a call that arrives then cannot enter Stasis (it is
  recorded in `lost_calls` and never exists as a channel).

Not simulated: media (no audio; recordings are generated WAV tones), Local channels, snoop,
externalMedia, dial, move to another app's events, mailboxes, sounds, dynamic config, log
channels, modules, device states other than those of configured endpoints, PeerStatusChange /
ContactStatusChange, ChannelVarset for dialplan variables, attended transfers, video. Those
declared operations answer 501 "Method not implemented" and are recorded as violations.
"""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import math
import re
import socket
import struct
import threading
import time
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.doubles.ari_contract import ContractError, Operation, check_event, check_model, check_request

ASTERISK_VERSION = "22.10.1"
CAUSES = {
    0: "Unknown", 1: "Unallocated (unassigned) number", 3: "No route to destination", 16: "Normal Clearing",
    17: "User busy", 18: "No user responding", 19: "User alerting, no answer", 20: "Subscriber absent",
    21: "Call Rejected", 23: "Redirected to new destination", 26: "Answered elsewhere",
    27: "Destination out of order", 28: "Invalid number format", 31: "Normal, unspecified",
    34: "Circuit/channel congestion", 38: "Network out of order", 41: "Temporary failure",
    58: "Bearer capability not available", 127: "Interworking, unspecified",
}
HANGUP_REASONS = {  # resource_channels.c convert_reason_to_hangup_code
    "normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 18, "rejected": 21,
    "unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28, "codec_mismatch": 58,
    "interworking": 127, "failure": 38, "answered_elsewhere": 26,
}
AST_SOFTHANGUP_EXPLICIT = 32
RECORDING_FORMATS = {"wav": 8000, "wav16": 16000, "sln": 8000, "ulaw": 8000, "alaw": 8000, "gsm": 8000, "g722": 16000}
MEDIA_SCHEMES = ("sound:", "recording:", "number:", "digits:", "characters:", "tone:")
DTMF_DIGITS = set("0123456789*#ABCD")


def _now() -> str:
    """Asterisk's ast_json_timeval format: 2024-05-01T12:34:56.789+0000."""
    t = datetime.now(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


def _dial_status(cause: int) -> str:  # main/dial.c ast_hangup_cause_to_dial_status
    return {17: "BUSY", 34: "CONGESTION", 3: "CHANUNAVAIL", 20: "CHANUNAVAIL"}.get(cause, "NOANSWER")


def make_wav(seconds: float, rate: int = 8000, frequency: float = 440.0) -> bytes:
    """A valid PCM WAV file, mono, 16-bit, with a quiet sine tone."""
    frames = max(int(seconds * rate), rate // 5)
    samples = (int(3000 * math.sin(2 * math.pi * frequency * i / rate)) for i in range(frames))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buffer.getvalue()


class AriError(Exception):
    def __init__(self, status: int, message: str, body: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else {"message": message}


@dataclass
class RecordedRequest:
    method: str
    path: str  # as sent, e.g. /ari/channels/123/answer
    query: dict[str, list[str]]
    body: Any
    status: int = 0
    operation: str | None = None  # "channels.answer" when it matched a declared operation


@dataclass
class Violation:
    kind: str  # "request", "event", "response", "unsimulated"
    detail: str


@dataclass
class _Channel:
    id: str
    name: str
    state: str
    caller: dict
    connected: dict
    dialplan: dict
    creationtime: str
    endpoint: str | None = None  # "PJSIP/101"
    in_stasis: bool = False
    subscribed: bool = False
    originated: bool = False
    originate_app: str | None = None
    app_args: list[str] = field(default_factory=list)
    bridge_id: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    moh: str | None = None
    timer: Any = None
    hangup_cause: int = 16

    def json(self) -> dict:
        return {"id": self.id, "name": self.name, "state": self.state, "protocol_id": "",
                "caller": dict(self.caller), "connected": dict(self.connected), "accountcode": "",
                "dialplan": dict(self.dialplan), "creationtime": self.creationtime, "language": "en"}


@dataclass
class _Bridge:
    id: str
    bridge_type: str
    name: str
    creationtime: str
    channels: list[str] = field(default_factory=list)
    recording: str | None = None

    def json(self) -> dict:
        return {"id": self.id, "technology": "simple_bridge" if len(self.channels) <= 2 else "softmix",
                "bridge_type": self.bridge_type, "bridge_class": "stasis", "creator": "Stasis", "name": self.name,
                "channels": list(self.channels), "creationtime": self.creationtime, "video_mode": "none"}


@dataclass
class _Playback:
    id: str
    media: list[str]
    target: str  # "channel:<id>" / "bridge:<id>"
    language: str = "en"
    state: str = "queued"
    index: int = 0
    timer: Any = None

    def json(self) -> dict:
        out = {"id": self.id, "media_uri": self.media[self.index], "target_uri": self.target,
               "language": self.language, "state": self.state}
        if self.index < len(self.media) - 1:
            out["next_media_uri"] = self.media[self.index + 1]
        return out


@dataclass
class _Recording:
    name: str
    format: str
    target: str
    state: str = "queued"
    started: float = field(default_factory=time.monotonic)
    duration: int | None = None
    terminate_on: str = "none"
    append: bool = False
    timer: Any = None

    def json(self) -> dict:
        out = {"name": self.name, "format": self.format, "state": self.state, "target_uri": self.target}
        if self.duration is not None:
            out["duration"] = self.duration
        return out


@dataclass
class _Conn:
    websocket: WebSocket
    apps: list[str]
    subscribe_all: bool
    queue: asyncio.Queue
    active: bool = True


class AriDouble:
    def __init__(self, app: str = "hotline", user: str = "asterisk", password: str = "asterisk", *,
                 host: str = "127.0.0.1", port: int = 0, playback_seconds: float = 0.05,
                 timer_scale: float = 1.0) -> None:
        self.app = app
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.playback_seconds = playback_seconds  # how long each media item of a playback lasts
        self.timer_scale = timer_scale  # multiplies originate timeouts and maxDurationSeconds
        self.asterisk_id = "02:42:ac:11:00:02"
        self.requests: list[RecordedRequest] = []
        self.events: list[dict] = []  # events sent on the app's websocket, in order
        self.lost_events: list[dict] = []  # events produced while the app had no websocket
        self.violations: list[Violation] = []
        self.lost_calls: list[str] = []
        self.redirects: list[tuple[str, str]] = []  # (channel id, endpoint) of POST /channels/{id}/redirect
        self.sent_dtmf: list[tuple[str, str]] = []  # (channel id, digits) of POST /channels/{id}/dtmf
        self.endpoints: dict[str, dict] = {}
        self.stored: dict[str, dict] = {}  # name -> {"format", "data"}
        self._lock = threading.RLock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._cond = threading.Condition(self._lock)
        self._failures: list[list] = []
        self._known_apps: set[str] = set()
        self._subscriptions: set[str] = set()  # explicit eventSources of self.app
        self._conns: list[_Conn] = []
        self._ids = itertools.count(1)
        self._epoch = int(time.time())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._reset_calls()
        self._started_at = _now()
        self._asgi = Starlette(routes=[
            WebSocketRoute("/ari/events", self._websocket),
            Route("/ari/{rest:path}", self._http, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ])

    def _reset_calls(self) -> None:
        self.channels: dict[str, _Channel] = {}
        self.bridges: dict[str, _Bridge] = {}
        self.playbacks: dict[str, _Playback] = {}
        self.live_recordings: dict[str, _Recording] = {}

    # ---- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ari/events?app={self.app}&api_key={quote(self.user)}:{quote(self.password)}"

    def start(self) -> AriDouble:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # inherited by accepted connections: without it h11's head and body go in two segments and
        # Nagle holds every answer with a body until the client's delayed ACK (~40 ms on Linux)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._asgi, log_level="warning", ws="websockets-sansio", lifespan="off",
                                timeout_graceful_shutdown=2)
        server = uvicorn.Server(config)
        self._server = server
        ready = threading.Event()

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            ready.set()
            await server.serve(sockets=[sock])

        self._thread = threading.Thread(target=lambda: asyncio.run(serve()), name="ari-double", daemon=True)
        self._thread.start()
        ready.wait(5)
        deadline = time.monotonic() + 5
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("ARI double did not start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        """Stop the server (like Asterisk stopping): sockets close, channels, bridges, playbacks and
        live recordings are gone; endpoints and stored recordings (files on disk) stay."""
        if self._server is None:
            return
        loop = self._loop
        with self._lock:
            conns, self._conns = list(self._conns), []
            self._cancel_timers()
            self._reset_calls()
        if loop is not None:
            for conn in conns:
                loop.call_soon_threadsafe(conn.queue.put_nowait, None)
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._server = None
        self._thread = None
        self._loop = None
        self._notify()

    def restart(self) -> None:
        """Stop and start again on the same port (an Asterisk restart)."""
        self.stop()
        self.start()

    def __enter__(self) -> AriDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> AriDouble:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    def _cancel_timers(self) -> None:
        for obj in [*self.channels.values(), *self.playbacks.values(), *self.live_recordings.values()]:
            if obj.timer is not None:
                obj.timer.cancel()
                obj.timer = None

    # ---- waiting --------------------------------------------------------------------------------

    def _notify(self) -> None:
        with self._lock:
            self._cond.notify_all()
            for loop, event in self._waiters:
                loop.call_soon_threadsafe(event.set)

    def wait_for_sync(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("condition not met in time")
                self._cond.wait(remaining)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        with self._lock:
            self._waiters.append((loop, event))
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event.clear()
                    with self._lock:
                        result = predicate()
                    if result:
                        return result
                    await event.wait()
        finally:
            with self._lock:
                self._waiters.remove((loop, event))

    def _find_request(self, method: str, path_pattern: str, start: int = 0) -> RecordedRequest | None:
        for request in self.requests[start:]:
            path = request.path[4:] if request.path.startswith("/ari/") else request.path
            if request.method == method.upper() and re.fullmatch(path_pattern, path) and request.status:
                return request
        return None

    async def wait_for_request(self, method: str, path_pattern: str, timeout: float = 5.0) -> RecordedRequest:
        """The first answered request matching METHOD and a regex over the path (without /ari)."""
        return await self.wait_for(lambda: self._find_request(method, path_pattern), timeout)

    def wait_for_request_sync(self, method: str, path_pattern: str, timeout: float = 5.0) -> RecordedRequest:
        return self.wait_for_sync(lambda: self._find_request(method, path_pattern), timeout)

    def _find_event(self, kind: str, where: Callable[[dict], bool] | None) -> dict | None:
        return next((e for e in self.events if e["type"] == kind and (where is None or where(e))), None)

    async def wait_for_event(self, kind: str, where: Callable[[dict], bool] | None = None,
                             timeout: float = 5.0) -> dict:
        """The first event of this type sent on the app's websocket (and matching `where`)."""
        return await self.wait_for(lambda: self._find_event(kind, where), timeout)

    def wait_for_event_sync(self, kind: str, where: Callable[[dict], bool] | None = None,
                            timeout: float = 5.0) -> dict:
        return self.wait_for_sync(lambda: self._find_event(kind, where), timeout)

    def is_connected(self) -> bool:
        with self._lock:
            return self._active_conn() is not None

    # ---- configuration and scripted far ends ----------------------------------------------------

    def add_endpoint(self, technology: str, resource: str, state: str = "online") -> None:
        with self._lock:
            self.endpoints[f"{technology}/{resource}"] = {"technology": technology, "resource": resource,
                                                         "state": state, "channel_ids": []}

    def set_endpoint_state(self, technology: str, resource: str, state: str) -> None:
        """Emits EndpointStateChange (to apps subscribed to `endpoint:tech[/resource]`) and
        DeviceStateChanged (to apps subscribed to `deviceState:tech/resource`)."""
        with self._lock:
            key = f"{technology}/{resource}"
            endpoint = self.endpoints[key]
            endpoint["state"] = state
            self._emit("EndpointStateChange", endpoints=[key], endpoint=dict(endpoint, channel_ids=list(
                endpoint["channel_ids"])))
            device = "NOT_INUSE" if state == "online" else "UNAVAILABLE"
            self._emit("DeviceStateChanged", devices=[key], device_state={"name": key, "state": device})

    def fail_next(self, method: str, path_pattern: str, status: int, message: str | None = None,
                  times: int = 1) -> None:
        """The next `times` requests METHOD + regex over the path (without /ari) answer `status`."""
        with self._lock:
            self._failures.append([method.upper(), path_pattern, status, message or "Simulated failure", times])

    def drop_websocket(self) -> None:
        """Close the app's event websocket(s) from the server side. Until the client reconnects the
        app is inactive: its events are lost (recorded in `lost_events`), as with Asterisk."""
        with self._lock:
            conns = [c for c in self._conns if self.app in c.apps]
            for conn in conns:
                conn.active = False
                self._conns.remove(conn)
        for conn in conns:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(conn.queue.put_nowait, None)
        self._notify()

    def _next_id(self) -> str:
        return f"{self._epoch}.{next(self._ids)}"

    def incoming_call(self, caller: str = "0912345678", dialed: str = "1022", caller_name: str = "",
                      trunk: str = "trunk", context: str = "from-trunk") -> str:
        """A call from the PSTN trunk reaches `exten => <dialed>,1,Stasis(<app>)`: the channel (state
        Ring) enters Stasis: StasisStart{args: []} (ChannelCreated only for subscribeAll sockets)."""
        with self._lock:
            channel_id = self._next_id()
            if self._active_conn() is None:
                self.lost_calls.append(channel_id)
                return channel_id
            ch = _Channel(id=channel_id, name=f"PJSIP/{trunk}-{next(self._ids):08x}", state="Ring",
                          caller={"name": caller_name, "number": caller}, connected={"name": "", "number": ""},
                          dialplan={"context": context, "exten": dialed, "priority": 1, "app_name": "Stasis",
                                    "app_data": self.app},
                          creationtime=_now(), endpoint=f"PJSIP/{trunk}")
            self.channels[ch.id] = ch
            self._endpoint_add(ch)
            self._emit("ChannelCreated", channels=[ch.id], only_all=True, channel=ch.json())
            ch.in_stasis = ch.subscribed = True
            self._emit("StasisStart", channels=[ch.id], args=[], channel=ch.json())
            return ch.id

    def _ringing(self, endpoint_or_id: str) -> _Channel:
        ch = self.channels.get(endpoint_or_id)
        if ch is None:
            ch = next((c for c in self.channels.values()
                       if c.originated and c.endpoint == endpoint_or_id and c.state == "Ringing"), None)
        if ch is None or not ch.originated or ch.state != "Ringing":
            raise KeyError(f"no ringing originated channel for {endpoint_or_id!r}")
        return ch

    def answer_originated(self, endpoint_or_channel_id: str) -> str:
        """The called phone answers: ChannelStateChange(Up), Dial(ANSWER), StasisStart{args: appArgs}."""
        with self._lock:
            ch = self._ringing(endpoint_or_channel_id)
            if ch.timer is not None:
                ch.timer.cancel()
                ch.timer = None
            ch.state = "Up"
            self._emit("ChannelStateChange", channels=[ch.id], channel=ch.json())
            self._emit("Dial", channels=[ch.id], peer=ch.json(), dialstring=ch.endpoint.split("/", 1)[1],
                       dialstatus="ANSWER")
            if ch.originate_app:
                ch.dialplan.update(app_name="Stasis", app_data=",".join([ch.originate_app, *ch.app_args]))
                ch.in_stasis = ch.originate_app == self.app
                if ch.in_stasis:
                    self._emit("StasisStart", channels=[ch.id], args=list(ch.app_args), channel=ch.json())
            self._notify()
            return ch.id

    def reject_originated(self, endpoint_or_channel_id: str, cause: int = 21) -> str:
        """The called phone declines (21 Call Rejected, 17 User busy, ...)."""
        with self._lock:
            ch = self._ringing(endpoint_or_channel_id)
            if cause in (17, 34):
                self._emit("Dial", channels=[ch.id], peer=ch.json(), dialstring=ch.endpoint.split("/", 1)[1],
                           dialstatus=_dial_status(cause))
            else:
                self._emit("ChannelHangupRequest", channels=[ch.id], cause=cause, channel=ch.json())
                self._emit("Dial", channels=[ch.id], peer=ch.json(), dialstring=ch.endpoint.split("/", 1)[1],
                           dialstatus=_dial_status(cause))
            self._destroy(ch, cause)
            return ch.id

    def _originate_timeout(self, channel_id: str) -> None:
        with self._lock:
            ch = self.channels.get(channel_id)
            if ch is None or ch.state != "Ringing":
                return
            ch.timer = None
            self._destroy(ch, 19)

    def caller_presses(self, channel_id: str, digits: str, duration_ms: int = 100) -> None:
        """DTMF from the far end: ChannelDtmfReceived per digit (and ends a recording whose
        terminateOn matches: RecordingFinished)."""
        with self._lock:
            ch = self.channels[channel_id]
            for digit in digits:
                if digit not in DTMF_DIGITS:
                    raise ValueError(f"not a DTMF digit: {digit!r}")
                self._emit("ChannelDtmfReceived", channels=[ch.id], digit=digit, duration_ms=duration_ms,
                           channel=ch.json())
                for rec in list(self.live_recordings.values()):
                    if rec.target == f"channel:{ch.id}" and rec.state == "recording" and (
                            rec.terminate_on == "any" or rec.terminate_on == digit):
                        self._finish_recording(rec)

    def hang_up(self, channel_id: str, cause: int = 16) -> None:
        """The far end hangs up: ChannelHangupRequest{cause}, then as `_hangup`."""
        with self._lock:
            ch = self.channels[channel_id]
            if ch.originated and ch.state == "Ringing":
                self.reject_originated(ch.id, cause)
                return
            # checked on Asterisk 22.10.1: a dialplan channel's far-end hang-up request carries no cause
            extra = {"cause": cause} if ch.originated else {}
            self._emit("ChannelHangupRequest", channels=[ch.id], **extra, channel=ch.json())
            self._teardown(ch, cause)

    # ---- events ---------------------------------------------------------------------------------

    def _active_conn(self) -> _Conn | None:
        return next((c for c in reversed(self._conns) if c.active and self.app in c.apps), None)

    def _bridge_subscribed(self, bridge: _Bridge) -> bool:
        if f"bridge:{bridge.id}" in self._subscriptions:
            return True
        return any(self.channels[c].in_stasis for c in bridge.channels if c in self.channels)

    def _wants(self, channels: list[str], bridges: list[str], endpoints: list[str], devices: list[str]) -> bool:
        for cid in channels:
            ch = self.channels.get(cid)
            if (ch is not None and ch.subscribed) or f"channel:{cid}" in self._subscriptions:
                return True
        for bid in bridges:
            bridge = self.bridges.get(bid)
            if bridge is not None and self._bridge_subscribed(bridge):
                return True
        for ep in endpoints:
            if f"endpoint:{ep}" in self._subscriptions or f"endpoint:{ep.split('/')[0]}" in self._subscriptions:
                return True
        return any(f"deviceState:{d}" in self._subscriptions for d in devices)

    def _emit(self, kind: str, *, channels: list[str] = (), bridges: list[str] = (), endpoints: list[str] = (),
              devices: list[str] = (), only_all: bool = False, force: bool | None = None, **payload: Any) -> None:
        conn = self._active_conn()
        wanted = force if force is not None else (
            not only_all and self._wants(list(channels), list(bridges), list(endpoints), list(devices)))
        if conn is None:
            if wanted:
                event = {"type": kind, "timestamp": _now(), **payload, "asterisk_id": self.asterisk_id,
                         "application": self.app}
                self.lost_events.append(event)
            return
        if not (wanted or conn.subscribe_all):
            return
        event = {"type": kind, "timestamp": _now(), **payload, "asterisk_id": self.asterisk_id,
                 "application": self.app}
        try:
            check_event(event)
        except ContractError as exc:
            self.violations.append(Violation("event", f"{kind}: {exc.message}"))
        self.events.append(event)
        text = _dumps(event)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(conn.queue.put_nowait, text)
        self._notify()

    # ---- HTTP -----------------------------------------------------------------------------------

    def _authorized(self, headers: Any, query: dict[str, list[str]]) -> bool:
        key = query.get("api_key", [None])[-1]
        if key is not None:
            return key == f"{self.user}:{self.password}"
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                return False
            return user == self.user and password == self.password
        return False

    async def _http(self, request: Request) -> Response:
        query: dict[str, list[str]] = {}
        for k, v in request.query_params.multi_items():
            query.setdefault(k, []).append(v)
        raw = await request.body()
        recorded = RecordedRequest(request.method, request.url.path, {k: v for k, v in query.items()
                                                                      if k != "api_key"}, None)
        body: Any = None
        if raw:
            try:
                body = _loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        recorded.body = body
        if request.method == "POST" and request.url.path.endswith("/addChannel"):
            await self._while_playing(query.get("channel", []))
        with self._lock:
            self.requests.append(recorded)
            status, payload, headers = self._answer(request, recorded, query, raw)
            recorded.status = status
        self._notify()
        if isinstance(payload, bytes):
            return Response(payload, status_code=status, headers=headers)
        if payload is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(payload, status_code=status, headers=headers)

    async def _while_playing(self, values: list[str], limit: float = 60.0) -> None:
        """Asterisk 22.10.1 (checked on a real one) answers addChannel only once the channels'
        playbacks have ended — a tone never ends by itself, so the request then hangs."""
        ids = {c for v in values for c in v.split(",") if c}
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with self._lock:
                busy = any(pb.target in {f"channel:{c}" for c in ids} and pb.state in ("playing", "continuing")
                           for pb in self.playbacks.values())
            if not busy:
                return
            await asyncio.sleep(0.01)

    def _answer(self, request: Request, recorded: RecordedRequest, query: dict[str, list[str]],
                raw: bytes) -> tuple[int, Any, dict]:
        if not self._authorized(request.headers, query):
            return 401, {"message": "Authentication required"}, {"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'}
        path = recorded.path[4:]
        for failure in self._failures:
            method, pattern, status, message, times = failure
            if method == recorded.method and re.fullmatch(pattern, path):
                failure[4] -= 1
                if failure[4] <= 0:
                    self._failures.remove(failure)
                return status, {"message": message}, {}
        if raw and isinstance(recorded.body, str):
            return 400, {"message": "Error parsing request body"}, {}
        try:
            op = check_request(recorded.method, path, recorded.query, recorded.body)
        except ContractError as exc:
            self.violations.append(Violation("request", f"{recorded.method} {recorded.path}: {exc.message}"))
            return exc.status, {"message": exc.message}, {}
        recorded.operation = op.key
        handler = getattr(self, f"_op_{op.resource}_{op.nickname}", None)
        if handler is None:
            self.violations.append(Violation("unsimulated", f"{op.key} ({op.method} {op.path})"))
            return 501, {"message": "Method not implemented"}, {}
        try:
            result = handler(op)
        except AriError as exc:
            return exc.status, exc.body, {}
        status, payload, headers = (result + ({},))[:3] if len(result) == 2 else result
        if 200 <= status < 300 and payload is not None and not isinstance(payload, bytes) \
                and op.response_class not in ("void", "binary"):
            try:
                check_model(op.response_class, payload)
            except ContractError as exc:
                self.violations.append(Violation("response", f"{op.key}: {exc.message}"))
        return status, payload, headers

    # ---- WebSocket ------------------------------------------------------------------------------

    async def _websocket(self, websocket: WebSocket) -> None:
        query: dict[str, list[str]] = {}
        for k, v in websocket.query_params.multi_items():
            query.setdefault(k, []).append(v)
        clean = {k: v for k, v in query.items() if k != "api_key"}
        with self._lock:
            self.requests.append(RecordedRequest("GET", websocket.url.path, clean, None))
            recorded = self.requests[-1]
        if not self._authorized(websocket.headers, query):
            recorded.status = 401
            await websocket.close(code=1008)
            return
        try:
            op = check_request("GET", "/events", clean)
        except ContractError as exc:
            with self._lock:
                recorded.status = exc.status
                self.violations.append(Violation("request", f"GET {websocket.url.path}: {exc.message}"))
            await websocket.close(code=1008)
            return
        await websocket.accept()
        conn = _Conn(websocket, list(op.params["app"]), bool(op.params.get("subscribeAll")), asyncio.Queue())
        with self._lock:
            recorded.status = 101
            recorded.operation = op.key
            for old in self._conns:
                shared = [a for a in old.apps if a in conn.apps]
                if old.active and shared:
                    for app in shared:
                        old.queue.put_nowait(_dumps({"type": "ApplicationReplaced", "timestamp": _now(),
                                                     "asterisk_id": self.asterisk_id, "application": app}))
                    old.active = False
            self._conns.append(conn)
            self._known_apps.update(conn.apps)
        self._notify()
        sender = asyncio.create_task(self._send_loop(conn))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            sender.cancel()
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
            self._notify()

    async def _send_loop(self, conn: _Conn) -> None:
        try:
            while True:
                text = await conn.queue.get()
                if text is None:
                    await conn.websocket.close(code=1001)
                    return
                await conn.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return

    # ---- helpers --------------------------------------------------------------------------------

    def _channel(self, channel_id: str) -> _Channel:
        ch = self.channels.get(channel_id)
        if ch is None:
            raise AriError(404, "Channel not found")
        return ch

    def _control(self, channel_id: str, state_check: bool = False) -> _Channel:
        """resource_channels.c find_control (+ channel_state_invalid)."""
        ch = self._channel(channel_id)
        if not ch.in_stasis:
            raise AriError(409, "Channel not in Stasis application")
        if state_check and ch.state in ("Down", "Rsrved", "Ringing"):
            raise AriError(412, "Channel in invalid state")
        return ch

    def _bridge(self, bridge_id: str) -> _Bridge:
        bridge = self.bridges.get(bridge_id)
        if bridge is None:
            raise AriError(404, "Bridge not found")
        return bridge

    def _endpoint_add(self, ch: _Channel) -> None:
        if ch.endpoint in self.endpoints:
            self.endpoints[ch.endpoint]["channel_ids"].append(ch.id)

    def _teardown(self, ch: _Channel, cause: int) -> None:
        """After the hangup request: media stops, the channel leaves its bridge, Stasis ends, the
        channel is destroyed (res_stasis.c stasis_app_exec)."""
        for pb in list(self.playbacks.values()):
            if pb.target == f"channel:{ch.id}":
                self._end_playback(pb, started=pb.state != "queued")
        for rec in list(self.live_recordings.values()):
            if rec.target == f"channel:{ch.id}":
                self._finish_recording(rec)
        if ch.bridge_id is not None:
            self._leave_bridge(ch)
        if ch.in_stasis:
            ch.in_stasis = False
            self._emit("StasisEnd", channels=[ch.id], channel=ch.json())
            if not ch.originated:
                # Asterisk 22.10.1 (checked on a real one): the app is unsubscribed from a channel that
                # came from the dialplan at StasisEnd, so its ChannelDestroyed reaches only an app that
                # subscribed to `channel:<id>` explicitly (our originated channels keep it)
                ch.subscribed = False
        self._destroy(ch, cause)

    def _destroy(self, ch: _Channel, cause: int) -> None:
        if ch.timer is not None:
            ch.timer.cancel()
            ch.timer = None
        self._emit("ChannelDestroyed", channels=[ch.id], cause=cause, cause_txt=CAUSES.get(cause, "Unknown"),
                   channel=ch.json())
        self.channels.pop(ch.id, None)
        if ch.endpoint in self.endpoints:
            ids = self.endpoints[ch.endpoint]["channel_ids"]
            if ch.id in ids:
                ids.remove(ch.id)
        self._notify()

    def _leave_bridge(self, ch: _Channel) -> None:
        bridge = self.bridges.get(ch.bridge_id)
        ch.bridge_id = None
        if bridge is None:
            return
        bridge.channels.remove(ch.id)
        self._emit("ChannelLeftBridge", channels=[ch.id], bridges=[bridge.id], bridge=bridge.json(),
                   channel=ch.json())
        if bridge.recording and not bridge.channels and bridge.recording in self.live_recordings:
            self._finish_recording(self.live_recordings[bridge.recording], force=True)

    def _schedule(self, delay: float, fn: Callable, *args: Any) -> _Handle:
        """A timer on the server loop (callable from any thread); `fn` runs under the lock unless the
        handle was cancelled first."""
        handle = _Handle()

        def run() -> None:
            with self._lock:
                if not handle.cancelled:
                    fn(*args)

        def arm() -> None:
            if not handle.cancelled:
                handle.inner = asyncio.get_running_loop().call_later(max(delay, 0), run)

        if self._loop is not None:
            self._loop.call_soon_threadsafe(arm)
        return handle

    # ---- playbacks ------------------------------------------------------------------------------

    def _start_play(self, op: Operation, target: str, playback_id: str | None) -> tuple[int, Any, dict]:
        p = op.params
        if p.get("skipms", 0) < 0:
            raise AriError(400, "skipms cannot be negative")
        if p.get("offsetms", 0) < 0:
            raise AriError(400, "offsetms cannot be negative")
        pid = playback_id or p.get("playbackId") or str(uuid.uuid4())
        if pid in self.playbacks:
            raise AriError(409, f"Playback with id '{pid}' already exists")
        pb = _Playback(id=pid, media=list(p["media"]), target=target, language=p.get("lang") or "en")
        self.playbacks[pid] = pb
        answer = pb.json()
        if not any(x.state in ("playing", "continuing") for x in self.playbacks.values() if x.target == target
                   and x is not pb) and not self._queued_before(pb):
            self._play(pb)
        return 201, answer, {"Location": f"/playbacks/{pid}"}

    def _queued_before(self, pb: _Playback) -> bool:
        for other in self.playbacks.values():
            if other is pb:
                return False
            if other.target == pb.target:
                return True
        return False

    def _playable(self, media: str) -> bool:
        if not media.startswith(MEDIA_SCHEMES):
            return False
        if media.startswith("recording:"):
            return media[len("recording:"):] in self.stored
        return True

    def _play(self, pb: _Playback) -> None:
        kind, target = pb.target.split(":", 1)
        sources = {"channels": [target]} if kind == "channel" else {"bridges": [target]}
        if not self._playable(pb.media[pb.index]):
            pb.state = "failed"
            self._emit("PlaybackFinished", **sources, playback=pb.json())
            self._after_playback(pb)
            return
        pb.state = "playing" if pb.index == 0 else "continuing"
        self._emit("PlaybackStarted" if pb.index == 0 else "PlaybackContinuing", **sources, playback=pb.json())
        if pb.media[pb.index].startswith("tone:"):
            return  # a tone repeats until the playback is stopped (checked on Asterisk 22.10.1)
        pb.timer = self._schedule(self.playback_seconds, self._advance_playback, pb.id)

    def _advance_playback(self, playback_id: str) -> None:
        pb = self.playbacks.get(playback_id)
        if pb is None or pb.state not in ("playing", "continuing"):
            return
        pb.timer = None
        if pb.index < len(pb.media) - 1:
            pb.index += 1
            self._play(pb)
        else:
            self._end_playback(pb)

    def _end_playback(self, pb: _Playback, started: bool = True) -> None:
        if pb.timer is not None:
            pb.timer.cancel()
            pb.timer = None
        if started:
            kind, target = pb.target.split(":", 1)
            sources = {"channels": [target]} if kind == "channel" else {"bridges": [target]}
            pb.state = "done"
            self._emit("PlaybackFinished", **sources, playback=pb.json())
        self._after_playback(pb)

    def _after_playback(self, pb: _Playback) -> None:
        self.playbacks.pop(pb.id, None)
        following = next((x for x in self.playbacks.values() if x.target == pb.target and x.state == "queued"), None)
        target_alive = (pb.target.split(":", 1)[1] in self.channels) if pb.target.startswith("channel:") else (
            pb.target.split(":", 1)[1] in self.bridges)
        if following is not None and target_alive:
            self._play(following)
        self._notify()

    # ---- recordings -----------------------------------------------------------------------------

    def _start_recording(self, op: Operation, target: str) -> tuple[int, Any, dict]:
        p = op.params
        name, fmt = p["name"], p["format"]
        if fmt not in RECORDING_FORMATS:
            raise AriError(422, "specified format is unknown on this system")
        if name.startswith("/") or ".." in name.split("/"):
            raise AriError(400, "Recording name invalid")
        if_exists = p.get("ifExists", "fail")
        if name in self.live_recordings or (name in self.stored and if_exists == "fail"):
            raise AriError(409, f"Recording '{name}' already exists and can not be overwritten")
        rec = _Recording(name=name, format=fmt, target=target, terminate_on=p.get("terminateOn", "none"),
                         append=if_exists == "append")
        self.live_recordings[name] = rec
        answer = rec.json()
        rec.state = "recording"
        rec.started = time.monotonic()
        kind, tid = target.split(":", 1)
        sources = {"channels": [tid]} if kind == "channel" else {"bridges": [tid]}
        self._emit("RecordingStarted", **sources, recording=rec.json())
        if p.get("maxDurationSeconds"):
            rec.timer = self._schedule(p["maxDurationSeconds"] * self.timer_scale, self._finish_recording_by_name, name)
        return 201, answer, {"Location": f"/recordings/live/{quote(name)}"}

    def _finish_recording_by_name(self, name: str) -> None:
        rec = self.live_recordings.get(name)
        if rec is not None and rec.state in ("recording", "paused"):
            rec.timer = None
            self._finish_recording(rec)

    def _finish_recording(self, rec: _Recording, canceled: bool = False, force: bool = False,
                          silent: bool = False) -> None:
        if rec.timer is not None:
            rec.timer.cancel()
            rec.timer = None
        elapsed = time.monotonic() - rec.started
        rec.duration = int(elapsed)
        rec.state = "canceled" if canceled else "done"
        kind, tid = rec.target.split(":", 1)
        sources = {"channels": [tid]} if kind == "channel" else {"bridges": [tid]}
        subscribed = None
        if kind == "bridge" and tid in self.bridges and force:
            subscribed = True  # the last app channel just left; the recorder's message still reaches the app
        if not silent:
            self._emit("RecordingFinished", **sources, force=subscribed, recording=rec.json())
        self.live_recordings.pop(rec.name, None)
        if kind == "bridge" and tid in self.bridges:
            self.bridges[tid].recording = None
        if not canceled:
            rate = RECORDING_FORMATS[rec.format]
            data = make_wav(elapsed, rate) if rec.format.startswith("wav") else bytes(int(max(elapsed, 0.2) * rate))
            previous = self.stored.get(rec.name)
            if rec.append and previous and previous["format"] == rec.format \
                    and rec.format.startswith("wav"):
                data = _append_wav(previous["data"], data)
            self.stored[rec.name] = {"format": rec.format, "data": data}
        self._notify()

    # ---- operations: asterisk, applications, endpoints ------------------------------------------

    def _op_asterisk_getInfo(self, op: Operation) -> tuple:
        info = {
            "build": {"os": "Linux", "kernel": "6.1.0", "options": "", "machine": "x86_64",
                      "date": "2025-01-01 00:00:00 UTC", "user": "root"},
            "system": {"version": ASTERISK_VERSION, "entity_id": self.asterisk_id},
            "config": {"name": "", "default_language": "en", "setid": {"user": "", "group": ""}},
            "status": {"startup_time": self._started_at, "last_reload_time": self._started_at},
        }
        only = op.params.get("only")
        return 200, {k: v for k, v in info.items() if not only or k in only}

    def _op_asterisk_ping(self, op: Operation) -> tuple:
        return 200, {"asterisk_id": self.asterisk_id, "ping": "pong", "timestamp": _now()}

    def _application_json(self, name: str) -> dict:
        mine = name == self.app
        subs = self._subscriptions if mine else set()
        channel_ids = sorted({c.id for c in self.channels.values() if c.subscribed and mine}
                             | {s[8:] for s in subs if s.startswith("channel:")})
        bridge_ids = sorted({b.id for b in self.bridges.values() if mine and self._bridge_subscribed(b)})
        return {"name": name, "channel_ids": channel_ids, "bridge_ids": bridge_ids,
                "endpoint_ids": sorted(s[9:] for s in subs if s.startswith("endpoint:")),
                "device_names": sorted(s[12:] for s in subs if s.startswith("deviceState:")),
                "events_allowed": [], "events_disallowed": []}

    def _op_applications_list(self, op: Operation) -> tuple:
        return 200, [self._application_json(n) for n in sorted(self._known_apps)]

    def _op_applications_get(self, op: Operation) -> tuple:
        name = op.path_params["applicationName"]
        if name not in self._known_apps:
            raise AriError(404, "Application not found")
        return 200, self._application_json(name)

    def _event_source(self, source: str) -> str:
        scheme, _, rest = source.partition(":")
        if scheme not in ("channel", "bridge", "endpoint", "deviceState") or not rest:
            raise AriError(400, "Invalid event source URI scheme")
        exists = {"channel": lambda: rest in self.channels, "bridge": lambda: rest in self.bridges,
                  "endpoint": lambda: rest in self.endpoints or any(k.split("/")[0] == rest for k in self.endpoints),
                  "deviceState": lambda: rest in self.endpoints}[scheme]()
        if not exists:
            raise AriError(422, "Event source does not exist")
        return f"{scheme}:{rest}"

    def _op_applications_subscribe(self, op: Operation) -> tuple:
        name = op.path_params["applicationName"]
        if name not in self._known_apps:
            raise AriError(404, "Application not found")
        sources = [self._event_source(s) for s in op.params["eventSource"]]
        if name == self.app:
            self._subscriptions.update(sources)
        return 200, self._application_json(name)

    def _op_applications_unsubscribe(self, op: Operation) -> tuple:
        name = op.path_params["applicationName"]
        if name not in self._known_apps:
            raise AriError(404, "Application not found")
        sources = [self._event_source(s) for s in op.params["eventSource"]]
        if name == self.app:
            for source in sources:
                if source not in self._subscriptions:
                    raise AriError(409, "Application not subscribed to event source")
            self._subscriptions.difference_update(sources)
        return 200, self._application_json(name)

    def _endpoint_json(self, key: str) -> dict:
        ep = self.endpoints[key]
        return dict(ep, channel_ids=list(ep["channel_ids"]))

    def _op_endpoints_list(self, op: Operation) -> tuple:
        return 200, [self._endpoint_json(k) for k in self.endpoints]

    def _op_endpoints_listByTech(self, op: Operation) -> tuple:
        tech = op.path_params["tech"]
        found = [self._endpoint_json(k) for k in self.endpoints if k.split("/")[0].lower() == tech.lower()]
        if not found:
            raise AriError(404, f"No Endpoints found - invalid tech {tech}")
        return 200, found

    def _op_endpoints_get(self, op: Operation) -> tuple:
        key = f"{op.path_params['tech']}/{op.path_params['resource']}"
        if key not in self.endpoints:
            raise AriError(404, "Endpoint not found")
        return 200, self._endpoint_json(key)

    def _op_deviceStates_list(self, op: Operation) -> tuple:
        return 200, [{"name": k, "state": "NOT_INUSE" if e["state"] == "online" else "UNAVAILABLE"}
                     for k, e in self.endpoints.items()]

    # ---- operations: channels -------------------------------------------------------------------

    def _op_channels_list(self, op: Operation) -> tuple:
        return 200, [c.json() for c in self.channels.values()]

    def _op_channels_get(self, op: Operation) -> tuple:
        return 200, self._channel(op.path_params["channelId"]).json()

    def _op_channels_originate(self, op: Operation) -> tuple:
        return self._originate(op, op.params.get("channelId"))

    def _op_channels_originateWithId(self, op: Operation) -> tuple:
        return self._originate(op, op.path_params["channelId"])

    def _originate(self, op: Operation, channel_id: str | None) -> tuple:
        p = op.params
        endpoint = p["endpoint"]
        if p.get("originator") and p.get("formats"):
            raise AriError(400, "Originator and formats can't both be specified")
        tech, _, resource = endpoint.partition("/")
        if not tech or not resource:
            raise AriError(400, "Invalid endpoint specified")
        app = p.get("app")
        if not app and not p.get("extension"):
            raise AriError(400, "Application or extension must be specified")
        if p.get("originator") and p["originator"] not in self.channels:
            raise AriError(400, "Provided originator channel was not found")
        if channel_id and (channel_id in self.channels or channel_id == p.get("otherChannelId")):
            raise AriError(409, "Channel with given unique ID already exists")
        if tech == "PJSIP" and "@" in resource:
            # chan_pjsip's "PJSIP/<number>@<endpoint>": dial <number> through that endpoint (a trunk)
            endpoint = f"{tech}/{resource.split('@', 1)[1]}"
        ep = self.endpoints.get(endpoint)
        if ep is None or ep["state"] != "online":
            # chan_pjsip cannot create the channel (no such endpoint / no contact): ast_dial_prerun fails
            raise AriError(500, "Allocation failed", {"error": "Allocation failed"})
        name, number = _parse_callerid(p.get("callerId", ""))
        ch = _Channel(id=channel_id or self._next_id(), name=f"{endpoint}-{next(self._ids):08x}", state="Down",
                      caller={"name": name, "number": number}, connected={"name": name, "number": number},
                      dialplan={"context": p.get("context") or "default", "exten": p.get("extension") or "s",
                                "priority": p.get("priority") or 1, "app_name": "", "app_data": ""},
                      creationtime=_now(), endpoint=endpoint, originated=True, originate_app=app,
                      app_args=[a for a in (p.get("appArgs") or "").split(",")] if p.get("appArgs") else [])
        if op.body and isinstance(op.body.get("variables"), dict):
            ch.variables.update({k: str(v) for k, v in op.body["variables"].items()})
        self.channels[ch.id] = ch
        self._endpoint_add(ch)
        ch.subscribed = app == self.app
        answer = ch.json()
        self._emit("Dial", channels=[ch.id], peer=ch.json(), dialstring=resource, dialstatus="")
        ch.state = "Ringing"
        self._emit("ChannelStateChange", channels=[ch.id], channel=ch.json())
        self._emit("Dial", channels=[ch.id], peer=ch.json(), dialstring=resource, dialstatus="RINGING")
        timeout = p.get("timeout", 30)
        if timeout is None or timeout == 0:
            timeout = 30
        if timeout > 0:
            ch.timer = self._schedule(timeout * self.timer_scale, self._originate_timeout, ch.id)
        return 200, answer

    def _op_channels_hangup(self, op: Operation) -> tuple:
        ch = self._channel(op.path_params["channelId"])
        p = op.params
        if p.get("reason") and p.get("reason_code"):
            raise AriError(400, "The reason and reason_code can't both be specified")
        if p.get("reason_code"):
            try:
                cause = int(p["reason_code"])
            except ValueError:
                raise AriError(400, "Invalid reason for hangup reason code provided") from None
        elif p.get("reason"):
            cause = HANGUP_REASONS[p["reason"]]
        else:
            cause = 16
        self._emit("ChannelHangupRequest", channels=[ch.id], cause=AST_SOFTHANGUP_EXPLICIT, soft=True,
                   channel=ch.json())
        self._teardown(ch, cause)
        return 204, None

    def _op_channels_answer(self, op: Operation) -> tuple:
        ch = self._control(op.path_params["channelId"], state_check=True)
        if ch.state != "Up":
            ch.state = "Up"
            self._emit("ChannelStateChange", channels=[ch.id], channel=ch.json())
        return 204, None

    def _simple(self, op: Operation) -> tuple:
        self._control(op.path_params["channelId"], state_check=True)
        return 204, None

    _op_channels_ring = _op_channels_ringStop = _op_channels_progress = _simple
    _op_channels_hold = _op_channels_unhold = _op_channels_startSilence = _op_channels_stopSilence = _simple
    _op_channels_mute = _op_channels_unmute = _simple

    def _op_channels_startMoh(self, op: Operation) -> tuple:
        ch = self._control(op.path_params["channelId"], state_check=True)
        ch.moh = op.params.get("mohClass") or "default"
        return 204, None

    def _op_channels_stopMoh(self, op: Operation) -> tuple:
        ch = self._control(op.path_params["channelId"], state_check=True)
        ch.moh = None
        return 204, None

    def _op_channels_sendDTMF(self, op: Operation) -> tuple:
        ch = self._control(op.path_params["channelId"], state_check=True)
        if not op.params.get("dtmf"):
            raise AriError(400, "DTMF is required")
        self.sent_dtmf.append((ch.id, op.params["dtmf"]))
        return 204, None

    def _op_channels_continueInDialplan(self, op: Operation) -> tuple:
        ch = self._control(op.path_params["channelId"], state_check=True)
        if ch.bridge_id is not None:
            self._leave_bridge(ch)
        ch.in_stasis = False
        for key in ("context", "extension", "priority"):
            if op.params.get(key):
                ch.dialplan[{"extension": "exten"}.get(key, key)] = op.params[key]
        ch.dialplan.update(app_name="", app_data="")
        self._emit("StasisEnd", channels=[ch.id], channel=ch.json())
        return 204, None

    def _op_channels_redirect(self, op: Operation) -> tuple:
        ch = self._control(op.path_params["channelId"], state_check=True)
        endpoint = op.params["endpoint"]
        tech, _, resource = endpoint.partition("/")
        if not tech:
            raise AriError(422, f"Endpoint parameter '{endpoint}' does not contain tech/resource")
        if not resource:
            raise AriError(422, f"No resource provided in endpoint parameter '{endpoint}'")
        channel_tech = ch.name.split("/", 1)[0]
        if channel_tech.lower() != tech.lower():
            raise AriError(422, f"Endpoint technology '{tech}' does not match channel technology '{channel_tech}'")
        self.redirects.append((ch.id, endpoint))
        # the far end follows the REFER (answered) / 302 (unanswered) and the channel goes away
        self._emit("ChannelHangupRequest", channels=[ch.id], cause=16, channel=ch.json())
        self._teardown(ch, 16)
        return 204, None

    def _op_channels_play(self, op: Operation) -> tuple:
        ch = self._control(op.path_params["channelId"], state_check=True)
        return self._start_play(op, f"channel:{ch.id}", None)

    def _op_channels_playWithId(self, op: Operation) -> tuple:
        ch = self._control(op.path_params["channelId"], state_check=True)
        return self._start_play(op, f"channel:{ch.id}", op.path_params["playbackId"])

    def _op_channels_record(self, op: Operation) -> tuple:
        ch = self._control(op.path_params["channelId"], state_check=True)
        return self._start_recording(op, f"channel:{ch.id}")

    def _op_channels_getChannelVar(self, op: Operation) -> tuple:
        ch = self._control(op.path_params["channelId"])
        name = op.params["variable"]
        if name not in ch.variables:
            raise AriError(404, "Provided variable was not found")
        return 200, {"value": ch.variables[name]}

    def _op_channels_setChannelVar(self, op: Operation) -> tuple:
        ch = self._control(op.path_params["channelId"])
        name, value = op.params["variable"], op.params.get("value", "")
        ch.variables[name] = value
        self._emit("ChannelVarset", channels=[ch.id], variable=name, value=value, channel=ch.json())
        return 204, None

    # ---- operations: bridges --------------------------------------------------------------------

    def _op_bridges_list(self, op: Operation) -> tuple:
        return 200, [b.json() for b in self.bridges.values()]

    def _op_bridges_get(self, op: Operation) -> tuple:
        return 200, self._bridge(op.path_params["bridgeId"]).json()

    def _op_bridges_create(self, op: Operation) -> tuple:
        return self._create_bridge(op, op.params.get("bridgeId"))

    def _op_bridges_createWithId(self, op: Operation) -> tuple:
        bridge_id = op.path_params["bridgeId"]
        return self._create_bridge(op, bridge_id)

    def _create_bridge(self, op: Operation, bridge_id: str | None) -> tuple:
        if bridge_id and bridge_id in self.bridges:
            raise AriError(409, f"Bridge with id '{bridge_id}' already exists")
        types = [t.strip() for t in (op.params.get("type") or "mixing").split(",")]
        bridge = _Bridge(id=bridge_id or str(uuid.uuid4()), bridge_type="holding" if "holding" in types else "mixing",
                         name=op.params.get("name", ""), creationtime=_now())
        self.bridges[bridge.id] = bridge
        self._emit("BridgeCreated", bridges=[bridge.id], bridge=bridge.json())
        return 200, bridge.json()

    def _op_bridges_destroy(self, op: Operation) -> tuple:
        bridge = self._bridge(op.path_params["bridgeId"])
        subscribed = self._bridge_subscribed(bridge)
        for cid in list(bridge.channels):
            self._leave_bridge(self.channels[cid])
        if bridge.recording in self.live_recordings:
            # Asterisk 22.10.1 (checked on a real one): the file is kept but RecordingFinished does not
            # reach the app (stop the recording first, POST /recordings/live/{name}/stop, to hear of it)
            self._finish_recording(self.live_recordings[bridge.recording], silent=True)
        for pb in list(self.playbacks.values()):
            if pb.target == f"bridge:{bridge.id}":
                self._end_playback(pb, started=pb.state != "queued")
        self._emit("BridgeDestroyed", bridges=[bridge.id], force=subscribed or None, bridge=bridge.json())
        del self.bridges[bridge.id]
        return 204, None

    def _bridge_channels(self, op: Operation) -> tuple[_Bridge, list[_Channel]]:
        bridge = self._bridge(op.path_params["bridgeId"])
        chans = []
        for cid in op.params["channel"]:
            ch = self.channels.get(cid)
            if ch is None:
                raise AriError(400, "Channel not found")
            if not ch.in_stasis:
                raise AriError(422, "Channel not in Stasis application")
            chans.append(ch)
        return bridge, chans

    def _op_bridges_addChannel(self, op: Operation) -> tuple:
        bridge, chans = self._bridge_channels(op)
        for ch in chans:
            if any(r.target == f"channel:{ch.id}" for r in self.live_recordings.values()):
                raise AriError(409, f"Channel {ch.id} currently recording")
        for ch in chans:
            if ch.bridge_id == bridge.id:
                continue
            if ch.bridge_id is not None:
                self._leave_bridge(ch)
            ch.bridge_id = bridge.id
            bridge.channels.append(ch.id)
            self._emit("ChannelEnteredBridge", channels=[ch.id], bridges=[bridge.id], bridge=bridge.json(),
                       channel=ch.json())
        return 204, None

    def _op_bridges_removeChannel(self, op: Operation) -> tuple:
        bridge, chans = self._bridge_channels(op)
        for ch in chans:
            if ch.bridge_id != bridge.id:
                raise AriError(422, "Channel not in this bridge")
        for ch in chans:
            self._leave_bridge(ch)
        return 204, None

    def _op_bridges_play(self, op: Operation) -> tuple:
        bridge = self._bridge(op.path_params["bridgeId"])
        return self._start_play(op, f"bridge:{bridge.id}", None)

    def _op_bridges_playWithId(self, op: Operation) -> tuple:
        bridge = self._bridge(op.path_params["bridgeId"])
        return self._start_play(op, f"bridge:{bridge.id}", op.path_params["playbackId"])

    def _op_bridges_record(self, op: Operation) -> tuple:
        bridge = self._bridge(op.path_params["bridgeId"])
        answer = self._start_recording(op, f"bridge:{bridge.id}")
        bridge.recording = op.params["name"]
        return answer

    def _op_bridges_startMoh(self, op: Operation) -> tuple:
        self._bridge(op.path_params["bridgeId"])
        return 204, None

    _op_bridges_stopMoh = _op_bridges_startMoh

    # ---- operations: playbacks and recordings ---------------------------------------------------

    def _playback(self, playback_id: str) -> _Playback:
        pb = self.playbacks.get(playback_id)
        if pb is None:
            raise AriError(404, "Playback not found")
        return pb

    def _op_playbacks_get(self, op: Operation) -> tuple:
        return 200, self._playback(op.path_params["playbackId"]).json()

    def _op_playbacks_stop(self, op: Operation) -> tuple:
        pb = self._playback(op.path_params["playbackId"])
        self._end_playback(pb, started=pb.state != "queued")
        return 204, None

    def _op_playbacks_control(self, op: Operation) -> tuple:
        pb = self._playback(op.path_params["playbackId"])
        if pb.state not in ("playing", "continuing"):
            raise AriError(409, "Playback not currently playing")
        return 204, None

    def _op_recordings_listStored(self, op: Operation) -> tuple:
        return 200, [{"name": n, "format": r["format"]} for n, r in sorted(self.stored.items())]

    def _stored(self, name: str) -> dict:
        if name not in self.stored:
            raise AriError(404, "Recording not found")
        return self.stored[name]

    def _op_recordings_getStored(self, op: Operation) -> tuple:
        name = op.path_params["recordingName"]
        return 200, {"name": name, "format": self._stored(name)["format"]}

    def _op_recordings_deleteStored(self, op: Operation) -> tuple:
        name = op.path_params["recordingName"]
        self._stored(name)
        del self.stored[name]
        return 204, None

    def _op_recordings_getStoredFile(self, op: Operation) -> tuple:
        stored = self._stored(op.path_params["recordingName"])
        return 200, stored["data"], {"Content-Type": f"audio/{stored['format']}"}

    def _op_recordings_copyStored(self, op: Operation) -> tuple:
        stored = self._stored(op.path_params["recordingName"])
        target = op.params["destinationRecordingName"]
        if target in self.stored:
            raise AriError(409, "A recording with the same name already exists on the system")
        self.stored[target] = dict(stored)
        return 200, {"name": target, "format": stored["format"]}

    def _live(self, name: str) -> _Recording:
        rec = self.live_recordings.get(name)
        if rec is None:
            raise AriError(404, "Recording not found")
        return rec

    def _op_recordings_getLive(self, op: Operation) -> tuple:
        return 200, self._live(op.path_params["recordingName"]).json()

    def _op_recordings_stop(self, op: Operation) -> tuple:
        self._finish_recording(self._live(op.path_params["recordingName"]), force=True)
        return 204, None

    def _op_recordings_cancel(self, op: Operation) -> tuple:
        self._finish_recording(self._live(op.path_params["recordingName"]), canceled=True, force=True)
        return 204, None

    def _op_recordings_pause(self, op: Operation) -> tuple:
        rec = self._live(op.path_params["recordingName"])
        if rec.state != "recording":
            raise AriError(409, "Recording not in session")
        rec.state = "paused"
        return 204, None

    def _op_recordings_unpause(self, op: Operation) -> tuple:
        rec = self._live(op.path_params["recordingName"])
        if rec.state != "paused":
            raise AriError(409, "Recording not in session")
        rec.state = "recording"
        return 204, None

    def _op_recordings_mute(self, op: Operation) -> tuple:
        self._live(op.path_params["recordingName"])
        return 204, None

    _op_recordings_unmute = _op_recordings_mute


class _Handle:
    def __init__(self) -> None:
        self.cancelled = False
        self.inner: Any = None

    def cancel(self) -> None:
        # only a flag (thread-safe): the timer still fires on the server loop and does nothing
        self.cancelled = True


def _parse_callerid(value: str) -> tuple[str, str]:
    """ast_callerid_parse: 'Name <number>' or a bare number."""
    value = value.strip()
    match = re.fullmatch(r'"?([^"<]*?)"?\s*<([^>]*)>', value)
    if match:
        return match.group(1).strip(), match.group(2).strip()
    if re.fullmatch(r"[\d+*#()\-\s.]+", value):
        return "", re.sub(r"[\s().\-]", "", value)
    return value, ""


def _append_wav(first: bytes, second: bytes) -> bytes:
    frames = []
    params = None
    for blob in (first, second):
        with wave.open(io.BytesIO(blob), "rb") as src:
            params = src.getparams()
            frames.append(src.readframes(src.getnframes()))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setparams(params)
        out.writeframes(b"".join(frames))
    return buffer.getvalue()


def _dumps(obj: Any) -> str:
    import json
    return json.dumps(obj, separators=(",", ":"))


def _loads(raw: bytes) -> Any:
    import json
    return json.loads(raw)
