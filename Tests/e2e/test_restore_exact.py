"""A restored reasoning must belong to *that* message, not a look-alike (docs/product.md §1: "A
key names one message, not its look-alikes").

The TRAE-style agent of agent.py, through the real thinkback, to the real simulator, over
conversations whose tool-call messages look alike across rounds:
- Kimi's tool-call ids, numbered `functions.NAME:0`, `:1`, … afresh in every answer
  (`x-sim-tool-ids: kimi`), so one id names different calls in one conversation;
- an agent making the very same call in every round (`x-sim-repeat-calls: 1`) through a
  client that renumbers ids, so the call's content alone can't tell the rounds apart;
- reasoning with astral-plane characters whose UTF-16 surrogate pairs a stream splits between
  two events (`x-sim-astral: 1`).

Judged by the simulator's fidelity ledger, which finds each history message at its place in
the conversation (Sources/ThinkbackSimCore/KNOBS.md, "Ledger"): another round's reasoning is
`wrong`, never `exact`. The controls at the end send the same conversations straight to the
simulator with a client that keeps its reasoning: all `exact`, so a failure above is the
proxy's.
"""
import re

import httpx
import pytest

from agent import QUESTIONS, Agent, ClockInSystemPrompt

KEY = "sk-tenant-exact"
CATEGORIES = ("exact", "placeholder", "foreign", "wrong", "missing", "textualized")
THREE_QUESTIONS = QUESTIONS + ["One more: the weather in Shenzhen?"]
KIMI_ID = re.compile(r"^functions\.\w+:\d+$")


@pytest.fixture
def tb(stack, tmp_path):
    """`tb(sim_args, proxy_args)` → (sim, proxy): thinkback with a memory store in its own state
    directory and no retries, in front of a fresh simulator."""
    counter = iter(range(1000))

    def start(sim_args=(), proxy_args=()):
        state = tmp_path / f"state{next(counter)}"
        return stack(sim_args, ("--state-dir", str(state), "--store", "memory", "--retries", "0", *proxy_args))

    return start


def url(port):
    return f"http://127.0.0.1:{port}/v1"


def sim_stats(sim):
    return httpx.get(f"http://127.0.0.1:{sim}/sim/stats").json()


def call_messages(agent):
    """(index, message) of every assistant message with tool calls in the agent's history."""
    return [(i, m) for i, m in enumerate(agent.messages) if m["role"] == "assistant" and m.get("tool_calls")]


def tool_call_messages_sent(agent):
    """How many assistant tool-call messages the agent's requests carried (what the ledger
    classifies)."""
    return sum(1 for ex in agent.exchanges for m in agent.messages[: ex.message_count]
               if m["role"] == "assistant" and m.get("tool_calls"))


def assert_all_exact(sim, agent):
    """Every tool-call message of every request came back exact; nothing wrong, nothing else."""
    stats = sim_stats(sim)
    led = stats["ledger"]
    expected = tool_call_messages_sent(agent)
    detail = f"ledger {led}, expected {expected} exact; last request {stats['tenants'].get(KEY, {}).get('last_request')}"
    assert led.get("wrong", 0) == 0, detail
    assert led.get("exact", 0) == expected, detail
    others = {c: led.get(c, 0) for c in CATEGORIES if c != "exact" and led.get(c, 0)}
    assert not others, detail


def run(agent, questions=THREE_QUESTIONS):
    result = agent.run(questions)
    assert result.ok, f"request {result.failed_at}: {result.exchanges[-1].error_body}"
    return result


def fresh_ids():
    """A client that gives every tool call an id of its own (`tool-1`, `tool-2`, …)."""
    table = {}
    return lambda i: table.setdefault(i, f"tool-{len(table) + 1}")


