"""Restoration end to end (issue 4; docs/product.md §1–§4): the TRAE-style agent of agent.py,
through the real thinkback, to the real simulator, judged by the simulator's fidelity ledger
(`GET /sim/stats`), the raw bodies it received (`GET /sim/last`) and thinkback's status (`GET /`).
"""
import json
import re
import time

import httpx
import openai
import pytest

from agent import MODEL, QUESTIONS, TOOLS, Agent, ClockInSystemPrompt

MIMO_REFUSAL = ('{"error":{"message":"Param Incorrect","param":"The reasoning_content in the thinking mode '
                'must be passed back to the API.","code":"400"}}')
CATEGORIES = ("exact", "placeholder", "foreign", "wrong", "missing", "textualized")
KEY_A = "sk-tenant-a"
KEY_B = "sk-tenant-b"


# -- plumbing --------------------------------------------------------------------------------

@pytest.fixture
def tb(stack, proxy, tmp_path):
    """`tb.stack(sim_args, proxy_args)` → (sim, proxy); `tb.proxy(sim, *args)` → another proxy
    (empty cache) in front of the same simulator. Every proxy gets its own state directory."""
    counter = iter(range(1000))

    def common():
        return ("--state-dir", str(tmp_path / f"state{next(counter)}"), "--store", "memory", "--retries", "0")

    class TB:
        @staticmethod
        def stack(sim_args=(), proxy_args=()):
            return stack(sim_args, (*common(), *proxy_args))

        @staticmethod
        def proxy(sim_port, *args):
            return proxy(sim_port, *common(), *args)

    return TB


def url(port):
    return f"http://127.0.0.1:{port}/v1"


def sim_stats(sim):
    return httpx.get(f"http://127.0.0.1:{sim}/sim/stats").json()


def ledger(sim, tenant=None):
    s = sim_stats(sim)
    return s["tenants"].get(tenant, {}).get("ledger", {}) if tenant else s["ledger"]


def sim_reset(sim, forget=False):
    httpx.post(f"http://127.0.0.1:{sim}/sim/reset" + ("?all=1" if forget else "")).raise_for_status()


def sim_last(sim, n=1):
    r = httpx.get(f"http://127.0.0.1:{sim}/sim/last?n={n}")
    r.raise_for_status()
    return r.content


def status(proxy_port):
    return httpx.get(f"http://127.0.0.1:{proxy_port}/").json()


def tool_call_messages_sent(agent):
    """How many assistant tool-call messages the agent's requests carried in their histories
    (what the ledger classifies)."""
    total = 0
    for ex in agent.exchanges:
        total += sum(1 for m in agent.messages[: ex.message_count] if m["role"] == "assistant" and m.get("tool_calls"))
    return total


def only(led, category, n):
    """The ledger has `n` in `category` and nothing anywhere else."""
    assert led.get(category, 0) == n, led
    others = {c: led.get(c, 0) for c in CATEGORIES if c != category and led.get(c, 0)}
    assert not others, led


def history_of_one_turn(proxy_port, key=KEY_A, stream=False):
    """A conversation (user, assistant with tool calls, tool results, final answer) built
    through `proxy_port`; returns the agent."""
    a = Agent(url(proxy_port), key, stream=stream)
    a.ask(QUESTIONS[0])
    assert a.messages[1]["role"] == "assistant" and a.messages[1].get("tool_calls")
    return a


# -- 1. the TRAE-style conversation ----------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_trae_conversation_restores_every_tool_call_message_exactly(tb, stream):
    sim, prx = tb.stack()
    agent = Agent(url(prx), KEY_A, stream=stream)
    result = agent.run(QUESTIONS + ["One more: the weather in Shenzhen?"])
    assert result.ok, f"request {result.failed_at}: {result.exchanges[-1].error_body}"
    assert len(result.exchanges) == 6
    expected = tool_call_messages_sent(agent)
    assert expected == 1 + 1 + 2 + 2 + 3
    only(ledger(sim), "exact", expected)
    st = status(prx)["restore"]
    assert st["restored"] == expected
    assert st["misses"] == 0
    assert st["captured"] == 3                # the tool-call answers; plain ones are not kept (scope tool-calls)
    assert st["hits_context"] == expected     # found by their place in the conversation
    assert status(prx)["cache"]["entries"] >= 3


