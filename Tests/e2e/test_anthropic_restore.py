"""Thinking restored on the Anthropic Messages API (issue 19), with the Anthropic Python SDK as
a real client, through the real thinkback, to the simulator's strict Anthropic route. The
simulator refuses any assistant turn with tool_use whose thinking is missing and classifies
every turn it receives in its fidelity ledger (`exact` only when the thinking is the one it
issued, for that tenant)."""
import json

import anthropic
import httpx
import pytest

from anthropic_agent import MODEL, QUESTIONS, TOOLS, request_blocks
from anthropic_agent import converse as agent_converse


def client(port, key):
    return anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}/anthropic", api_key=key, max_retries=0, timeout=30)


def converse(port, key, **kwargs):
    return agent_converse(f"http://127.0.0.1:{port}/anthropic", key, **kwargs)


def ledger(sim, tenant):
    s = httpx.get(f"http://127.0.0.1:{sim}/sim/stats").json()
    return s["tenants"].get(tenant, {}).get("ledger", {})


def status(port):
    return httpx.get(f"http://127.0.0.1:{port}/").json()


@pytest.mark.parametrize("stream", [False, True])
def test_a_client_that_drops_thinking_gets_every_block_back_exactly(stack, stream):
    sim, proxy = stack(proxy_args=("--retries", "0"))
    messages, turns = converse(proxy, "ak-drop", stream=stream)
    assert turns >= 4
    led = ledger(sim, "ak-drop")
    assert led.get("exact", 0) == turns, led
    assert all(led.get(k, 0) == 0 for k in ("placeholder", "foreign", "wrong", "missing")), led
    st = status(proxy)["restore"]
    assert st["restored"] == turns and st["misses"] == 0, st


