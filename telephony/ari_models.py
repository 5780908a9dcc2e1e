"""Typed models of the ARI resources and events our Stasis application uses, as Asterisk 22
declares them (`rest-api/api-docs/*.json`; a copy is the test oracle in tests/fixtures/ari-22).

Only the fields we read are declared; others are kept (`extra="allow"`) so a newer Asterisk that
adds fields still parses. `parse_event` turns a WebSocket message into its model, or into the
base `AriEvent` for an event type we do not handle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AriModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class CallerId(AriModel):
    name: str = ""
    number: str = ""


class DialplanCep(AriModel):
    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""


class Channel(AriModel):
    id: str
    name: str
    state: str  # Down, Rsrved, OffHook, Dialing, Ring, Ringing, Up, Busy, Dialing Offhook, Pre-ring, Unknown
    caller: CallerId = Field(default_factory=CallerId)
    connected: CallerId = Field(default_factory=CallerId)
    dialplan: DialplanCep = Field(default_factory=DialplanCep)
    creationtime: datetime | None = None
    language: str = "en"
    channelvars: dict[str, Any] | None = None


class Bridge(AriModel):
    id: str
    technology: str = ""
    bridge_type: str = "mixing"
    bridge_class: str = ""
    name: str = ""
    channels: list[str] = Field(default_factory=list)


class Endpoint(AriModel):
    technology: str
    resource: str
    state: str | None = None  # unknown, offline, online
    channel_ids: list[str] = Field(default_factory=list)


class Playback(AriModel):
    id: str
    media_uri: str
    target_uri: str
    state: str  # queued, playing, continuing, done, failed


class LiveRecording(AriModel):
    name: str
    format: str
    target_uri: str
    state: str  # queued, recording, paused, done, failed, canceled
    duration: int | None = None
    cause: str | None = None


class AriEvent(AriModel):
    type: str
    application: str = ""
    timestamp: datetime | None = None
    asterisk_id: str | None = None


class StasisStart(AriEvent):
    args: list[str] = Field(default_factory=list)
    channel: Channel
    replace_channel: Channel | None = None


class StasisEnd(AriEvent):
    channel: Channel


class ChannelStateChange(AriEvent):
    channel: Channel


class ChannelDtmfReceived(AriEvent):
    digit: str
    duration_ms: int = 0
    channel: Channel


class ChannelHangupRequest(AriEvent):
    cause: int | None = None
    soft: bool | None = None
    channel: Channel


class ChannelDestroyed(AriEvent):
    cause: int
    cause_txt: str = ""
    channel: Channel


class ChannelEnteredBridge(AriEvent):
    bridge: Bridge
    channel: Channel | None = None


class ChannelLeftBridge(AriEvent):
    bridge: Bridge
    channel: Channel


class PlaybackStarted(AriEvent):
    playback: Playback


class PlaybackFinished(AriEvent):
    playback: Playback


class RecordingStarted(AriEvent):
    recording: LiveRecording


class RecordingFinished(AriEvent):
    recording: LiveRecording


class RecordingFailed(AriEvent):
    recording: LiveRecording


class EndpointStateChange(AriEvent):
    endpoint: Endpoint


class Dial(AriEvent):
    caller: Channel | None = None
    peer: Channel
    dialstatus: str = ""
    dialstring: str | None = None


EVENT_TYPES: dict[str, type[AriEvent]] = {cls.__name__: cls for cls in (
    StasisStart, StasisEnd, ChannelStateChange, ChannelDtmfReceived, ChannelHangupRequest, ChannelDestroyed,
    ChannelEnteredBridge, ChannelLeftBridge, PlaybackStarted, PlaybackFinished, RecordingStarted, RecordingFinished,
    RecordingFailed, EndpointStateChange, Dial)}


def parse_event(data: dict[str, Any]) -> AriEvent:
    """The event as its model (ValidationError when a handled event lacks what Asterisk declares)."""
    model = EVENT_TYPES.get(str(data.get("type", "")), AriEvent)
    return model.model_validate(data)