# -- 2. a client that keeps reasoning_content ------------------------------------------------

def test_reasoning_sent_by_the_client_is_forwarded_untouched(tb):
    sim, prx = tb.stack()
    sent = []
    hook = httpx.Client(event_hooks={"request": [lambda r: sent.append(r.content)]})
    agent = Agent(url(prx), KEY_A, keep_reasoning=True, http_client=hook)
    assert agent.run().ok
    received = sim_last(sim)
    # Byte for byte what the SDK sent.
    assert received == sent[-1]
    # Each assistant message carries reasoning_content exactly once, equal to what the client sent.
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)
    body = json.loads(received, object_pairs_hook=no_duplicates)
    assistants = [(i, m) for i, m in enumerate(body["messages"]) if m["role"] == "assistant"]
    assert len(assistants) == 3
    for i, m in assistants:
        assert m["reasoning_content"] == agent.messages[i]["reasoning_content"] == agent.reasoning_by_index[i]
    assert received.count(b'"reasoning_content"') == len(assistants)
    assert status(prx)["restore"]["restored"] == 0
    only(ledger(sim), "exact", tool_call_messages_sent(agent))


# -- 3. a client that renumbers tool-call ids ------------------------------------------------

def _fresh_ids():
    table = {}
    return lambda i: table.setdefault(i, f"tool-{len(table) + 1}")


@pytest.mark.parametrize("rename", [
    lambda i: i.replace("call_", "call-"),
    lambda i: i.replace("_", ""),
    "fresh",
], ids=["dash", "no-underscore", "new-ids"])
def test_renumbered_tool_call_ids_still_restore_exactly(tb, rename):
    sim, prx = tb.stack()
    agent = Agent(url(prx), KEY_A, rename_id=_fresh_ids() if rename == "fresh" else rename)
    result = agent.run()
    assert result.ok, f"request {result.failed_at}: {result.exchanges[-1].error_body}"
    expected = tool_call_messages_sent(agent)
    only(ledger(sim), "exact", expected)
    st = status(prx)["restore"]
    assert st["restored"] == expected
    assert st["hits_context"] == expected  # ids are not part of a message's place


@pytest.mark.parametrize("rename", [None, "fresh"], ids=["same-ids", "new-ids"])
def test_a_changed_history_still_restores_by_id_or_content(tb, rename):
    sim, prx = tb.stack()
    agent = ClockInSystemPrompt(url(prx), KEY_A, rename_id=_fresh_ids() if rename else None)
    result = agent.run()
    assert result.ok, f"request {result.failed_at}: {result.exchanges[-1].error_body}"
    expected = tool_call_messages_sent(agent)
    only(ledger(sim), "exact", expected)
    st = status(prx)["restore"]
    assert st["hits_context"] == 0
    assert st["hits_content" if rename else "hits_tool_call_id"] == expected


# -- 4. conversations older than the cache ---------------------------------------------------

def _continue_through_fresh_proxy(tb, sim, old_agent, *proxy_args, key=KEY_A, stream=False, headers=None):
    """Sends `old_agent`'s history plus a new user question through a new proxy (empty cache)."""
    prx = tb.proxy(sim, *proxy_args)
    agent = Agent(url(prx), key, messages=old_agent.messages, stream=stream, extra_headers=headers)
    agent.messages.append({"role": "user", "content": QUESTIONS[1]})
    sim_reset(sim)
    return prx, agent


