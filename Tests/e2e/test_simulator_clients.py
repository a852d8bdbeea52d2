"""Standard clients straight at thinkback-sim (no proxy): the simulator must speak the wire
formats real SDKs parse, and refuse what the providers refuse, with their exact bodies
(docs/provider-protocol.md)."""
import json
import re

import anthropic
import httpx
import httpx_sse
import openai
import pytest

from agent import TOOLS, Agent

MODEL = "mimo-v2.5-pro"

MIMO_REFUSAL = ('{"error":{"message":"Param Incorrect","param":"The reasoning_content in the thinking mode '
                'must be passed back to the API.","code":"400"}}')
DEEPSEEK_REFUSAL = ('{"error":{"message":"The `reasoning_content` in the thinking mode must be passed back to the '
                    'API.","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}')


def kimi_refusal(index):
    return ('{"error":{"message":"thinking is enabled but reasoning_content is missing in assistant tool call '
            f'message at index {index}","type":"invalid_request_error"}}}}')


ANTHROPIC_TOOLS = [
    {"name": t["function"]["name"], "description": t["function"]["description"],
     "input_schema": t["function"]["parameters"]}
    for t in TOOLS
]

CALL_ID = re.compile(r"^call_[0-9a-f]{24}$")


def oai(port, key="sim-key"):
    return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=30)


def ant(port, key="sim-key"):
    return anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}/anthropic", api_key=key, max_retries=0, timeout=30)


def stats(port):
    return httpx.get(f"http://127.0.0.1:{port}/sim/stats").json()


def bare_history():
    """A history with an assistant tool call whose reasoning_content was dropped (messages[1])."""
    return [
        {"role": "user", "content": "weather in Beijing?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_0123456789abcdef01234567", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\":\"Beijing\"}"}}]},
        {"role": "tool", "tool_call_id": "call_0123456789abcdef01234567", "content": "sunny"},
    ]


# -- OpenAI SDK ------------------------------------------------------------------------------

def test_openai_sdk_assembles_reasoning_and_tool_calls_from_the_stream(sim):
    port = sim()
    chunks = list(oai(port).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "weather in Beijing and read a.txt"}],
        tools=TOOLS, stream=True, stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    first = chunks[0].choices[0].delta
    assert first.role == "assistant"

    reasoning, calls, finishes = [], {}, []
    for c in chunks:
        if not c.choices:
            continue
        d = c.choices[0].delta
        r = getattr(d, "reasoning_content", None)
        if r is None and d.model_extra:
            r = d.model_extra.get("reasoning_content")
        if r:
            reasoning.append(r)
        for tc in d.tool_calls or []:
            slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
            slot["id"] += tc.id or ""
            slot["name"] += (tc.function.name or "") if tc.function else ""
            slot["arguments"] += (tc.function.arguments or "") if tc.function else ""
        if c.choices[0].finish_reason:
            finishes.append(c.choices[0].finish_reason)
    assert len("".join(reasoning)) > 50
    assert finishes == ["tool_calls"]
    assert 1 <= len(calls) <= 2
    for call in calls.values():
        assert CALL_ID.match(call["id"]), call["id"]
        assert call["name"] in ("get_weather", "read_file")
        assert isinstance(json.loads(call["arguments"]), dict)
    # The usage chunk: empty choices, then the stream ends.
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0

    # What the client assembled is exactly what the simulator issued: sent back, it is `exact`.
    history = [
        {"role": "user", "content": "weather in Beijing and read a.txt"},
        {"role": "assistant", "content": "", "reasoning_content": "".join(reasoning), "tool_calls": [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls.values()]},
        *[{"role": "tool", "tool_call_id": c["id"], "content": "ok"} for c in calls.values()],
    ]
    r = oai(port).chat.completions.create(model=MODEL, messages=history, tools=TOOLS)
    assert r.choices[0].finish_reason == "stop"
    assert stats(port)["ledger"]["exact"] == 1


def test_openai_sdk_non_stream_reasoning_in_model_extra(sim):
    port = sim()
    r = oai(port).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "read a.txt"}], tools=TOOLS)
    msg = r.choices[0].message
    assert r.choices[0].finish_reason == "tool_calls"
    assert msg.model_extra.get("reasoning_content")
    assert all(CALL_ID.match(c.id) for c in msg.tool_calls)
    assert r.usage.completion_tokens_details.reasoning_tokens > 0


def test_agent_runs_when_it_keeps_the_reasoning(sim):
    port = sim()
    for stream in (False, True):
        result = Agent(f"http://127.0.0.1:{port}/v1", f"key-{stream}", stream=stream, keep_reasoning=True).run()
        assert result.ok, result.exchanges[-1].error_body
        assert len(result.exchanges) == 4
    led = stats(port)["ledger"]
    # Per run, requests 2, 3 and 4 carry 1, 1 and 2 assistant tool-call messages.
    assert led["exact"] == 2 * (1 + 1 + 2) and led["missing"] == 0


