"""The ARI contract (Asterisk 22 declarations) and the ARI double, driven like a client would:
plain httpx for REST and `websockets` for the events socket."""

from __future__ import annotations

import asyncio
import io
import json
import wave

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.doubles.ari_contract import ContractError, check_event, check_request
from tests.doubles.ari_double import AriDouble

USER, PASSWORD = "hotline", "s3cret"
pytestmark = pytest.mark.timeout(30)


def _channel(**over: object) -> dict:
    base = {"id": "1700000000.1", "name": "PJSIP/trunk-00000001", "state": "Ring", "protocol_id": "",
            "caller": {"name": "", "number": "0912345678"}, "connected": {"name": "", "number": ""},
            "accountcode": "", "dialplan": {"context": "from-trunk", "exten": "1022", "priority": 1,
                                            "app_name": "Stasis", "app_data": "hotline"},
            "creationtime": "2025-01-01T10:00:00.000+0000", "language": "en"}
    base.update(over)
    return base


def _event(**over: object) -> dict:
    base = {"type": "StasisStart", "timestamp": "2025-01-01T10:00:00.000+0000", "application": "hotline",
            "asterisk_id": "02:42:ac:11:00:02", "args": [], "channel": _channel()}
    base.update(over)
    return base


# ---- contract ---------------------------------------------------------------------------------------


def test_contract_accepts_declared_requests() -> None:
    op = check_request("POST", "/ari/channels", {"endpoint": ["PJSIP/101"], "app": ["hotline"], "timeout": ["20"]},
                       {"variables": {"CALLERID(name)": "x"}})
    assert (op.key, op.params["timeout"], op.body) == ("channels.originate", 20, {"variables": {"CALLERID(name)": "x"}})
    assert check_request("POST", "/channels/create", {"endpoint": "PJSIP/1", "app": "x"}).nickname == "create"
    assert check_request("POST", "/channels/42/play", {"media": "sound:a,sound:b"}).params["media"] == ["sound:a",
                                                                                                        "sound:b"]
    # query parameters may also come as JSON body fields (Asterisk's generated *_parse_body)
    assert check_request("POST", "/channels/42/redirect", None, {"endpoint": "PJSIP/102"}).params == {
        "endpoint": "PJSIP/102"}


@pytest.mark.parametrize(("method", "path", "query", "status", "fragment"), [
    ("GET", "/ari/nothing", {}, 404, "Resource not found"),
    ("PATCH", "/channels", {}, 405, "Invalid method"),
    ("POST", "/channels", {"app": "hotline"}, 400, "Missing required parameter 'endpoint'"),
    ("POST", "/channels", {"endpoint": "PJSIP/1", "appargs": "x"}, 400, "Unknown query parameter 'appargs'"),
    ("POST", "/channels", {"endpoint": "PJSIP/1", "timeout": "soon"}, 400, "must be an integer"),
    ("DELETE", "/channels/1", {"reason": "bored"}, 400, "not one of"),
    ("POST", "/bridges/b/record", {"name": "r", "format": "wav", "ifExists": "replace"}, 400, "not one of"),
    ("POST", "/channels/1/record", {"name": "r", "format": "wav", "maxDurationSeconds": "-1"}, 400, "outside"),
    ("POST", "/channels/1/answer", {"channelId": ["a", "b"]}, 400, "Unknown query parameter"),
    ("POST", "/channels/1/dtmf", {"dtmf": ["1", "2"]}, 400, "multiple values"),
    ("POST", "/channels/1/mute", {"direction": "sideways"}, 400, "not one of"),
])
def test_contract_refuses_what_asterisk_would(method: str, path: str, query: dict, status: int,
                                              fragment: str) -> None:
    with pytest.raises(ContractError) as caught:
        check_request(method, path, query)
    assert caught.value.status == status
    assert fragment in caught.value.message


def test_contract_refuses_unknown_body_fields() -> None:
    with pytest.raises(ContractError, match="Unknown body field 'vars'"):
        check_request("POST", "/channels", {"endpoint": "PJSIP/1"}, {"vars": {}})
    with pytest.raises(ContractError, match="must be an object"):
        check_request("POST", "/channels", {"endpoint": "PJSIP/1"}, {"variables": "A=1"})