def test_miss_placeholder(tb):
    sim, prx = tb.stack()
    old = history_of_one_turn(prx)
    prx2, agent = _continue_through_fresh_proxy(tb, sim, old, "--miss", "placeholder")
    agent.send()
    only(ledger(sim), "placeholder", 1)
    sent = json.loads(sim_last(sim))
    assert sent["messages"][1]["reasoning_content"] == " "
    assert sent["messages"][1]["tool_calls"] == old.messages[1]["tool_calls"]
    st = status(prx2)["restore"]
    assert st["misses"] == 1 and st["fallbacks"]["placeholder"] == 1 and st["restored"] == 0


def test_miss_placeholder_text_is_configurable(tb):
    sim, prx = tb.stack()
    old = history_of_one_turn(prx)
    _, agent = _continue_through_fresh_proxy(tb, sim, old, "--miss", "placeholder", "--placeholder", "(earlier reasoning not kept)")
    agent.send()
    sent = json.loads(sim_last(sim))
    assert sent["messages"][1]["reasoning_content"] == "(earlier reasoning not kept)"


def test_miss_textualize(tb):
    sim, prx = tb.stack()
    old = history_of_one_turn(prx)
    prx2, agent = _continue_through_fresh_proxy(tb, sim, old, "--miss", "textualize")
    agent.send()
    only(ledger(sim), "textualized", 1)
    sent = json.loads(sim_last(sim))["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user", "assistant", "user"]
    assert "tool_calls" not in sent[1]
    for call in old.messages[1]["tool_calls"]:
        f = call["function"]
        assert f"[tool call] {f['name']}({f['arguments']})" in sent[1]["content"]
        assert f"[tool result {f['name']}] " in sent[2]["content"]
    assert "<tool_call>" not in sent[1]["content"] + sent[2]["content"]
    st = status(prx2)["restore"]
    assert st["fallbacks"]["textualize"] == 1