def utf16_joined(text):
    """Joins surrogate halves that a client decoded event by event (Python keeps them as two
    code points) into the characters they encode."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


# -- 1. Kimi ids, numbered afresh in every answer ---------------------------------------------

KIMI = {"x-sim-tool-ids": "kimi", "x-sim-tool-calls": "2"}


def assert_kimi_ids_repeat(agent):
    ids = [c["id"] for _, m in call_messages(agent) for c in m["tool_calls"]]
    assert len(call_messages(agent)) == 3
    assert all(KIMI_ID.match(i) for i in ids), ids
    assert len(ids) > len(set(ids)), f"no id names two calls: {ids}"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_kimi_ids_repeating_across_rounds_restore_each_message_exactly(tb, stream):
    sim, prx = tb()
    agent = Agent(url(prx), KEY, stream=stream, extra_headers=KIMI)
    run(agent)
    assert_kimi_ids_repeat(agent)
    assert_all_exact(sim, agent)


# -- 2. the same call in every round, through a client that renumbers ids ---------------------

REPEAT = {"x-sim-repeat-calls": "1"}


def assert_calls_repeat(agent):
    messages = call_messages(agent)
    assert len(messages) == 3
    calls = [[(c["function"]["name"], c["function"]["arguments"]) for c in m["tool_calls"]] for _, m in messages]
    assert calls[0] == calls[1] == calls[2], calls
    assert all(m["content"] == "" for _, m in messages)
    reasonings = [agent.reasoning_by_index[i] for i, _ in messages]
    assert len(set(reasonings)) == 3, "each round thought something else"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_the_same_call_in_every_round_through_a_renumbering_client_restores_each_exactly(tb, stream):
    sim, prx = tb()
    agent = Agent(url(prx), KEY, stream=stream, rename_id=fresh_ids(), extra_headers=REPEAT)
    run(agent)
    assert_calls_repeat(agent)
    assert_all_exact(sim, agent)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_where_thinkback_cannot_tell_the_rounds_apart_it_is_a_miss_never_another_rounds(tb, stream):
    # The same call every round, ids renumbered, and a history that changes every request: the
    # look-alikes cannot be told apart, so they get the placeholder — never another's reasoning.
    sim, prx = tb()
    agent = ClockInSystemPrompt(url(prx), KEY, stream=stream, rename_id=fresh_ids(), extra_headers=REPEAT)
    run(agent)
    assert_calls_repeat(agent)
    led = sim_stats(sim)["ledger"]
    total = tool_call_messages_sent(agent)
    assert led.get("wrong", 0) == 0 and led.get("foreign", 0) == 0, led
    assert led.get("exact", 0) + led.get("placeholder", 0) == total, led
    assert led.get("placeholder", 0) > 0, led
    # With Kimi's ids the id with its content still finds each call that is not repeated (the
    # scripted model may repeat one by chance: that one misses), never another's.
    sim2, prx2 = tb()
    kimi = ClockInSystemPrompt(url(prx2), KEY, stream=stream, extra_headers=KIMI)
    run(kimi)
    assert_kimi_ids_repeat(kimi)
    led2 = sim_stats(sim2)["ledger"]
    assert led2.get("wrong", 0) == 0 and led2.get("foreign", 0) == 0, led2
    assert led2.get("exact", 0) + led2.get("placeholder", 0) == tool_call_messages_sent(kimi), led2
    assert led2.get("exact", 0) > led2.get("placeholder", 0), led2


# -- 3. astral reasoning, surrogate pairs split between stream events -------------------------

ASTRAL = {"x-sim-astral": "1"}


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_astral_reasoning_restores_exactly_on_the_next_turn(tb, stream):
    sim, prx = tb()
    agent = Agent(url(prx), KEY, stream=stream, extra_headers=ASTRAL)
    run(agent, QUESTIONS)
    first = agent.reasoning_by_index[1]
    if stream:
        # Decoded event by event, a split pair arrives as two lone surrogates.
        assert "\ud83d\ude00" in first or "\ud83e\udd14" in first, "no surrogate pair was split"
    assert "😀" * 12 + "北" + "🤔" * 12 in utf16_joined(first)
    assert_all_exact(sim, agent)


# -- 4. controls: the same conversations straight at the simulator, reasoning kept ------------

@pytest.mark.parametrize("headers,rename", [
    (KIMI, None),
    (REPEAT, "fresh"),
    (ASTRAL, None),
], ids=["kimi-ids", "repeat-calls-new-ids", "astral"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_control_a_client_that_keeps_reasoning_is_exact_straight_at_the_simulator(sim, stream, headers, rename):
    port = sim()
    agent = Agent(url(port), KEY, stream=stream, keep_reasoning=True, extra_headers=headers,
                  rename_id=fresh_ids() if rename == "fresh" else None)
    if headers is ASTRAL and stream:
        # Python keeps the halves of a split pair as two code points: a careful client joins
        # them before it sends the reasoning back.
        agent.send = _joining_send(agent)
    run(agent)
    if headers is KIMI:
        assert_kimi_ids_repeat(agent)
    if headers is REPEAT:
        assert_calls_repeat(agent)
    assert_all_exact(port, agent)


def _joining_send(agent):
    send = agent.send

    def joined():
        ex = send()
        if ex.reasoning is not None:
            ex.reasoning = utf16_joined(ex.reasoning)
        return ex

    return joined