# -- Anthropic SDK ---------------------------------------------------------------------------

def _check_anthropic_message(m, signature_re=r"^$"):
    kinds = [b.type for b in m.content]
    assert "thinking" in kinds and "tool_use" in kinds, kinds
    thinking = next(b for b in m.content if b.type == "thinking")
    assert len(thinking.thinking) > 50
    assert re.match(signature_re, thinking.signature), thinking.signature
    uses = [b for b in m.content if b.type == "tool_use"]
    for u in uses:
        assert re.match(r"^toolu_[A-Za-z0-9]{24}$", u.id), u.id
        assert u.name in ("get_weather", "read_file")
        assert isinstance(u.input, dict)
    assert m.stop_reason == "tool_use"
    return thinking, uses


def _anthropic_history(question, m, *, keep_thinking=True):
    blocks = [b.model_dump(exclude_none=True) for b in m.content
              if keep_thinking or b.type != "thinking"]
    # The SDK's models carry extra None-less members only; citations etc. are not sent back.
    for b in blocks:
        b.pop("citations", None)
    results = [{"type": "tool_result", "tool_use_id": b.id, "content": "ok"} for b in m.content if b.type == "tool_use"]
    return [{"role": "user", "content": question}, {"role": "assistant", "content": blocks},
            {"role": "user", "content": results}]


def test_anthropic_sdk_non_stream_thinking_and_tool_use(sim):
    port = sim()
    q = "weather in Beijing?"
    m = ant(port).messages.create(model=MODEL, max_tokens=1024, tools=ANTHROPIC_TOOLS,
                                  messages=[{"role": "user", "content": q}])
    _check_anthropic_message(m)
    # Sent back with its thinking block: accepted, `exact`.
    r = ant(port).messages.create(model=MODEL, max_tokens=1024, tools=ANTHROPIC_TOOLS,
                                  messages=_anthropic_history(q, m))
    assert r.stop_reason == "end_turn"
    assert stats(port)["ledger"]["exact"] == 1
    # Without it: DeepSeek's Anthropic-side wording in Anthropic's error shape.
    with pytest.raises(anthropic.BadRequestError) as raised:
        ant(port).messages.create(model=MODEL, max_tokens=1024, tools=ANTHROPIC_TOOLS,
                                  messages=_anthropic_history(q, m, keep_thinking=False))
    assert raised.value.response.json() == {"type": "error", "error": {
        "type": "invalid_request_error",
        "message": "The `content[].thinking` in the thinking mode must be passed back to the API."}}