@pytest.mark.parametrize("order", ["thinking-first", "text-first"])
def test_block_order_and_bytes_are_the_providers(stack, order):
    """Cloudsway writes text first and thinking last, signature before thinking: the restored
    request carries the thinking block where the provider had it, its bytes unchanged."""
    sim, proxy = stack(proxy_args=("--retries", "0"))
    c = client(proxy, "ak-order")
    h = {"x-sim-block-order": order}
    first = httpx.post(f"http://127.0.0.1:{proxy}/anthropic/v1/messages", headers={"x-api-key": "ak-order", **h},
                       json={"model": MODEL, "max_tokens": 256, "tools": TOOLS,
                             "messages": [{"role": "user", "content": QUESTIONS[0]}]}, timeout=30)
    assert first.status_code == 200
    answer = first.json()
    raw = first.content.decode()
    thinking_raw = [b for b in answer["content"] if b["type"] == "thinking"]
    assert thinking_raw, answer
    uses = [b for b in answer["content"] if b["type"] == "tool_use"]
    dropped = [b for b in answer["content"] if b["type"] != "thinking"]
    follow = {"model": MODEL, "max_tokens": 256, "tools": TOOLS, "messages": [
        {"role": "user", "content": QUESTIONS[0]},
        {"role": "assistant", "content": dropped},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": u["id"], "content": "ok"} for u in uses]}]}
    second = httpx.post(f"http://127.0.0.1:{proxy}/anthropic/v1/messages", headers={"x-api-key": "ak-order", **h},
                        json=follow, timeout=30)
    assert second.status_code == 200, second.text
    sent = httpx.get(f"http://127.0.0.1:{sim}/sim/last").content.decode()
    assistant = json.loads(sent)["messages"][1]["content"]
    assert [b["type"] for b in assistant] == [b["type"] for b in answer["content"]]
    # The block's bytes, as the provider wrote them, are in what went upstream.
    start = raw.index('{"type":"thinking"') if order == "thinking-first" else raw.index('{"type":"thinking","signature"')
    block = raw[start: raw.index("}", start) + 1]
    assert block in sent
    assert ledger(sim, "ak-order").get("exact") == 1


def test_a_client_that_keeps_its_thinking_is_left_alone(stack):
    sim, proxy = stack(proxy_args=("--retries", "0"))
    messages, turns = converse(proxy, "ak-keep", keep_thinking=True)
    assert turns >= 4
    assert ledger(sim, "ak-keep").get("exact") == turns
    st = status(proxy)["restore"]
    assert st["restored"] == 0 and st["misses"] == 0, st
    # Never doubled: the last request upstream has one thinking block per assistant turn.
    sent = json.loads(httpx.get(f"http://127.0.0.1:{sim}/sim/last").content)
    for m in sent["messages"]:
        if m["role"] == "assistant":
            assert sum(1 for b in m["content"] if b["type"] == "thinking") == 1


def test_tenants_by_x_api_key_never_share_thinking(stack, proxy):
    sim, p1 = stack(proxy_args=("--retries", "0"))
    messages, turns = converse(p1, "ak-alice", questions=QUESTIONS[:1])
    assert turns >= 1
    # Bob replays Alice's history through the same proxy: nothing of hers comes back.
    r = httpx.post(f"http://127.0.0.1:{p1}/anthropic/v1/messages", headers={"x-api-key": "ak-bob"},
                   json={"model": MODEL, "max_tokens": 256, "tools": TOOLS, "messages": messages + [
                       {"role": "user", "content": "thanks"}]}, timeout=30)
    assert r.status_code == 200, r.text   # placeholders (auto) keep it valid
    led = ledger(sim, "ak-bob")
    assert led.get("exact", 0) == 0 and led.get("foreign", 0) == 0, led
    assert led.get("placeholder", 0) >= 1, led


@pytest.mark.parametrize("strategy", ["placeholder", "textualize", "strip"])
def test_an_uncached_history_stays_valid_under_each_strategy(stack, proxy, strategy):
    sim, warm = stack(proxy_args=("--retries", "0"))
    messages, _ = converse(warm, "ak-cold", questions=QUESTIONS[:1])
    cold = proxy(sim, "--retries", "0", "--miss", strategy)
    r = httpx.post(f"http://127.0.0.1:{cold}/anthropic/v1/messages", headers={"x-api-key": "ak-cold"},
                   json={"model": MODEL, "max_tokens": 256, "tools": TOOLS, "messages": messages + [
                       {"role": "user", "content": "and tomorrow?"}]}, timeout=30)
    assert r.status_code == 200, r.text
    sent = json.loads(httpx.get(f"http://127.0.0.1:{sim}/sim/last").content)
    uses = {b["id"] for m in sent["messages"] if m["role"] == "assistant" and isinstance(m["content"], list)
            for b in m["content"] if b["type"] == "tool_use"}
    results = {b["tool_use_id"] for m in sent["messages"] if m["role"] == "user" and isinstance(m["content"], list)
               for b in m["content"] if b["type"] == "tool_result"}
    assert results <= uses, "no tool_result without its tool_use"
    if strategy == "placeholder":
        assert ledger(sim, "ak-cold").get("placeholder", 0) >= 1
    else:
        assert not uses, sent
        if strategy == "textualize":
            assert "[tool call] " in json.dumps(sent) and "[tool result " in json.dumps(sent), json.dumps(sent)[-1500:]


def test_reject_answers_409_in_anthropic_shape(stack, proxy):
    sim, warm = stack(proxy_args=("--retries", "0"))
    messages, _ = converse(warm, "ak-rej", questions=QUESTIONS[:1])
    cold = proxy(sim, "--retries", "0", "--miss", "reject")
    r = httpx.post(f"http://127.0.0.1:{cold}/anthropic/v1/messages", headers={"x-api-key": "ak-rej"},
                   json={"model": MODEL, "max_tokens": 256, "tools": TOOLS, "messages": messages}, timeout=30)
    assert r.status_code == 409
    body = r.json()
    assert body["type"] == "error" and "messages[1]" in body["error"]["message"], body


def test_auto_falls_back_to_textualize_when_placeholders_are_refused(stack, proxy):
    sim, warm = stack(proxy_args=("--retries", "0"))
    messages, _ = converse(warm, "ak-auto", questions=QUESTIONS[:1])
    cold = proxy(sim, "--retries", "0")
    for stream in (False, True):
        r = httpx.post(f"http://127.0.0.1:{cold}/anthropic/v1/messages",
                       headers={"x-api-key": "ak-auto", "x-sim-placeholders": "refuse"},
                       json={"model": MODEL, "max_tokens": 256, "tools": TOOLS, "stream": stream,
                             "messages": messages + [{"role": "user", "content": "more"}]}, timeout=30)
        assert r.status_code == 200, r.text
    assert status(cold)["restore"]["auto_retries"] >= 1


LAYOUTS = {
    "interleaved": {"x-sim-interleaved": "on", "x-sim-tool-calls": "2"},
    "redacted": {"x-sim-redacted": "on"},
    "omitted": {"x-sim-thinking-display": "omitted"},
    "deepseek-signed": {"x-sim-flavor": "deepseek", "x-sim-interleaved": "on", "x-sim-tool-calls": "2"},
    "text-first": {"x-sim-block-order": "text-first", "x-sim-redacted": "on"},
}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_comes_back_exactly(stack, layout, stream):
    """Interleaved thinking, redacted blocks, omitted display, signed blocks, Cloudsway's order:
    the simulator's ledger counts a turn `exact` only when every block's text, signature,
    position and order are the ones it issued."""
    sim, proxy = stack(proxy_args=("--retries", "0"))
    key = f"ak-{layout}-{stream}"
    messages, turns = converse(proxy, key, stream=stream, headers=LAYOUTS[layout])
    assert turns >= 4
    led = ledger(sim, key)
    assert led.get("exact", 0) == turns, led
    if layout in ("interleaved", "deepseek-signed"):
        sent = json.loads(httpx.get(f"http://127.0.0.1:{sim}/sim/last").content)
        kinds = [b["type"] for m in sent["messages"] if m["role"] == "assistant" for b in m["content"]]
        assert kinds.count("thinking") > sum(1 for m in sent["messages"] if m["role"] == "assistant"), kinds


def test_the_ledger_tells_a_moved_block_from_an_exact_one(stack):
    """The simulator's strictness, which the tests above rely on: the same thinking block at
    another place is not exact."""
    sim, proxy = stack(proxy_args=("--retries", "0"))
    c = client(proxy, "ak-moved")
    m = c.messages.create(model=MODEL, max_tokens=256, tools=TOOLS, messages=[{"role": "user", "content": QUESTIONS[0]}])
    kept = request_blocks(m, keep_thinking=True)
    moved = [b for b in kept if b["type"] != "thinking"] + [b for b in kept if b["type"] == "thinking"]
    assert [b["type"] for b in moved] != [b["type"] for b in kept]
    uses = [b for b in kept if b["type"] == "tool_use"]
    follow = [{"role": "user", "content": QUESTIONS[0]}, {"role": "assistant", "content": moved},
              {"role": "user", "content": [{"type": "tool_result", "tool_use_id": u["id"], "content": "ok"} for u in uses]}]
    httpx.post(f"http://127.0.0.1:{sim}/anthropic/v1/messages", headers={"x-api-key": "ak-moved"},
               json={"model": MODEL, "max_tokens": 256, "tools": TOOLS, "messages": follow}, timeout=30)
    led = ledger(sim, "ak-moved")
    assert led.get("wrong", 0) == 1 and led.get("exact", 0) == 0, led


def test_thinking_disabled_in_the_request_leaves_a_miss_alone(stack, proxy):
    sim, warm = stack(proxy_args=("--retries", "0"))
    messages, _ = converse(warm, "ak-off", questions=QUESTIONS[:1])
    cold = proxy(sim, "--retries", "0", "--miss", "reject")
    body = {"model": MODEL, "max_tokens": 256, "tools": TOOLS, "messages": messages + [{"role": "user", "content": "ok"}]}
    r = httpx.post(f"http://127.0.0.1:{cold}/anthropic/v1/messages", headers={"x-api-key": "ak-off"},
                   json={**body, "thinking": {"type": "disabled"}}, timeout=30)
    assert r.status_code == 200, r.text
    for thinking in ({"type": "enabled", "budget_tokens": 1024}, {"type": "adaptive"}):
        r = httpx.post(f"http://127.0.0.1:{cold}/anthropic/v1/messages", headers={"x-api-key": "ak-off"},
                       json={**body, "thinking": thinking}, timeout=30)
        assert r.status_code == 409, (thinking, r.text)


def test_a_signature_never_crosses_to_another_upstream(sim, proxy, tmp_path):
    """Two thinkbacks share one SQLite store, each in front of its own upstream: a conversation
    captured through the first (DeepSeek-style signed thinking) and continued through the
    second reaches the second upstream with the thinking text but not the first one's
    signature."""
    first_sim, second_sim = sim("--flavor", "deepseek"), sim()
    state = str(tmp_path / "shared-state")
    a = proxy(first_sim, "--retries", "0", "--state-dir", state)
    b = proxy(second_sim, "--retries", "0", "--state-dir", state)
    c = client(a, "ak-move")
    m = c.messages.create(model=MODEL, max_tokens=256, tools=TOOLS, messages=[{"role": "user", "content": QUESTIONS[0]}])
    signatures = [blk.signature for blk in m.content if blk.type == "thinking"]
    assert signatures and all(signatures), "the first upstream signs its thinking"
    uses = [blk for blk in m.content if blk.type == "tool_use"]
    follow = [{"role": "user", "content": QUESTIONS[0]},
              {"role": "assistant", "content": request_blocks(m, keep_thinking=False)},
              {"role": "user", "content": [{"type": "tool_result", "tool_use_id": u.id, "content": "ok"} for u in uses]}]
    r = httpx.post(f"http://127.0.0.1:{b}/anthropic/v1/messages", headers={"x-api-key": "ak-move"},
                   json={"model": MODEL, "max_tokens": 256, "tools": TOOLS, "messages": follow}, timeout=30)
    assert r.status_code == 200, r.text
    sent = httpx.get(f"http://127.0.0.1:{second_sim}/sim/last").content.decode()
    thinking = [blk for blk in json.loads(sent)["messages"][1]["content"] if blk["type"] == "thinking"]
    assert [t["thinking"] for t in thinking] == [blk.thinking for blk in m.content if blk.type == "thinking"]
    assert all(t["signature"] == "" for t in thinking), thinking
    assert not any(s in sent for s in signatures)
    # Through the first upstream the same history gets its signed blocks back.
    r = httpx.post(f"http://127.0.0.1:{a}/anthropic/v1/messages", headers={"x-api-key": "ak-move"},
                   json={"model": MODEL, "max_tokens": 256, "tools": TOOLS, "messages": follow}, timeout=30)
    assert r.status_code == 200, r.text
    assert all(s in httpx.get(f"http://127.0.0.1:{first_sim}/sim/last").content.decode() for s in signatures)