def test_contract_accepts_valid_events() -> None:
    check_event(_event())
    check_event({"type": "ChannelDestroyed", "timestamp": "2025-01-01T10:00:00.000+0000",
                 "application": "hotline", "cause": 16, "cause_txt": "Normal Clearing", "channel": _channel()})
    check_event({"type": "ChannelHangupRequest", "timestamp": "2025-01-01T10:00:00.000+0000",
                 "application": "hotline", "cause": 32, "soft": True, "channel": _channel()})


@pytest.mark.parametrize(("event", "fragment"), [
    ({k: v for k, v in _event().items() if k != "application"}, "missing required field 'application'"),
    ({k: v for k, v in _event().items() if k != "args"}, "missing required field 'args'"),
    (_event(caller="x"), "undocumented field 'caller'"),
    (_event(args="a,b"), "expected a list"),
    (_event(args=[1]), "is not a string"),
    (_event(timestamp="yesterday"), "is not a Date"),
    (_event(type="StasisBegin"), "Undeclared event type"),
    (_event(type="Channel"), "Undeclared event type"),
    (_event(channel=_channel(state="Talking")), "not in"),
    (_event(channel=_channel(dialplan={"context": "x"})), "missing required field 'exten'"),
    (_event(channel=_channel(dialplan={"context": "x", "exten": "s", "priority": "1", "app_name": "",
                                       "app_data": ""})), "is not a long"),
    (_event(channel=_channel(extra=True)), "undocumented field 'extra'"),
])
def test_contract_refuses_bad_events(event: dict, fragment: str) -> None:
    with pytest.raises(ContractError) as caught:
        check_event(event)
    assert fragment in caught.value.message


# ---- the double, as a client sees it ----------------------------------------------------------------