def test_anthropic_sdk_stream_thinking_signature_and_tool_use(sim):
    port = sim()
    q = "read notes.txt"
    with ant(port).messages.stream(model=MODEL, max_tokens=1024, tools=ANTHROPIC_TOOLS,
                                   messages=[{"role": "user", "content": q}],
                                   extra_headers={"x-sim-flavor": "deepseek"}) as s:
        kinds = [e.type for e in s]
        m = s.get_final_message()
    assert kinds[0] == "message_start" and "thinking" in kinds and "signature" in kinds
    # DeepSeek signs with the message UUID; MiMo with "".
    _check_anthropic_message(m, r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    r = ant(port).messages.create(model=MODEL, max_tokens=1024, tools=ANTHROPIC_TOOLS,
                                  messages=_anthropic_history(q, m), extra_headers={"x-sim-flavor": "deepseek"})
    assert r.stop_reason == "end_turn"
    assert stats(port)["ledger"]["exact"] == 1


# -- the strict rules ------------------------------------------------------------------------

def test_missing_reasoning_is_refused_with_mimos_exact_body(sim):
    port = sim()
    with pytest.raises(openai.BadRequestError) as raised:
        oai(port).chat.completions.create(model=MODEL, messages=bare_history(), tools=TOOLS)
    assert raised.value.status_code == 400
    assert raised.value.response.text == MIMO_REFUSAL
    assert stats(port)["verdicts"]["refused_reasoning"] == 1
    assert stats(port)["ledger"]["missing"] == 1


@pytest.mark.parametrize("flavor,body", [("deepseek", DEEPSEEK_REFUSAL), ("kimi", kimi_refusal(1))])
def test_flavours_word_the_refusal_their_way(sim, flavor, body):
    port = sim()
    with pytest.raises(openai.BadRequestError) as raised:
        oai(port).chat.completions.create(model=MODEL, messages=bare_history(), tools=TOOLS,
                                          extra_headers={"x-sim-flavor": flavor})
    assert raised.value.response.text == body


@pytest.mark.parametrize("sim_args", [("--flavor", "kimi"), ("--refuse-empty", "on")])
def test_empty_reasoning_refused_where_configured_but_a_space_accepted(sim, sim_args):
    # Kimi K2.5/K2.6 refuse "" and accept " ". (The per-request `x-sim-flavor: kimi` keeps the
    # process's empty-placeholder default, so the process flag is used here.)
    port = sim(*sim_args)
    h = bare_history()
    h[1]["reasoning_content"] = ""
    with pytest.raises(openai.BadRequestError):
        oai(port).chat.completions.create(model=MODEL, messages=h, tools=TOOLS)
    h[1]["reasoning_content"] = " "
    r = oai(port).chat.completions.create(model=MODEL, messages=h, tools=TOOLS)
    assert r.choices[0].finish_reason == "stop"
    s = stats(port)
    assert s["verdicts"]["refused_empty"] == 1 and s["ledger"]["placeholder"] == 2


def test_placeholders_refused_with_the_must_be_passed_back_400(sim):
    port = sim("--refuse-placeholders", "on")
    h = bare_history()
    h[1]["reasoning_content"] = " "
    with pytest.raises(openai.BadRequestError) as raised:
        oai(port).chat.completions.create(model=MODEL, messages=h, tools=TOOLS)
    assert raised.value.response.text == MIMO_REFUSAL
    assert stats(port)["verdicts"]["refused_placeholder"] == 1


def test_tool_message_answering_no_call_is_refused(sim):
    port = sim()
    h = bare_history()
    h.append({"role": "tool", "tool_call_id": "call_ffffffffffffffffffffffff", "content": "stray"})
    h[1]["reasoning_content"] = "whatever"
    with pytest.raises(openai.BadRequestError) as raised:
        oai(port).chat.completions.create(model=MODEL, messages=h, tools=TOOLS)
    err = raised.value.response.json()["error"]
    assert "must be a response to a preceeding message with 'tool_calls'" in err["message"]
    assert err["param"] == "messages.[3].role"
    assert stats(port)["verdicts"]["refused_orphan_tool"] == 1


def test_malformed_json_is_refused(sim):
    port = sim()
    r = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", content=b'{"model":"mimo-v2.5-pro","messages":[',
                   headers={"Authorization": "Bearer k", "Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("Invalid JSON body")
    assert stats(port)["verdicts"]["refused_malformed_json"] == 1


def test_no_key_is_401(sim):
    port = sim()
    with pytest.raises(openai.AuthenticationError) as raised:
        oai(port).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                          extra_headers={"Authorization": ""})
    assert raised.value.status_code == 401
    r = httpx.post(f"http://127.0.0.1:{port}/anthropic/v1/messages",
                   json={"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 401 and r.json()["type"] == "error"


# -- SSE framing, by a generic SSE parser ----------------------------------------------------

def test_openai_stream_framing(sim):
    port = sim()
    body = {"model": MODEL, "stream": True, "tools": TOOLS,
            "messages": [{"role": "user", "content": "weather in 北京?"}]}
    with httpx.Client(timeout=30) as c:
        with httpx_sse.connect_sse(c, "POST", f"http://127.0.0.1:{port}/v1/chat/completions", json=body,
                                   headers={"Authorization": "Bearer k"}) as source:
            assert source.response.status_code == 200
            assert source.response.headers["content-type"].startswith("text/event-stream")
            events = list(source.iter_sse())
    data = [e.data for e in events]
    assert data[-1] == "[DONE]"
    assert data.count("[DONE]") == 1
    chunks = [json.loads(d) for d in data[:-1]]
    usage = chunks[-1]
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] > 0
    finish = chunks[-2]
    assert finish["choices"][0]["finish_reason"] == "tool_calls" and finish["usage"] is None
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == usage["id"] for c in chunks)
    # The first chunk's delta, exactly as provider-protocol.md documents it.
    assert chunks[0]["choices"][0]["delta"] == {"content": "", "role": "assistant", "tool_calls": None,
                                                "reasoning_content": None}
    # Only the usage chunk has empty choices.
    assert [i for i, c in enumerate(chunks) if not c["choices"]] == [len(chunks) - 1]


def test_anthropic_stream_framing(sim):
    port = sim()
    body = {"model": MODEL, "stream": True, "max_tokens": 256, "messages": [{"role": "user", "content": "hello"}]}
    with httpx.Client(timeout=30) as c:
        with httpx_sse.connect_sse(c, "POST", f"http://127.0.0.1:{port}/anthropic/v1/messages", json=body,
                                   headers={"x-api-key": "k"}) as source:
            events = list(source.iter_sse())
    names = [e.event for e in events]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert names[-2] == "message_delta"
    for e in events:
        assert json.loads(e.data)["type"] == e.event
