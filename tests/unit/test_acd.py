"""The ACD engine of the call center (telephony/acd.py, issue 7): pure, time passed in."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import pytest

from telephony.acd import (
    TERMINAL_EVENTS,
    Acd,
    Action,
    AgentState,
    Announce,
    Connect,
    EventType,
    HangupAgentLeg,
    Leave,
    Overflow,
    QueueConfig,
    QueueEvent,
    Ring,
    StopRinging,
    Strategy,
)

E = EventType


def events(actions: Sequence[Action], kind: EventType | None = None) -> list[QueueEvent]:
    return [a for a in actions if isinstance(a, QueueEvent) and (kind is None or a.event is kind)]


def rung(actions: Sequence[Action]) -> list[str]:
    return [a.agent_id for a in actions if isinstance(a, Ring)]


def stopped(actions: Sequence[Action]) -> list[str]:
    return [a.agent_id for a in actions if isinstance(a, StopRinging)]


def desk(strategy: Strategy | str = Strategy.LINEAR, members: Sequence[tuple[str, int]] | None = None,
         login: Sequence[str] | None = None, rng: random.Random | None = None, **options: object) -> Acd:
    """One queue '1022' whose agents log in at time 0 with extension 10x."""
    members = members if members is not None else [("a1", 0), ("a2", 0), ("a3", 0)]
    settings: dict[str, object] = {"ring_timeout_s": 15, "retry_s": 5, **options}
    acd = Acd([QueueConfig("1022", strategy, members, **settings)], rng=rng)  # type: ignore[arg-type]
    for agent_id in login if login is not None else [m for m, _ in members]:
        acd.login(0, agent_id, f"ext-{agent_id}")
    return acd


def serve(acd: Acd, now: float, call_id: str, agent_id: str, talk_s: float = 60) -> float:
    """The call is answered by agent_id at now and ends (by the agent) talk_s later."""
    acd.agent_answered(now, call_id, agent_id)
    acd.call_ended(now + talk_s, call_id, by="agent")
    return now + talk_s


# --------------------------------------------------------------------------- strategies


def test_ringall_rings_every_ready_agent_of_the_tier() -> None:
    # given three ready agents on a ringall queue
    acd = desk(Strategy.RINGALL)
    # when a call arrives
    actions = acd.enqueue(10, "c1", "1022", "0909000001")
    # then it enters at position 1 and all three ring with the ring timeout
    assert events(actions, E.ENTERQUEUE)[0].data == ("", "0909000001", 1)
    assert rung(actions) == ["a1", "a2", "a3"]
    assert all(a.timeout_s == 15 and a.extension.startswith("ext-") for a in actions if isinstance(a, Ring))
    assert {acd.agent_state(a) for a in ("a1", "a2", "a3")} == {AgentState.RINGING}


def test_linear_always_starts_from_the_first_member() -> None:
    # given a linear queue where a1 served a call
    acd = desk(Strategy.LINEAR)
    assert rung(acd.enqueue(0, "c1", "1022", "x")) == ["a1"]
    serve(acd, 1, "c1", "a1")
    # when the next call arrives
    # then a1 rings again (member order, no memory)
    assert rung(acd.enqueue(100, "c2", "1022", "x")) == ["a1"]


def test_rrmemory_continues_after_the_last_agent_tried() -> None:
    # given a round robin queue with memory
    acd = desk(Strategy.RRMEMORY)
    # when calls arrive one after another and are served
    order = []
    for n in range(4):
        actions = acd.enqueue(100 * n, f"c{n}", "1022", "x")
        order += rung(actions)
        serve(acd, 100 * n + 1, f"c{n}", rung(actions)[0], talk_s=10)
    # then each call starts after the agent tried before, wrapping around
    assert order == ["a1", "a2", "a3", "a1"]


def test_rrmemory_skips_busy_agents_and_remembers_the_one_rung() -> None:
    # given a2 is on another phone call
    acd = desk(Strategy.RRMEMORY)
    acd.set_device_busy(0, "a2", True)
    serve(acd, 1, "c0", rung(acd.enqueue(1, "c0", "1022", "x"))[0], talk_s=5)  # a1
    # when the next call arrives, then a3 (a2 is busy); the one after goes back to a1
    assert rung(acd.enqueue(10, "c1", "1022", "x")) == ["a3"]
    serve(acd, 11, "c1", "a3", talk_s=5)
    acd.set_device_busy(20, "a2", False)
    assert rung(acd.enqueue(30, "c2", "1022", "x")) == ["a1"]


def test_leastrecent_rings_the_agent_whose_last_call_ended_longest_ago() -> None:
    # given a1 ended a call at 100, a3 at 50 and a2 never took one
    acd = desk(Strategy.LEASTRECENT, login=["a1", "a3"])
    acd.enqueue(0, "c1", "1022", "x")
    serve(acd, 1, "c1", "a1", talk_s=99)  # ends at 100
    acd.enqueue(20, "c2", "1022", "x")
    serve(acd, 21, "c2", "a3", talk_s=29)  # ends at 50
    acd.login(110, "a2", "ext-a2")
    # when a call arrives, then the agent who never took a call rings first
    assert rung(acd.enqueue(120, "c3", "1022", "x")) == ["a2"]
    # then, among those with calls, the one whose call ended earliest (a3 at 50, before a1 at 100)
    assert rung(acd.agent_rejected(121, "c3", "a2")) == ["a3"]
    acd.caller_left(122, "c3")
    acd.pause(123, "a2", "meeting")
    assert rung(acd.enqueue(130, "c4", "1022", "x")) == ["a3"]


def test_fewestcalls_rings_the_agent_with_fewest_completed_calls() -> None:
    # given a1 and a2 logged in on a fewestcalls queue
    acd = desk(Strategy.FEWESTCALLS, login=["a1", "a2"])
    # when calls come one at a time, then ties go in member order, else fewest calls first
    taken = []
    for n in range(3):
        [agent_id] = rung(acd.enqueue(100 * n, f"c{n}", "1022", "x"))
        taken.append(agent_id)
        serve(acd, 100 * n + 1, f"c{n}", agent_id, talk_s=10)
    assert taken == ["a1", "a2", "a1"]  # a1 has 2 calls, a2 has 1
    # when a3 (no calls) logs in, then it rings first; when its phone is busy, a2 (1) before a1 (2)
    acd.login(400, "a3", "ext-a3")
    assert rung(acd.enqueue(500, "c9", "1022", "x")) == ["a3"]
    assert rung(acd.set_device_busy(501, "a3", True)) == ["a2"]


def test_random_uses_the_injected_generator() -> None:
    # given two engines with the same seed
    picks = []
    for _ in range(2):
        acd = desk(Strategy.RANDOM, rng=random.Random(7))
        chosen = []
        for n in range(12):
            agent_id = rung(acd.enqueue(n * 100, f"c{n}", "1022", "x"))[0]
            chosen.append(agent_id)
            serve(acd, n * 100 + 1, f"c{n}", agent_id, talk_s=10)
        picks.append(chosen)
    # then they choose the same sequence, and every agent gets some calls
    assert picks[0] == picks[1]
    assert set(picks[0]) == {"a1", "a2", "a3"}


def test_strategy_names_are_validated() -> None:
    assert QueueConfig("q", "rrmemory").strategy is Strategy.RRMEMORY  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        QueueConfig("q", "roundrobin")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        QueueConfig("q", members=[("a", 0), ("a", 1)])


# ------------------------------------------------------------------------------- penalty


def test_higher_penalty_rings_only_when_no_lower_penalty_agent_is_available() -> None:
    # given a1, a2 at penalty 0 and a3 at penalty 1 on a ringall queue
    acd = desk(Strategy.RINGALL, members=[("a1", 0), ("a2", 0), ("a3", 1)])
    # when a call arrives, then only the penalty-0 tier rings
    assert rung(acd.enqueue(0, "c1", "1022", "x")) == ["a1", "a2"]
    # when both penalty-0 agents reject, then the penalty-1 agent rings in the same round
    acd.agent_rejected(1, "c1", "a1")
    assert rung(acd.agent_rejected(2, "c1", "a2")) == ["a3"]
    acd.agent_answered(3, "c1", "a3")
    # when a1 is paused and a2 on the phone, a new call goes to penalty 1... which is busy: it waits
    acd.pause(4, "a1", "lunch")
    acd.set_device_busy(4, "a2", True)
    assert rung(acd.enqueue(5, "c2", "1022", "x")) == []
    # when a2 is free again, it rings (lower tier available again)
    assert rung(acd.set_device_busy(6, "a2", False)) == ["a2"]


# -------------------------------------------------------------------- ring, retry, connect


def test_ring_timeout_gives_ringnoanswer_and_the_next_agent() -> None:
    # given a linear queue ringing a1 from t=0
    acd = desk(Strategy.LINEAR)
    acd.enqueue(0, "c1", "1022", "x")
    assert acd.next_deadline() == 15
    # when tick finds nothing due before the timeout
    assert acd.tick(14.9) == []
    # when the ring timeout passes
    actions = acd.tick(15)
    # then a1 stops ringing with RINGNOANSWER(15000 ms) and a2 rings at once
    assert stopped(actions) == ["a1"]
    [rna] = events(actions, E.RINGNOANSWER)
    assert (rna.agent, rna.data, rna.call_id) == ("a1", (15000,), "c1")
    assert rung(actions) == ["a2"]
    assert acd.agent_state("a1") is AgentState.READY


def test_all_reject_then_retry_after_retry_s() -> None:
    # given two agents who both reject the call
    acd = desk(Strategy.LINEAR, members=[("a1", 0), ("a2", 0)])
    acd.enqueue(0, "c1", "1022", "x")
    acd.agent_rejected(2, "c1", "a1")
    actions = acd.agent_rejected(3, "c1", "a2")
    # then nobody rings until retry_s (5 s) after the round ended
    assert rung(actions) == [] and len(events(actions, E.RINGNOANSWER)) == 1
    assert acd.next_deadline() == 8
    assert rung(acd.tick(7.9)) == []
    # when the retry time comes, a new round starts from the first member
    assert rung(acd.tick(8)) == ["a1"]


def test_an_untried_agent_who_becomes_ready_is_offered_during_the_retry_pause() -> None:
    # given a round exhausted with a1, and a2 logging in during the retry pause
    acd = desk(Strategy.LINEAR, members=[("a1", 0), ("a2", 0)], login=["a1"])
    acd.enqueue(0, "c1", "1022", "x")
    acd.agent_rejected(1, "c1", "a1")
    # when a2 logs in, then a2 rings at once
    assert rung(acd.login(2, "a2", "ext-a2")) == ["a2"]


def test_ringall_first_answer_wins_and_the_others_stop_ringing() -> None:
    # given a ringall queue ringing a1, a2, a3 since t=10
    acd = desk(Strategy.RINGALL)
    acd.enqueue(4, "c1", "1022", "x")
    acd.tick(4)
    # when a2 answers at 12
    actions = acd.agent_answered(12, "c1", "a2", agent_channel="1700000000.42")
    # then a1 and a3 stop ringing, caller and a2 are bridged, CONNECT(holdtime, channel, ringtime)
    assert sorted(stopped(actions)) == ["a1", "a3"]
    assert Connect("c1", "a2", "1022") in actions
    [connect] = events(actions, E.CONNECT)
    assert (connect.agent, connect.data) == ("a2", (8, "1700000000.42", 8))
    assert events(actions, E.RINGNOANSWER) == []
    # when a1 answers a moment later (race), then its leg is hung up
    assert acd.agent_answered(12.2, "c1", "a1") == [HangupAgentLeg("c1", "a1")]
    assert acd.agent_state("a2") is AgentState.BUSY and acd.agent_state("a1") is AgentState.READY


def test_call_end_events_and_wrapup() -> None:
    # given a call connected at 20 after entering at 5, at original position 1
    acd = desk(Strategy.LINEAR, members=[("a1", 0)], wrapup_s=30)
    acd.enqueue(5, "c1", "1022", "x")
    acd.agent_answered(20, "c1", "a1")
    # when the caller hangs up at 80
    actions = acd.call_ended(80, "c1", by="caller")
    # then COMPLETECALLER(holdtime 15, calltime 60, origposition 1) and a1 is in wrap-up
    [done] = events(actions)
    assert (done.event, done.data, done.agent) == (E.COMPLETECALLER, (15, 60, 1), "a1")
    assert acd.agent_state("a1") is AgentState.WRAPUP
    # and an agent hang-up gives COMPLETEAGENT, a transfer TRANSFER(extension, context, ...)
    acd2 = desk(Strategy.LINEAR, members=[("a1", 0), ("a2", 0)])
    acd2.enqueue(0, "c1", "1022", "x")
    acd2.agent_answered(3, "c1", "a1")
    assert events(acd2.call_ended(10, "c1", by="agent"))[0].event is E.COMPLETEAGENT
    acd2.enqueue(20, "c2", "1022", "x")
    acd2.agent_answered(22, "c2", "a1")
    [transfer] = events(acd2.transferred(50, "c2", "2001", "sogiaothong"))
    assert (transfer.event, transfer.data) == (E.TRANSFER, ("2001", "sogiaothong", 2, 28, 1))
    assert acd2.agents()[0].calls_taken == 2


def test_wrapup_delays_the_next_offer() -> None:
    # given the only agent finished a call at 100 with wrapup_s 30, and a call waiting
    acd = desk(Strategy.LINEAR, members=[("a1", 0)], wrapup_s=30)
    acd.enqueue(0, "c1", "1022", "x")
    serve(acd, 1, "c1", "a1", talk_s=99)
    assert rung(acd.enqueue(105, "c2", "1022", "x")) == []
    assert acd.next_deadline() == 130
    # when wrap-up ends, then the agent is ready and the waiting call rings
    assert rung(acd.tick(129)) == []
    assert rung(acd.tick(130)) == ["a1"]


# ---------------------------------------------------------------------- leaving the queue


def test_abandon_reports_positions_and_waittime() -> None:
    # given three callers waiting with no agent ready
    acd = desk(Strategy.LINEAR, members=[("a1", 0)], login=[])
    for n in range(3):
        acd.enqueue(10 * n, f"c{n}", "1022", "x")
    # when the second hangs up at 50
    [abandon] = events(acd.caller_left(50, "c1"))
    # then ABANDON(position 2, origposition 2, waittime 40)
    assert (abandon.event, abandon.data) == (E.ABANDON, (2, 2, 40))
    # when the third hangs up, then it was at position 2 having entered at 3
    assert events(acd.caller_left(60, "c2"))[0].data == (2, 3, 40)
    assert [w.position for w in acd.waiting(60)] == [1]
    assert acd.queue_stats("1022").abandoned == 2


def test_abandon_while_ringing_stops_the_ring() -> None:
    acd = desk(Strategy.LINEAR)
    acd.enqueue(0, "c1", "1022", "x")
    actions = acd.caller_left(4, "c1")
    assert stopped(actions) == ["a1"]
    assert [e.event for e in events(actions)] == [E.RINGCANCELED, E.ABANDON]
    assert acd.agent_state("a1") is AgentState.READY


def test_answer_after_abandon_hangs_up_the_agent_leg() -> None:
    # given a call ringing a1 whose caller hangs up
    acd = desk(Strategy.LINEAR)
    acd.enqueue(0, "c1", "1022", "x")
    acd.caller_left(5, "c1")
    # when a1's answer arrives after that
    actions = acd.agent_answered(5.1, "c1", "a1")
    # then the agent leg is hung up and there is no CONNECT
    assert actions == [HangupAgentLeg("c1", "a1")]
    assert acd.agent_rejected(5.2, "c1", "a1") == []
    assert acd.agent_state("a1") is AgentState.READY


def test_key_press_exits_with_key() -> None:
    acd = desk(Strategy.LINEAR, login=[])
    acd.enqueue(0, "c1", "1022", "x")
    [event] = events(acd.caller_key(12, "c1", "9"))
    assert (event.event, event.data) == (E.EXITWITHKEY, ("9", 1, 1, 12))


def test_max_wait_sends_the_call_to_overflow() -> None:
    # given max wait 60 s with overflow to the voicemail destination, nobody answering
    acd = desk(Strategy.RINGALL, members=[("a1", 0)], max_wait_s=60, overflow="voicemail-1022", ring_timeout_s=100)
    acd.enqueue(0, "c1", "1022", "x")
    assert acd.next_deadline() == 60
    # when tick runs at 60
    actions = acd.tick(60)
    # then ringing stops, EXITWITHTIMEOUT(position, origposition, waittime), Overflow
    assert stopped(actions) == ["a1"]
    assert events(actions, E.EXITWITHTIMEOUT)[0].data == (1, 1, 60)
    assert actions[-1] == Overflow("c1", "1022", "voicemail-1022")
    assert acd.waiting(61) == [] and acd.next_deadline() is None


def test_max_wait_without_overflow_leaves_with_timeout() -> None:
    acd = desk(Strategy.LINEAR, login=[], max_wait_s=30)
    acd.enqueue(0, "c1", "1022", "x")
    actions = acd.tick(30)
    assert [e.event for e in events(actions)] == [E.EXITWITHTIMEOUT]
    assert actions[-1] == Leave("c1", "1022", "timeout")


def test_join_empty_false_refuses_a_call_when_no_agent_can_answer() -> None:
    # given nobody logged in
    acd = desk(Strategy.LINEAR, login=[], join_empty=False)
    # when a call arrives, then EXITEMPTY and Leave(empty), no ENTERQUEUE
    actions = acd.enqueue(0, "c1", "1022", "x")
    assert [e.event for e in events(actions)] == [E.EXITEMPTY]
    assert actions[-1] == Leave("c1", "1022", "empty")
    # and with every agent paused it is refused too
    acd.login(1, "a1", "ext-a1")
    acd.pause(1, "a1", "training")
    assert events(acd.enqueue(2, "c2", "1022", "x"))[0].event is E.EXITEMPTY
    # but a busy agent still counts as staff
    acd.unpause(3, "a1")
    acd.set_device_busy(3, "a1", True)
    assert events(acd.enqueue(4, "c3", "1022", "x"))[0].event is E.ENTERQUEUE


def test_join_empty_true_waits_for_an_agent() -> None:
    acd = desk(Strategy.LINEAR, login=[])
    assert events(acd.enqueue(0, "c1", "1022", "x"))[0].event is E.ENTERQUEUE
    assert rung(acd.login(30, "a2", "ext-a2")) == ["a2"]


def test_leave_when_empty_sends_the_waiting_callers_away() -> None:
    # given two waiting callers and the last available agent on another call
    acd = desk(Strategy.LINEAR, members=[("a1", 0)], leave_when_empty=True)
    acd.set_device_busy(0, "a1", True)
    acd.enqueue(1, "c1", "1022", "x")
    acd.enqueue(2, "c2", "1022", "x")
    # when that agent logs out
    actions = acd.logout(10, "a1")
    # then both callers exit with EXITEMPTY and are told to leave
    assert [(e.call_id, e.data) for e in events(actions, E.EXITEMPTY)] == [("c1", (1, 1, 9)), ("c2", (1, 2, 8))]
    assert [a for a in actions if isinstance(a, Leave)] == [Leave("c1", "1022", "empty"), Leave("c2", "1022", "empty")]


# ---------------------------------------------------------------------------- agent states


def test_login_pause_unpause_logout_events_per_queue() -> None:
    # given an agent in two queues
    acd = Acd([QueueConfig("1022", members=[("a1", 0)]), QueueConfig("dichvucong", members=[("a1", 1)])])
    # when they log in, pause for lunch, come back and log out
    login = acd.login(0, "a1", "PJSIP/101")
    pause = acd.pause(3600, "a1", "lunch")
    assert acd.agent_state("a1") is AgentState.PAUSED
    assert acd.agents()[0].pause_reason == "lunch" and acd.agents()[0].since == 3600
    unpause = acd.unpause(5400, "a1")
    logoff = acd.logout(28800, "a1")
    # then one queue_log line per queue for each, with the documented data
    assert [(e.queue, e.event, e.data, e.call_id) for e in events(login)] == [
        ("1022", E.AGENTLOGIN, ("PJSIP/101",), None),
        ("dichvucong", E.AGENTLOGIN, ("PJSIP/101",), None),
    ]
    assert [(e.queue, e.data) for e in events(pause, E.PAUSE)] == [("1022", ("lunch",)), ("dichvucong", ("lunch",))]
    assert [e.data for e in events(unpause, E.UNPAUSE)] == [("lunch",), ("lunch",)]
    assert [e.data for e in events(logoff, E.AGENTLOGOFF)] == [("PJSIP/101", 28800)] * 2
    assert acd.agent_state("a1") is AgentState.LOGGED_OUT
    # and repeated or meaningless changes produce nothing
    assert acd.pause(28801, "a1", "x") == [] and acd.unpause(28801, "a1") == [] and acd.logout(28801, "a1") == []


def test_paused_agent_is_not_offered_and_unpause_offers_the_waiting_call() -> None:
    acd = desk(Strategy.LINEAR, members=[("a1", 0)])
    acd.pause(0, "a1", "toilet")
    assert rung(acd.enqueue(1, "c1", "1022", "x")) == []
    assert rung(acd.unpause(20, "a1")) == ["a1"]


def test_logout_while_ringing_moves_the_call_on() -> None:
    acd = desk(Strategy.LINEAR, members=[("a1", 0), ("a2", 0)])
    acd.enqueue(0, "c1", "1022", "x")
    actions = acd.logout(3, "a1")
    assert stopped(actions) == ["a1"] and rung(actions) == ["a2"]
    assert [e.event for e in events(actions)] == [E.RINGCANCELED, E.AGENTLOGOFF]


def test_device_busy_agents_are_skipped_and_a_busy_signal_ends_the_ring() -> None:
    # given a1's phone is busy with a call outside the queue
    acd = desk(Strategy.LINEAR)
    acd.set_device_busy(0, "a1", True)
    assert acd.agent_state("a1") is AgentState.BUSY
    # when a call arrives, then a2 rings
    assert rung(acd.enqueue(1, "c1", "1022", "x")) == ["a2"]
    # when a2 picks up another line while ringing, then RINGNOANSWER and a3 rings
    actions = acd.set_device_busy(2, "a2", True)
    assert [e.event for e in events(actions)] == [E.RINGNOANSWER] and rung(actions) == ["a3"]


def test_two_calls_and_two_agents_ring_at_once_head_first() -> None:
    # given two ready agents and a rrmemory queue
    acd = desk(Strategy.LINEAR, members=[("a1", 0), ("a2", 0)])
    # when two calls arrive, then the first takes a1 and the second a2, at the same time
    assert rung(acd.enqueue(0, "c1", "1022", "x")) == ["a1"]
    assert rung(acd.enqueue(1, "c2", "1022", "y")) == ["a2"]
    acd.agent_answered(3, "c2", "a2")
    acd.agent_answered(4, "c1", "a1")
    views = {v.agent_id: v for v in acd.agents()}
    assert views["a1"].call_id == "c1" and views["a2"].call_id == "c2"
    # and a ringall head call takes every ready agent; the next waits its turn
    acd2 = desk(Strategy.RINGALL, members=[("a1", 0), ("a2", 0)])
    assert rung(acd2.enqueue(0, "c1", "1022", "x")) == ["a1", "a2"]
    assert rung(acd2.enqueue(1, "c2", "1022", "x")) == []
    assert rung(acd2.agent_answered(2, "c1", "a1")) == ["a2"]


def test_an_agent_in_two_queues_serves_the_longest_waiting_call_first() -> None:
    acd = Acd([QueueConfig("1022", members=[("a1", 0)]), QueueConfig("dichvucong", members=[("a1", 0)])])
    acd.enqueue(0, "c-dvc", "dichvucong", "x")
    acd.enqueue(5, "c-1022", "1022", "x")
    assert rung(acd.login(10, "a1", "ext")) == ["a1"]
    assert [w.call_id for w in acd.waiting(10) if w.ringing] == ["c-dvc"]


# ------------------------------------------------------------------- announcements, clock


def test_position_announcements() -> None:
    # given announcements every 30 s and an average holdtime learnt from a connected call
    acd = desk(Strategy.LINEAR, members=[("a1", 0), ("a2", 0)], announce_position_every_s=30)
    acd.enqueue(0, "c0", "1022", "x")
    acd.agent_answered(40, "c0", "a1")  # holdtime 40
    acd.set_device_busy(40, "a2", True)
    acd.enqueue(50, "c1", "1022", "x")
    acd.enqueue(55, "c2", "1022", "x")
    # when the announcement times come
    assert acd.next_deadline() == 80
    actions = acd.tick(80)
    # then c1 hears position 1 and an estimate of 40 * 1 / 2 staffed agents
    assert actions == [Announce("c1", "1022", 1, 20)]
    assert acd.tick(85) == [Announce("c2", "1022", 2, 40)]
    assert acd.next_deadline() == 110
    # and a call ringing an agent is not interrupted by the announcement
    acd.set_device_busy(100, "a2", False)
    assert [a for a in acd.tick(110) if isinstance(a, Announce)] == []


def test_announcement_estimate_is_none_before_any_connect() -> None:
    acd = desk(Strategy.LINEAR, login=[], announce_position_every_s=20)
    acd.enqueue(0, "c1", "1022", "x")
    assert acd.tick(20) == [Announce("c1", "1022", 1, None)]


def test_next_deadline_is_the_earliest_timer() -> None:
    # given an idle engine, then no deadline
    acd = desk(Strategy.LINEAR, members=[("a1", 0), ("a2", 0)], max_wait_s=100, wrapup_s=10)
    assert acd.next_deadline() is None
    # when a call rings a1 at 3, then the ring timeout is first (18), before max wait (103)
    acd.enqueue(3, "c1", "1022", "x")
    assert acd.next_deadline() == 18
    # when it is connected, nothing is timed
    acd.agent_answered(4, "c1", "a1")
    assert acd.next_deadline() is None
    # when it ends, wrap-up end is the deadline
    acd.call_ended(20, "c1", by="caller")
    assert acd.next_deadline() == 30
    # ticking exactly at each deadline leaves the engine with no past-due work
    acd.enqueue(21, "c2", "1022", "x")
    now = 21.0
    while (deadline := acd.next_deadline()) is not None:
        assert deadline >= now
        now = deadline
        acd.tick(now)
    assert now == 121 and acd.waiting(now) == []


def test_live_monitor_views() -> None:
    acd = desk(Strategy.LINEAR, members=[("a1", 0), ("a2", 0)], service_level_s=20)
    acd.enqueue(0, "c1", "1022", "0909")
    acd.enqueue(5, "c2", "1022", "0912")
    [w1, w2] = acd.waiting(15)
    assert (w1.call_id, w1.position, w1.wait_s, w1.ringing) == ("c1", 1, 15, ("a1",))
    assert (w2.call_id, w2.position, w2.wait_s, w2.caller) == ("c2", 2, 10, "0912")
    acd.agent_answered(16, "c1", "a1")
    acd.agent_answered(30, "c2", "a2")
    acd.call_ended(40, "c1", by="agent")
    view = {v.agent_id: v for v in acd.agents()}
    assert (view["a1"].state, view["a1"].since, view["a1"].calls_taken, view["a1"].last_call_end) == (
        AgentState.READY, 40, 1, 40)
    assert (view["a2"].state, view["a2"].since, view["a2"].call_id) == (AgentState.BUSY, 30, "c2")
    stats = acd.queue_stats("1022")
    assert (stats.answered, stats.answered_within_sl, stats.service_level) == (2, 1, 0.5)


# -------------------------------------------------------------------------------- property


def test_random_event_sequences_keep_the_invariants() -> None:
    """Seeded random arrivals, answers, rejections, hang-ups, transfers, pauses and clock ticks."""
    agents = ["a1", "a2", "a3", "a4"]
    for seed in range(150):
        rng = random.Random(seed)
        queues = [
            QueueConfig("1022", rng.choice(list(Strategy)), [("a1", 0), ("a2", 0), ("a3", 1)],
                        ring_timeout_s=10, retry_s=3, max_wait_s=rng.choice([None, 90]),
                        overflow=rng.choice([None, "voicemail"]), wrapup_s=rng.choice([0, 5]),
                        join_empty=rng.random() < 0.7, leave_when_empty=rng.random() < 0.3,
                        announce_position_every_s=rng.choice([None, 25])),
            QueueConfig("dichvucong", rng.choice(list(Strategy)), [("a3", 0), ("a4", 0), ("a1", 2)],
                        ring_timeout_s=12, retry_s=0, max_wait_s=120),
        ]
        acd = Acd(queues, rng=random.Random(seed))
        now = 0.0
        ringing: set[tuple[str, str]] = set()
        connected: dict[str, str] = {}  # call -> agent
        terminal: Counter[str] = Counter()
        connects: Counter[str] = Counter()
        entered: set[str] = set()
        alive: set[str] = set()

        def apply(actions: list[Action]) -> None:
            for action in actions:
                if isinstance(action, Ring):
                    assert action.agent_id not in {a for _, a in ringing}, "agent rings for two calls"
                    assert action.agent_id not in connected.values(), "agent on a call is offered another"
                    ringing.add((action.call_id, action.agent_id))
                elif isinstance(action, StopRinging):
                    ringing.discard((action.call_id, action.agent_id))
                elif isinstance(action, Connect):
                    assert action.agent_id not in connected.values(), "agent connected to two calls"
                    assert (action.call_id, action.agent_id) in ringing
                    ringing.discard((action.call_id, action.agent_id))
                    connected[action.call_id] = action.agent_id
                elif isinstance(action, QueueEvent):
                    if action.event is E.CONNECT:
                        connects[action.call_id or ""] += 1
                    if action.event is E.ENTERQUEUE:
                        entered.add(action.call_id or "")
                    if action.event in TERMINAL_EVENTS:
                        call_id = action.call_id or ""
                        terminal[call_id] += 1
                        alive.discard(call_id)
                        if action.event in (E.COMPLETECALLER, E.COMPLETEAGENT, E.TRANSFER):
                            assert connected.pop(call_id) == action.agent
                        else:
                            assert call_id not in connected
                            assert not any(c == call_id for c, _ in ringing), "left while still ringing"
            for call_id, agent_id in ringing:
                assert acd.agent_state(agent_id) is AgentState.RINGING, (seed, call_id, agent_id)

        for agent_id in agents:
            if rng.random() < 0.8:
                apply(acd.login(now, agent_id, f"ext-{agent_id}"))
        for step in range(120):
            now += rng.choice([0, 0.5, 1, 3, 7])
            op = rng.randrange(11)
            if op <= 1:
                call_id = f"s{seed}-c{step}"
                alive.add(call_id)
                apply(acd.enqueue(now, call_id, rng.choice(["1022", "dichvucong"]), "x"))
            elif op == 2 and ringing:
                call_id, agent_id = rng.choice(sorted(ringing))
                apply(acd.agent_answered(now, call_id, agent_id))
            elif op == 3 and ringing:
                call_id, agent_id = rng.choice(sorted(ringing))
                apply(acd.agent_rejected(now, call_id, agent_id))
            elif op == 4 and alive:
                apply(acd.caller_left(now, rng.choice(sorted(alive))))
            elif op == 5 and connected:
                call_id = rng.choice(sorted(connected))
                if rng.random() < 0.2:
                    apply(acd.transferred(now, call_id, "2001"))
                else:
                    apply(acd.call_ended(now, call_id, by=rng.choice(["caller", "agent"])))
            elif op == 6:
                agent_id = rng.choice(agents)
                apply(acd.pause(now, agent_id, "break") if rng.random() < 0.5 else acd.unpause(now, agent_id))
            elif op == 7:
                agent_id = rng.choice(agents)
                apply(acd.login(now, agent_id, "e") if rng.random() < 0.6 else acd.logout(now, agent_id))
            elif op == 8:
                apply(acd.set_device_busy(now, rng.choice(agents), rng.random() < 0.4))
            elif op == 9 and alive and rng.random() < 0.3:
                apply(acd.caller_key(now, rng.choice(sorted(alive)), "0"))
            elif op == 10 and (deadline := acd.next_deadline()) is not None:
                now = max(now, deadline)
            # a stray answer for a finished call never connects
            if rng.random() < 0.05 and terminal:
                stale = rng.choice(sorted(terminal))
                assert acd.agent_answered(now, stale, "a1") == [HangupAgentLeg(stale, "a1")]
            apply(acd.tick(now))
            if acd.next_deadline() == now:  # retry_s=0: the new round is due at once
                apply(acd.tick(now))
            deadline = acd.next_deadline()
            assert deadline is None or deadline > now, (seed, step)
        # wind down: everyone still in the system leaves
        for call_id in sorted(alive):
            apply(acd.caller_left(now, call_id))
        assert not alive and not connected and not ringing
        assert all(terminal[c] == 1 for c in entered), seed
        assert all(n == 1 for n in terminal.values()) and all(n == 1 for n in connects.values())
        assert all(terminal[c] == 1 for c in connects)