class Events:
    """Reads the events socket; `next(type, where)` skips events of other types, keeps order."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.received: list[dict] = []

    async def next(self, kind: str | None = None, where=None, timeout: float = 3.0) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                event = json.loads(await self.ws.recv())
                check_event(event)
                self.received.append(event)
                if (kind is None or event["type"] == kind) and (where is None or where(event)):
                    return event

    async def take(self, count: int, timeout: float = 3.0) -> list[dict]:
        return [await self.next(timeout=timeout) for _ in range(count)]


def _client(ari: AriDouble) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=ari.url + "/ari", auth=(USER, PASSWORD), timeout=5)


def _of(events: list[dict], channel_id: str) -> list[str]:
    return [e["type"] for e in events if e.get("channel", {}).get("id") == channel_id
            or e.get("peer", {}).get("id") == channel_id]


async def test_call_flow_answer_originate_bridge_record_hangup() -> None:
    async with AriDouble(app="hotline", user=USER, password=PASSWORD) as ari, _client(ari) as http:
        ari.add_endpoint("PJSIP", "101")
        async with connect(ari.ws_url) as ws:
            events = Events(ws)
            await ari.wait_for(ari.is_connected)
            caller = ari.incoming_call(caller="0912345678", dialed="1022")
            start = await events.next("StasisStart")
            assert start["args"] == [] and start["application"] == "hotline"
            assert start["channel"]["id"] == caller and start["channel"]["state"] == "Ring"
            assert start["channel"]["caller"]["number"] == "0912345678"
            assert start["channel"]["dialplan"]["exten"] == "1022"
            assert start["channel"]["name"].startswith("PJSIP/trunk-")

            assert (await http.post(f"/channels/{caller}/answer")).status_code == 204
            up = await events.next("ChannelStateChange")
            assert up["channel"]["state"] == "Up"

            reply = await http.post("/channels", params={"endpoint": "PJSIP/101", "app": "hotline",
                                                         "appArgs": f"agent,{caller}", "callerId": "1022 <1022>",
                                                         "timeout": 30})
            assert reply.status_code == 200, reply.text
            agent = reply.json()["id"]
            assert reply.json()["state"] == "Down" and reply.json()["caller"]["number"] == "1022"
            ringing = await events.next("ChannelStateChange", lambda e: e["channel"]["id"] == agent)
            assert ringing["channel"]["state"] == "Ringing"
            endpoint = (await http.get("/endpoints/PJSIP/101")).json()
            assert endpoint["channel_ids"] == [agent]

            assert ari.answer_originated("PJSIP/101") == agent
            agent_start = await events.next("StasisStart")
            assert agent_start["channel"]["id"] == agent and agent_start["args"] == ["agent", caller]
            assert agent_start["channel"]["state"] == "Up"

            bridge = (await http.post("/bridges", params={"type": "mixing", "name": "call"})).json()
            reply = await http.post(f"/bridges/{bridge['id']}/addChannel", params={"channel": f"{caller},{agent}"})
            assert reply.status_code == 204
            entered = [await events.next("ChannelEnteredBridge") for _ in range(2)]
            assert [e["channel"]["id"] for e in entered] == [caller, agent]
            assert entered[1]["bridge"]["channels"] == [caller, agent]

            reply = await http.post(f"/bridges/{bridge['id']}/record",
                                    params={"name": "call-1", "format": "wav", "ifExists": "fail", "beep": "false",
                                            "terminateOn": "none", "maxDurationSeconds": 3600})
            assert reply.status_code == 201 and reply.headers["location"] == "/recordings/live/call-1"
            assert reply.json() == {"name": "call-1", "format": "wav", "state": "queued",
                                    "target_uri": f"bridge:{bridge['id']}"}
            assert (await events.next("RecordingStarted"))["recording"]["state"] == "recording"

            ari.hang_up(caller)  # the citizen hangs up: no cause in the request, and (a dialplan channel)
            request = await events.next("ChannelHangupRequest", lambda e: e["channel"]["id"] == caller)
            assert "cause" not in request  # no ChannelDestroyed after its StasisEnd (Asterisk 22.10.1)
            await events.next("StasisEnd", lambda e: e["channel"]["id"] == caller)

            assert (await http.delete(f"/channels/{agent}")).status_code == 204
            finished = await events.next("RecordingFinished")
            assert finished["recording"]["state"] == "done" and finished["recording"]["name"] == "call-1"
            await events.next("ChannelDestroyed", lambda e: e["channel"]["id"] == agent)
            assert (await http.delete(f"/bridges/{bridge['id']}")).status_code == 204

            assert _of(events.received, caller) == [  # a dialplan channel: nothing after StasisEnd
                "StasisStart", "ChannelStateChange", "ChannelEnteredBridge",
                "ChannelHangupRequest", "ChannelLeftBridge", "StasisEnd"]
            assert _of(events.received, agent) == [
                "Dial", "ChannelStateChange", "Dial", "ChannelStateChange", "Dial", "StasisStart",
                "ChannelEnteredBridge", "ChannelHangupRequest", "ChannelLeftBridge", "StasisEnd", "ChannelDestroyed"]
            hangups = [e for e in events.received if e["type"] == "ChannelHangupRequest"]
            assert "cause" not in hangups[0] and "soft" not in hangups[0]  # the far end of a dialplan channel
            assert hangups[1]["cause"] == 32 and hangups[1]["soft"] is True  # DELETE: AST_SOFTHANGUP_EXPLICIT
            types = [e["type"] for e in events.received]
            assert "BridgeCreated" not in types and "BridgeDestroyed" not in types
            assert types[types.index("RecordingStarted"):] == [
                "RecordingStarted",
                "ChannelHangupRequest", "ChannelLeftBridge", "StasisEnd",  # the caller (no ChannelDestroyed for it)
                # the agent: the recorder is alone in the bridge and leaves (LONELY), so the recording ends
                "ChannelHangupRequest", "ChannelLeftBridge", "RecordingFinished", "StasisEnd", "ChannelDestroyed"]

            stored = (await http.get("/recordings/stored")).json()
            assert stored == [{"name": "call-1", "format": "wav"}]
            whole = await http.get("/recordings/stored/call-1/file")
            ranged = await http.get("/recordings/stored/call-1/file", headers={"Range": "bytes=0-99"})
            assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
            # Asterisk ignores Range (resource_recordings.c streams the whole file with 200)
            assert ranged.status_code == 200 and ranged.content == whole.content
            with wave.open(io.BytesIO(whole.content)) as audio:
                assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
                assert audio.getnframes() > 0
            assert (await http.delete("/recordings/stored/call-1")).status_code == 204
            assert (await http.get("/recordings/stored/call-1/file")).status_code == 404

            assert (await http.get("/channels")).json() == []
            await ari.wait_for(lambda: len(ari.events) == len(events.received) or
                               ari.events[: len(events.received)] == events.received)
            assert ari.events[: len(events.received)] == events.received
            assert ari.violations == []


async def test_originate_not_answered_times_out_with_cause_19_and_rejections() -> None:
    async with AriDouble(user=USER, password=PASSWORD, timer_scale=0.01) as ari, _client(ari) as http:
        ari.add_endpoint("PJSIP", "101")
        ari.add_endpoint("PJSIP", "102")
        ari.add_endpoint("PJSIP", "103", state="offline")
        async with connect(ari.ws_url) as ws:
            events = Events(ws)
            await ari.wait_for(ari.is_connected)
            reply = await http.post("/channels", params={"endpoint": "PJSIP/101", "app": "hotline", "timeout": 1})
            agent = reply.json()["id"]
            destroyed = await events.next("ChannelDestroyed")
            assert destroyed["channel"]["id"] == agent
            assert (destroyed["cause"], destroyed["cause_txt"]) == (19, "User alerting, no answer")
            assert _of(events.received, agent) == ["Dial", "ChannelStateChange", "Dial", "ChannelDestroyed"]
            assert "StasisStart" not in [e["type"] for e in events.received]

            busy = (await http.post("/channels/busy-1", params={"endpoint": "PJSIP/102", "app": "hotline"})).json()
            assert busy["id"] == "busy-1"
            ari.reject_originated("busy-1", cause=17)
            gone = await events.next("ChannelDestroyed")
            assert gone["cause"] == 17 and gone["cause_txt"] == "User busy"
            dials = [e["dialstatus"] for e in events.received if e["type"] == "Dial" and e["peer"]["id"] == "busy-1"]
            assert dials == ["", "RINGING", "BUSY"]

            await http.post("/channels", params={"endpoint": "PJSIP/102", "app": "hotline", "channelId": "rej"})
            ari.reject_originated("PJSIP/102", cause=21)
            gone = await events.next("ChannelDestroyed")
            assert (gone["channel"]["id"], gone["cause"], gone["cause_txt"]) == ("rej", 21, "Call Rejected")

            offline = await http.post("/channels", params={"endpoint": "PJSIP/103", "app": "hotline"})
            assert (offline.status_code, offline.json()) == (500, {"error": "Allocation failed"})
            dup = await http.post("/channels", params={"endpoint": "PJSIP/101", "app": "hotline", "channelId": "x"})
            again = await http.post("/channels", params={"endpoint": "PJSIP/101", "app": "hotline", "channelId": "x"})
            assert dup.status_code == 200 and again.status_code == 409
            # an unanswered originated channel is not in Stasis yet
            assert (await http.post("/channels/x/answer")).status_code == 409
            assert (await http.delete("/channels/x", params={"reason": "normal"})).status_code == 204
            assert ari.violations == []


async def test_undeclared_requests_are_refused_and_recorded() -> None:
    async with AriDouble(user=USER, password=PASSWORD) as ari, _client(ari) as http:
        missing = await http.post("/channels/1/transfer")
        assert (missing.status_code, missing.json()) == (404, {"message": "Resource not found"})
        wrong = await http.put("/channels")
        assert (wrong.status_code, wrong.json()) == (405, {"message": "Invalid method"})
        typo = await http.post("/bridges", params={"kind": "mixing"})
        assert typo.status_code == 400
        assert [v.kind for v in ari.violations] == ["request", "request", "request"]
        assert "kind" in ari.violations[2].detail

        ari.violations.clear()
        async with httpx.AsyncClient(base_url=ari.url) as anonymous:
            unauthorized = await anonymous.get("/ari/channels")
            by_key = await anonymous.get("/ari/asterisk/info", params={"api_key": f"{USER}:{PASSWORD}"})
        assert (unauthorized.status_code, unauthorized.json()) == (401, {"message": "Authentication required"})
        assert by_key.json()["system"]["version"].startswith("22.")
        assert (await http.get("/asterisk/ping")).json()["ping"] == "pong"
        assert (await http.get("/channels/nope")).json() == {"message": "Channel not found"}
        assert (await http.get("/applications/hotline")).status_code == 404  # never connected yet

        ari.fail_next("POST", r"/bridges", 500, "Internal Error")
        failed = await http.post("/bridges")
        assert (failed.status_code, failed.json()) == (500, {"message": "Internal Error"})
        assert (await http.post("/bridges")).status_code == 200
        request = await ari.wait_for_request("POST", r"/bridges/?")
        assert request.status == 400 and request.query == {"kind": ["mixing"]}
        assert [r.status for r in ari.requests[-2:]] == [500, 200]
        assert ari.violations == []


async def test_socket_drop_loses_events_and_reconnect_resumes() -> None:
    async with AriDouble(user=USER, password=PASSWORD) as ari, _client(ari) as http:
        async with connect(ari.ws_url) as ws:
            await ari.wait_for(ari.is_connected)
            events = Events(ws)
            caller = ari.incoming_call()
            await events.next("StasisStart")
            ari.drop_websocket()
            with pytest.raises(ConnectionClosed):
                await events.next(timeout=3)
        await ari.wait_for(lambda: not ari.is_connected())
        ari.caller_presses(caller, "5")  # lost: the app is inactive
        lost = ari.incoming_call(caller="0987654321")
        assert ari.lost_calls == [lost]
        assert [e["type"] for e in ari.lost_events] == ["ChannelDtmfReceived"]
        assert [c["id"] for c in (await http.get("/channels")).json()] == [caller]

        async with connect(ari.ws_url) as ws:
            await ari.wait_for(ari.is_connected)
            events = Events(ws)
            app = (await http.get("/applications/hotline")).json()
            assert app["channel_ids"] == [caller]
            ari.caller_presses(caller, "1#")
            digits = [(await events.next("ChannelDtmfReceived"))["digit"] for _ in range(2)]
            assert digits == ["1", "#"]

            async with connect(ari.ws_url) as second:  # a second connection replaces the first
                replaced = await events.next("ApplicationReplaced")
                check_event(replaced)
                await ari.wait_for(lambda: ari._active_conn() is not None and ari._active_conn().websocket
                                   is not None and len(ari._conns) == 2)
                newer = Events(second)
                ari.hang_up(caller)
                assert [(await newer.next())["type"] for _ in range(2)] == ["ChannelHangupRequest", "StasisEnd"]
        assert ari.violations == []


async def test_playback_dtmf_moh_subscription_and_endpoint_state() -> None:
    async with AriDouble(user=USER, password=PASSWORD, playback_seconds=0.01) as ari, _client(ari) as http:
        ari.add_endpoint("PJSIP", "101")
        async with connect(ari.ws_url + "&subscribeAll=false") as ws:
            events = Events(ws)
            await ari.wait_for(ari.is_connected)
            caller = ari.incoming_call()
            await events.next("StasisStart")
            assert (await http.post(f"/channels/{caller}/ring")).status_code == 204
            assert (await http.post(f"/channels/{caller}/moh", params={"mohClass": "default"})).status_code == 204
            assert (await http.delete(f"/channels/{caller}/moh")).status_code == 204
            assert (await http.post(f"/channels/{caller}/answer")).status_code == 204
            await events.next("ChannelStateChange")

            reply = await http.post(f"/channels/{caller}/play/welcome",
                                    params={"media": "sound:hello-world,tone:ring;tonezone=vn", "lang": "vi"})
            assert reply.status_code == 201 and reply.headers["location"] == "/playbacks/welcome"
            assert reply.json()["state"] == "queued" and reply.json()["next_media_uri"] == "tone:ring;tonezone=vn"
            second = (await http.post(f"/channels/{caller}/play", params={"media": "sound:vm-goodbye"})).json()
            sequence = [(e["type"], e["playback"]["id"], e["playback"]["media_uri"]) for e in await events.take(2)]
            assert sequence == [
                ("PlaybackStarted", "welcome", "sound:hello-world"),
                ("PlaybackContinuing", "welcome", "tone:ring;tonezone=vn"),
            ]
            # a tone repeats until stopped (as on Asterisk 22.10.1); then the queued playback plays
            assert (await http.delete("/playbacks/welcome")).status_code == 204
            sequence = [(e["type"], e["playback"]["id"], e["playback"]["media_uri"]) for e in await events.take(3)]
            assert sequence == [
                ("PlaybackFinished", "welcome", "tone:ring;tonezone=vn"),
                ("PlaybackStarted", second["id"], "sound:vm-goodbye"),
                ("PlaybackFinished", second["id"], "sound:vm-goodbye"),
            ]
            ari.playback_seconds = 60
            long = (await http.post(f"/channels/{caller}/play", params={"media": "sound:queue-periodic"})).json()
            await events.next("PlaybackStarted")
            assert (await http.delete(f"/playbacks/{long['id']}")).status_code == 204
            assert (await events.next("PlaybackFinished"))["playback"]["state"] == "done"
            assert (await http.delete(f"/playbacks/{long['id']}")).status_code == 404

            reply = await http.post(f"/channels/{caller}/record",
                                    params={"name": "voicemail", "format": "wav", "terminateOn": "#"})
            assert reply.status_code == 201
            await events.next("RecordingStarted")
            ari.caller_presses(caller, "#")
            assert (await events.next("ChannelDtmfReceived"))["digit"] == "#"
            assert (await events.next("RecordingFinished"))["recording"]["target_uri"] == f"channel:{caller}"
            clash = await http.post(f"/channels/{caller}/record", params={"name": "voicemail", "format": "wav"})
            assert clash.status_code == 409
            assert (await http.post(f"/channels/{caller}/dtmf", params={"dtmf": "123"})).status_code == 204
            assert ari.sent_dtmf == [(caller, "123")]

            subscribed = await http.post("/applications/hotline/subscription",
                                         params={"eventSource": "endpoint:PJSIP/101"})
            assert subscribed.json()["endpoint_ids"] == ["PJSIP/101"]
            bad = await http.post("/applications/hotline/subscription", params={"eventSource": "queue:x"})
            assert bad.status_code == 400
            ari.set_endpoint_state("PJSIP", "101", "offline")
            change = await events.next("EndpointStateChange")
            assert change["endpoint"] == {"technology": "PJSIP", "resource": "101", "state": "offline",
                                          "channel_ids": []}

            assert (await http.post(f"/channels/{caller}/continue")).status_code == 204
            await events.next("StasisEnd")
            assert (await http.post(f"/channels/{caller}/answer")).status_code == 409
        assert ari.violations == []


def test_sync_usage_and_restart_on_the_same_port() -> None:
    with AriDouble(user=USER, password=PASSWORD) as ari:
        ari.add_endpoint("PJSIP", "101")
        port = ari.port
        with httpx.Client(base_url=ari.url + "/ari", auth=(USER, PASSWORD)) as http:
            assert http.get("/endpoints").json()[0]["resource"] == "101"
            assert http.post("/bridges/b1").status_code == 200
            ari.restart()
            assert ari.port == port
            assert http.get("/bridges").json() == []  # a restarted Asterisk has no bridges
            assert http.get("/endpoints/PJSIP/101").status_code == 200
        assert ari.wait_for_request_sync("GET", r"/bridges").status == 200
    assert ari.violations == []


async def test_websocket_refuses_bad_credentials() -> None:
    async with AriDouble(user=USER, password=PASSWORD) as ari:
        with pytest.raises(InvalidStatus):
            async with connect(ari.ws_url.replace(PASSWORD, "wrong")):
                pass
        assert not ari.is_connected()