def test_miss_strip(tb):
    sim, prx = tb.stack()
    old = history_of_one_turn(prx)
    prx2, agent = _continue_through_fresh_proxy(tb, sim, old, "--miss", "strip")
    agent.send()
    sent = json.loads(sim_last(sim))["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "assistant", "user"]
    assert all("tool_calls" not in m for m in sent)
    assert status(prx2)["restore"]["fallbacks"]["strip"] == 1
    led = ledger(sim)
    assert all(led.get(c, 0) == 0 for c in CATEGORIES), led  # no tool-call message left


def test_miss_passthrough_lets_the_providers_400_through(tb):
    sim, prx = tb.stack()
    old = history_of_one_turn(prx)
    prx2, agent = _continue_through_fresh_proxy(tb, sim, old, "--miss", "passthrough")
    with pytest.raises(openai.BadRequestError) as raised:
        agent.send()
    assert raised.value.response.text == MIMO_REFUSAL
    only(ledger(sim), "missing", 1)
    assert status(prx2)["restore"]["fallbacks"]["passthrough"] == 1


def test_miss_reject_answers_409_naming_the_message(tb):
    sim, prx = tb.stack()
    old = history_of_one_turn(prx)
    prx2, agent = _continue_through_fresh_proxy(tb, sim, old, "--miss", "reject")
    with pytest.raises(openai.ConflictError) as raised:
        agent.send()
    assert raised.value.status_code == 409
    err = raised.value.response.json()["error"]
    assert "messages[1]" in err["message"]
    assert sim_stats(sim)["chat_requests"] == 0  # nothing went upstream
    assert status(prx2)["restore"]["fallbacks"]["reject"] == 1


@pytest.mark.parametrize("stream,headers", [
    (False, {}),
    (True, {}),
    (True, {"x-sim-sse-errors": "1"}),
], ids=["whole", "stream", "stream-sse-framed-400"])
def test_miss_auto_falls_back_to_textualize_once_and_remembers(tb, stream, headers):
    sim, prx = tb.stack(sim_args=("--refuse-placeholders", "on"))
    old = history_of_one_turn(prx, stream=stream)
    prx2, agent = _continue_through_fresh_proxy(tb, sim, old, "--miss", "auto", stream=stream, headers=headers)
    agent.send()  # placeholder refused, retried at once with textualize: the client sees a success
    assert sim_stats(sim)["verdicts"].get("refused_placeholder") == 1
    st = status(prx2)["restore"]
    assert st["auto_retries"] == 1
    assert st["fallbacks"]["textualize"] >= 1
    textualized = st["fallbacks"]["textualize"]

    # Second request with the same kind of miss: straight to textualize, no new retry.
    sim_reset(sim)
    again = Agent(url(prx2), KEY_A, messages=old.messages, stream=stream, extra_headers=headers)
    again.messages.append({"role": "user", "content": QUESTIONS[1]})
    again.send()
    st = status(prx2)["restore"]
    assert st["auto_retries"] == 1
    assert st["fallbacks"]["textualize"] > textualized
    assert sim_stats(sim)["verdicts"].get("refused_placeholder", 0) == 0
    only(ledger(sim), "textualized", 1)


# -- 5. tenants ------------------------------------------------------------------------------

def test_another_tenant_never_receives_the_reasoning(tb):
    sim, prx = tb.stack()
    a = history_of_one_turn(prx, key=KEY_A)
    sim_reset(sim)
    b = Agent(url(prx), KEY_B, messages=a.messages)
    b.messages.append({"role": "user", "content": QUESTIONS[1]})
    b.send()  # auto: a placeholder keeps the request valid
    led_b = ledger(sim, KEY_B)
    assert led_b.get("foreign", 0) == 0, led_b
    assert led_b.get("exact", 0) == 0, led_b
    assert led_b.get("placeholder", 0) == 1, led_b
    assert ledger(sim)["foreign"] == 0
    st = status(prx)["restore"]
    assert st["misses"] == 1 and st["fallbacks"]["placeholder"] == 1


def test_single_tenant_mode_shares_the_cache_as_configured(tb):
    # The control for the test above: with one shared tenant, B does get A's reasoning, and
    # the ledger sees it as foreign — so the ledger can catch a leak.
    sim, prx = tb.stack(proxy_args=("--tenant", "single"))
    a = history_of_one_turn(prx, key=KEY_A)
    sim_reset(sim)
    b = Agent(url(prx), KEY_B, messages=a.messages)
    b.messages.append({"role": "user", "content": QUESTIONS[1]})
    b.send()
    assert ledger(sim, KEY_B).get("foreign", 0) == 1


# -- 6. byte preservation --------------------------------------------------------------------

def _json_str(s):
    return json.dumps(s, ensure_ascii=False)


def _remove_injected(received: bytes, sent: bytes):
    """Removes every `"reasoning_content":"…"` member that is in `received` but not in `sent`;
    returns the remaining bytes and the decoded injected values."""
    member = re.compile(rb'"reasoning_content"\s*:\s*"(?:[^"\\]|\\.)*"')
    already = len(member.findall(sent))
    found = list(member.finditer(received))
    assert len(found) >= already
    out, values, pos = bytearray(), [], 0
    injected = [m for m in found if m.group(0) not in sent] if already else found
    for m in injected:
        start, end = m.start(), m.end()
        if received[end:end + 1] == b",":
            end += 1
        elif received[start - 1:start] == b",":
            start -= 1
        out += received[pos:start]
        pos = end
        values.append(json.loads(m.group(0).split(b":", 1)[1]))
    out += received[pos:]
    return bytes(out), values


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_only_the_reasoning_member_is_added_byte_for_byte(tb, stream):
    sim, prx = tb.stack()
    old = history_of_one_turn(prx, stream=stream)
    user, assistant, tools = old.messages[0], old.messages[1], [m for m in old.messages[2:] if m["role"] == "tool"]
    reasoning = old.reasoning_by_index[1]
    assert reasoning

    calls = ",\n      ".join(
        '{ "function" : {"arguments":' + _json_str(c["function"]["arguments"]) + ' ,"name":"' + c["function"]["name"]
        + '"},\t"type":"function", "id":"' + c["id"] + '" }' for c in assistant["tool_calls"])
    tool_msgs = ",\n    ".join(
        '{"role":"tool","tool_call_id":"' + t["tool_call_id"] + '","content":' + _json_str(t["content"]) + ',"x_tool_meta":{"ms":1.50e+2}}'
        for t in tools)
    raw = (
        '{\r\n  "x_unknown_top": {"big": 1e400, "neg": -0.0, "huge": 123456789012345678901234567890, "e": 1E-7},\n'
        '  "messages" : [\n'
        '    {"content":' + _json_str(user["content"]) + ' , "role":"user", "x_note":"\\u5317\\u4eac \\ud83d\\ude00 a\\/b \\"q\\""},\n'
        '    {  "role" : "assistant",\t"content" : "", "x_client_tag":[1,2.0,-0.0,{"nested":[true,false,null]}],\n'
        '      "tool_calls" : [\n      ' + calls + '\n      ] },\n'
        '    ' + tool_msgs + ',\n'
        '    {"role":"assistant","content":' + _json_str(old.messages[-1]["content"]) + '},\n'
        '    {"role":"user","content":"\\u5317\\u4eac again? \\ud83d\\ude00"}\n'
        '  ],\n'
        '  "model":"' + MODEL + '", "stream":' + ("true" if stream else "false") + ',\n'
        '  "tools":' + json.dumps(TOOLS, separators=(",", ":")) + ',\n'
        '  "temperature": 1.0, "top_p" : 0.95e0\n'
        '}\n'
    ).encode()
    json.loads(raw)  # the test's own body is valid JSON
    r = httpx.post(f"{url(prx)}/chat/completions", content=raw, timeout=30,
                   headers={"Authorization": f"Bearer {KEY_A}", "Content-Type": "application/json"})
    received = sim_last(sim)
    rest, values = _remove_injected(received, raw)
    assert values == [reasoning], "exactly one reasoning_content injected, equal to what the model produced"
    assert rest == raw
    assert r.status_code == 200, r.text
    last = sim_stats(sim)["tenants"][KEY_A]["last_request"]
    assert [v["category"] for v in last if v["tool_calls"]] == ["exact"], last


# -- 7. more of the contract (product.md §1–§3) ----------------------------------------------

@pytest.mark.parametrize("value", [None, ""], ids=["null", "empty"])
def test_null_or_empty_reasoning_is_restored(tb, value):
    sim, prx = tb.stack()
    agent = history_of_one_turn(prx)
    agent.messages[1]["reasoning_content"] = value
    agent.messages.append({"role": "user", "content": QUESTIONS[1]})
    sim_reset(sim)
    agent.send()
    sent = json.loads(sim_last(sim))
    assert sent["messages"][1]["reasoning_content"] == agent.reasoning_by_index[1]
    only(ledger(sim), "exact", 1)


def test_reasoning_the_client_sent_is_never_replaced(tb):
    sim, prx = tb.stack()
    agent = history_of_one_turn(prx)
    agent.messages[1]["reasoning_content"] = "my own summary of what I thought"
    agent.messages.append({"role": "user", "content": QUESTIONS[1]})
    sim_reset(sim)
    restored_before = status(prx)["restore"]["restored"]
    agent.send()
    sent = json.loads(sim_last(sim))
    assert sent["messages"][1]["reasoning_content"] == "my own summary of what I thought"
    only(ledger(sim), "wrong", 1)  # the simulator knows it is not what it issued; thinkback left it alone
    assert status(prx)["restore"]["restored"] == restored_before


def test_new_ids_and_respelled_arguments_restore_by_content_key(tb):
    # A client that renumbers ids and re-serialises arguments (ASCII escapes, other spacing,
    # reversed key order): the same JSON value, so the same canonical key.
    def respell(arguments):
        value = json.loads(arguments)
        if isinstance(value, dict):
            value = dict(reversed(list(value.items())))
        return json.dumps(value, ensure_ascii=True, separators=(" , ", " : "))

    sim, prx = tb.stack()
    agent = Agent(url(prx), KEY_A, rename_id=_fresh_ids(), respell_arguments=respell)
    result = agent.run()
    assert result.ok, f"request {result.failed_at}: {result.exchanges[-1].error_body}"
    expected = tool_call_messages_sent(agent)
    only(ledger(sim), "exact", expected)
    assert status(prx)["restore"]["hits_context"] == expected   # canonical arguments: the same place


def test_restore_all_also_restores_messages_without_tool_calls(tb):
    # DeepSeek wants reasoning on every assistant message once thinking is on.
    sim, prx = tb.stack(sim_args=("--flavor", "deepseek"), proxy_args=("--restore", "all"))
    agent = Agent(url(prx), KEY_A)
    result = agent.run()
    assert result.ok, f"request {result.failed_at}: {result.exchanges[-1].error_body}"
    only(ledger(sim), "exact", tool_call_messages_sent(agent))
    plain_sent = sum(1 for ex in agent.exchanges for m in agent.messages[: ex.message_count]
                     if m["role"] == "assistant" and not m.get("tool_calls"))
    assert plain_sent == 2  # request 3 and request 4 carry the first turn's final answer
    plain = sim_stats(sim)["plain"]
    assert plain["exact"] == plain_sent and plain["missing"] == 0 and plain["placeholder"] == 0, plain


def test_without_thinking_a_miss_is_left_alone(tb):
    sim, prx = tb.stack()
    old = history_of_one_turn(prx)
    prx2 = tb.proxy(sim, "--miss", "reject")
    sim_reset(sim)
    sent = []
    client = openai.OpenAI(base_url=url(prx2), api_key=KEY_A, max_retries=0, timeout=30,
                           http_client=httpx.Client(event_hooks={"request": [lambda r: sent.append(r.content)]}))
    r = client.chat.completions.create(model=MODEL, tools=TOOLS, extra_body={"thinking": {"type": "disabled"}},
                                       messages=old.messages + [{"role": "user", "content": QUESTIONS[1]}])
    assert r.choices[0].message.role == "assistant"
    assert sim_last(sim) == sent[-1]  # no 409, no placeholder: forwarded unchanged
    assert status(prx2)["restore"]["fallbacks"]["reject"] == 0


def test_a_stream_cut_off_midway_records_nothing(tb):
    sim, prx = tb.stack()
    body = {"model": MODEL, "stream": True, "tools": TOOLS, "messages": [{"role": "user", "content": QUESTIONS[0]}]}
    headers = {"Authorization": f"Bearer {KEY_A}"}
    with pytest.raises(httpx.HTTPError):
        with httpx.stream("POST", f"{url(prx)}/chat/completions", json=body, timeout=30,
                          headers={**headers, "x-sim-drop-after": "20"}) as r:
            data = b"".join(r.iter_bytes())
            # A proxy may end the client's stream cleanly instead of resetting it.
            assert b"[DONE]" not in data
            raise httpx.ReadError("stream ended early, as it should")
    assert status(prx)["restore"]["captured"] == 0
    with httpx.stream("POST", f"{url(prx)}/chat/completions", json=body, timeout=30, headers=headers) as r:
        assert b"[DONE]" in b"".join(r.iter_bytes())
    assert status(prx)["restore"]["captured"] == 1


def test_kimi_refusing_an_empty_placeholder_sends_auto_to_textualize(tb):
    sim, prx = tb.stack(sim_args=("--flavor", "kimi"))
    old = history_of_one_turn(prx)
    prx2, agent = _continue_through_fresh_proxy(tb, sim, old, "--miss", "auto", "--placeholder", "")
    agent.send()
    assert sim_stats(sim)["verdicts"].get("refused_empty") == 1
    assert status(prx2)["restore"]["auto_retries"] == 1
    # The refused first attempt counts as a placeholder, the retry as textualized.
    led = ledger(sim, KEY_A)
    assert led["textualized"] == 1 and led["placeholder"] == 1, led
    assert led["exact"] == led["missing"] == led["wrong"] == led["foreign"] == 0, led


def test_autos_memory_is_per_model_and_expires(tb):
    import time
    sim, prx = tb.stack(sim_args=("--refuse-placeholders", "on"))
    old = history_of_one_turn(prx)
    prx2 = tb.proxy(sim, "--miss", "auto", "--placeholder-memory", "1")

    def miss_request(model):
        a = Agent(url(prx2), KEY_A, messages=old.messages, model=model)
        a.messages.append({"role": "user", "content": QUESTIONS[1]})
        a.send()
        return status(prx2)["restore"]["auto_retries"]

    assert miss_request(MODEL) == 1
    assert miss_request(MODEL) == 1            # remembered for this upstream and model
    assert miss_request("mimo-v2-pro") == 2    # another model: placeholder first again
    time.sleep(1.5)
    assert miss_request(MODEL) == 3            # the memory expired: placeholder first again


@pytest.mark.parametrize("member,value", [
    (b'"reasoning_content":null', b'null'),
    (b'"reasoning_content":""', b'""'),
    (b'"reasoning_content" :  null ', b'null'),
], ids=["null", "empty", "null-spaced"])
def test_a_null_or_empty_reasoning_value_is_replaced_in_place(tb, member, value):
    # Only the value changes; every other byte, the member's own spacing included, stays.
    sim, prx = tb.stack()
    old = history_of_one_turn(prx)
    reasoning = old.reasoning_by_index[1]
    history = json.loads(json.dumps(old.messages))
    history[1]["reasoning_content"] = "@@SLOT@@"
    history.append({"role": "user", "content": "again, 北京?"})
    raw = json.dumps({"model": MODEL, "messages": history, "tools": TOOLS, "x_extra": True}, ensure_ascii=False,
                     indent=1).encode()
    raw = raw.replace(b'"reasoning_content": "@@SLOT@@"', member)
    at = raw.index(member) + member.index(value)
    pre, post = raw[:at], raw[at + len(value):]
    r = httpx.post(f"{url(prx)}/chat/completions", content=raw, timeout=30,
                   headers={"Authorization": f"Bearer {KEY_A}", "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    received = sim_last(sim)
    assert received.startswith(pre) and received.endswith(post)
    middle = received[len(pre):len(received) - len(post)]
    assert json.loads(middle) == reasoning


def test_the_same_key_is_the_same_tenant_in_either_header(tb):
    sim, prx = tb.stack()
    old = history_of_one_turn(prx, key=KEY_A)  # Authorization: Bearer
    sim_reset(sim)
    body = {"model": MODEL, "tools": TOOLS, "messages": old.messages + [{"role": "user", "content": QUESTIONS[1]}]}
    r = httpx.post(f"{url(prx)}/chat/completions", json=body, headers={"api-key": KEY_A}, timeout=30)
    assert r.status_code == 200, r.text
    only(ledger(sim, KEY_A), "exact", 1)


def test_a_client_that_leaves_mid_stream_records_nothing(tb):
    import time
    sim, prx = tb.stack()
    body = {"model": MODEL, "stream": True, "tools": TOOLS, "messages": [{"role": "user", "content": QUESTIONS[0]}]}
    with httpx.stream("POST", f"{url(prx)}/chat/completions", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {KEY_A}", "x-sim-interval-ms": "20"}) as r:
        for i, _ in enumerate(r.iter_lines()):
            if i >= 6:
                break  # leave: closing the response drops the connection
    time.sleep(0.5)
    assert status(prx)["restore"]["captured"] == 0


def test_auto_does_not_retry_other_400s(tb):
    sim, prx = tb.stack()
    old = history_of_one_turn(prx)
    prx2, agent = _continue_through_fresh_proxy(tb, sim, old, "--miss", "auto")
    # A stray tool message: the provider's own 400 for another reason; auto must not retry it.
    agent.messages.insert(len(agent.messages) - 1, {"role": "tool", "tool_call_id": "call_ffffffffffffffffffffffff",
                                                    "content": "stray"})
    with pytest.raises(openai.BadRequestError) as raised:
        agent.send()
    assert "must be a response to a preceeding message" in raised.value.response.text
    assert status(prx2)["restore"]["auto_retries"] == 0
    assert sim_stats(sim)["chat_requests"] == 1


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_long_reasoning_is_restored_exactly(tb, stream):
    sim, prx = tb.stack()
    agent = Agent(url(prx), KEY_A, stream=stream,
                  extra_headers={"x-sim-reasoning-length": "300000", "x-sim-fragment": "1000"})
    result = agent.run()
    assert result.ok, f"request {result.failed_at}: {result.exchanges[-1].error_body[:300]}"
    assert len(agent.reasoning_by_index[1]) > 250000
    only(ledger(sim), "exact", tool_call_messages_sent(agent))


def test_a_stream_is_recorded_at_done_before_the_upstream_response_ends(tb):
    # product.md §1: at `[DONE]` the client has the whole answer; the SDK stops reading there,
    # closes the response and asks its next question at once. The upstream ending its response
    # seconds later (x-sim-hold-end-ms) must not turn that next question into a miss.
    sim, prx = tb.stack()
    agent = Agent(url(prx), KEY_A, stream=True, extra_headers={"x-sim-hold-end-ms": "5000"})
    started = time.monotonic()
    agent.ask(QUESTIONS[0])
    assert time.monotonic() - started < 4, "the client waited for the held response end"
    sent = tool_call_messages_sent(agent)
    assert sent >= 1
    only(ledger(sim), "exact", sent)
    assert status(prx)["restore"]["misses"] == 0


def test_concurrent_agents_each_get_their_own_reasoning(tb):
    from concurrent.futures import ThreadPoolExecutor
    sim, prx = tb.stack()
    agents = [Agent(url(prx), f"sk-tenant-{i}", stream=bool(i % 2), extra_headers={"x-sim-interval-ms": "1"})
              for i in range(8)]
    with ThreadPoolExecutor(len(agents)) as pool:
        results = list(pool.map(lambda a: a.run(), agents))
    for a, r in zip(agents, results):
        assert r.ok, f"request {r.failed_at}: {r.exchanges[-1].error_body}"
        only(ledger(sim, a.client.api_key), "exact", tool_call_messages_sent(a))
    assert status(prx)["restore"]["misses"] == 0


@pytest.mark.parametrize("strategy", ["reject", "strip", "textualize", "placeholder", "auto"])
def test_restore_all_a_missed_plain_message_gets_the_placeholder(tb, strategy):
    # product.md §3: with restore = all, a missed assistant message without tool calls gets the
    # placeholder — never a 400 (or 409) of our own making.
    sim, prx = tb.stack(sim_args=("--flavor", "deepseek"), proxy_args=("--restore", "all", "--miss", strategy))
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
               {"role": "user", "content": "tell me more"}]
    r = openai.OpenAI(base_url=url(prx), api_key=KEY_A, max_retries=0, timeout=30).chat.completions.create(
        model=MODEL, messages=history)
    assert r.choices[0].finish_reason == "stop"
    sent = json.loads(sim_last(sim))
    assert sent["messages"][1]["reasoning_content"] == " "
    assert sim_stats(sim)["plain"]["placeholder"] == 1


@pytest.mark.parametrize("strategy", ["strip", "textualize", "placeholder", "auto"])
def test_restore_all_every_miss_strategy_keeps_a_deepseek_request_valid(tb, strategy):
    # DeepSeek wants reasoning on every assistant message: a conversation older than the cache,
    # under each strategy that promises a valid request, must not be refused.
    sim, prx = tb.stack(sim_args=("--flavor", "deepseek"), proxy_args=("--restore", "all"))
    old = history_of_one_turn(prx)
    _, agent = _continue_through_fresh_proxy(tb, sim, old, "--restore", "all", "--miss", strategy)
    agent.send()
    assert sim_stats(sim)["verdicts"].get("refused_reasoning", 0) == 0
