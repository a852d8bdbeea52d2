"""Several upstreams at once (issue 21, docs/product.md §8): each chosen by its name as a path
prefix (or by the request's model), each with its own policy."""
import json

import httpx

from agent import QUESTIONS, Agent
from conftest import Proc


def stats(port):
    return httpx.get(f"http://127.0.0.1:{port}/sim/stats").json()


def last(port):
    return json.loads(httpx.get(f"http://127.0.0.1:{port}/sim/last").content)


def two(sim, *extra):
    a, b = sim(), sim()
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"a=http://127.0.0.1:{a}/v1",
                           "--upstream", f"b=http://127.0.0.1:{b}/v1", *extra])
    return a, b, p


def test_the_path_prefix_chooses_the_upstream(sim):
    a, b, p = two(sim)
    try:
        base = f"http://127.0.0.1:{p.port}"
        Agent(f"{base}/v1", "k-prefix").ask(QUESTIONS[0])
        through_a = stats(a)["chat_requests"]
        assert through_a >= 2 and stats(b)["chat_requests"] == 0, "no prefix: the default (the first)"
        Agent(f"{base}/b/v1", "k-prefix").ask(QUESTIONS[0])
        assert stats(b)["chat_requests"] >= 2 and stats(a)["chat_requests"] == through_a
        Agent(f"{base}/a/v1", "k-prefix").ask(QUESTIONS[1])
        assert stats(a)["chat_requests"] > through_a
        # Models, and the Anthropic route, by prefix too.
        assert httpx.get(f"{base}/b/v1/models", headers={"Authorization": "Bearer k"}).status_code == 200
        # A prefix names upstreams only: thinkback's own endpoints are not under it.
        assert httpx.get(f"{base}/b/metrics").status_code == 404
        r = httpx.post(f"{base}/nobody/v1/chat/completions", json={"model": "m", "messages": []})
        assert r.status_code == 404
        st = httpx.get(f"{base}/").json()
        assert [u["name"] for u in st["upstreams"]] == ["a", "b"], st["upstreams"]
        assert [u["default"] for u in st["upstreams"]] == [True, False]
        assert st["upstreams"][1]["base_url"] == f"http://127.0.0.1:{b}/v1"
        # Each upstream's own counts, in the status and in /metrics.
        ca, cb = st["upstreams"][0]["counts"], st["upstreams"][1]["counts"]
        assert cb["requests"] == stats(b)["chat_requests"] + 1 and cb["restored"] >= 1, cb   # + /b/v1/models
        assert ca["requests"] == stats(a)["chat_requests"] and ca["restored"] >= 1, ca
        assert ca["restored"] + cb["restored"] == st["restore"]["restored"]
        text = httpx.get(f"{base}/metrics").text
        assert f'thinkback_requests_total{{route="chat",status="200",upstream="b"}} {stats(b)["chat_requests"]}' in text, text[:2000]
        assert f'thinkback_requests_total{{route="chat",status="200",upstream="a"}} {stats(a)["chat_requests"]}' in text
        assert 'thinkback_requests_total{route="not-found",status="404",upstream="a"} 2' in text, "local routes: the default's"
        assert 'thinkback_upstream_first_byte_seconds_count{upstream="b"}' in text
        assert "thinkback_workers " in text and 'thinkback_cache_entries{store="sqlite"}' in text
        # The Anthropic route by prefix too.
        from test_workers import first_anthropic_turn
        with httpx.Client(timeout=30) as c:
            m, _ = first_anthropic_turn(c, f"{base}/b/anthropic/v1/messages", {"x-api-key": "ak-prefix"})
        assert m["type"] == "message" and last(b).get("max_tokens") == 256 and "max_tokens" not in last(a)
    finally:
        p.stop()


def test_each_upstream_has_its_own_placeholder_and_default(sim):
    """A miss through each: the placeholder of that upstream goes upstream; --default-upstream
    moves the prefix-less requests."""
    a, b, p = two(sim, "--miss", "placeholder", "--upstream-set", "b.placeholder=(not kept: b)", "--default-upstream", "b")
    fresh = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{a}/v1"])
    try:
        old = Agent(f"http://127.0.0.1:{fresh.port}/v1", "k-miss")   # built elsewhere: p never saw it
        old.ask(QUESTIONS[0])
        for prefix, port, want in (("/a", a, " "), ("", b, "(not kept: b)")):
            agent = Agent(f"http://127.0.0.1:{p.port}{prefix}/v1", "k-miss", messages=old.messages)
            agent.messages.append({"role": "user", "content": QUESTIONS[1]})
            agent.send()
            sent = last(port)
            assert sent["messages"][1]["reasoning_content"] == want, (prefix, sent["messages"][1])
    finally:
        fresh.stop()
        p.stop()


def test_a_model_pattern_chooses_the_upstream(sim):
    a, b, p = two(sim, "--upstream-set", "b.models=special-*,exact-model")
    try:
        for model, port in (("special-1", b), ("exact-model", b), ("mimo-v2.5-pro", a)):
            before = stats(port)["chat_requests"]
            r = httpx.post(f"http://127.0.0.1:{p.port}/v1/chat/completions", headers={"Authorization": "Bearer k"},
                           json={"model": model, "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
            assert r.status_code == 200, r.text
            assert stats(port)["chat_requests"] == before + 1, model
        # A prefix wins over the model.
        before = stats(a)["chat_requests"]
        r = httpx.post(f"http://127.0.0.1:{p.port}/a/v1/chat/completions", headers={"Authorization": "Bearer k"},
                       json={"model": "special-1", "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
        assert r.status_code == 200 and stats(a)["chat_requests"] == before + 1
    finally:
        p.stop()


def test_bad_upstream_options_are_refused_at_start(tmp_path):
    import os
    import subprocess
    from conftest import BIN
    for args, words in (
        (["--upstream", "v1=mimo"], "cannot name an upstream"),
        (["--upstream", "a=mimo", "--upstream", "a=kimi"], "two upstreams named 'a'"),
        (["--upstream", "a=nowhere"], "unknown preset"),
        (["--upstream", "a=mimo", "--upstream-set", "b.restore=all"], "no upstream named 'b'"),
        (["--upstream", "a=mimo", "--upstream-set", "a.colour=red"], "unknown key 'colour'"),
        (["--upstream", "a=mimo", "--default-upstream", "z"], "no upstream named 'z'"),
    ):
        r = subprocess.run([os.path.join(BIN, "thinkback"), "--listen", "127.0.0.1:0", "--state-dir", str(tmp_path), *args],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode != 0 and words in r.stderr, (args, r.returncode, r.stderr[-500:])


def test_every_answer_says_what_thinkback_did(sim):
    """The thinkback-restore header: hits, misses, the strategy, the upstream — whole answers,
    streams and thinkback's own refusals alike."""
    s = sim()
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"up=http://127.0.0.1:{s}/v1"])
    fresh = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{s}/v1"])
    try:
        url = f"http://127.0.0.1:{p.port}/v1/chat/completions"
        h = {"Authorization": "Bearer k-header"}
        first = httpx.post(url, headers=h, json={"model": "mimo-v2.5-pro", "messages": [{"role": "user", "content": "hi"}]})
        assert first.headers["thinkback-restore"] == "hits=0 misses=0 upstream=up", first.headers
        agent = Agent(f"http://127.0.0.1:{p.port}/v1", "k-header")
        agent.ask(QUESTIONS[0])
        history = [{k: v for k, v in m.items() if k != "reasoning_content"} for m in agent.messages]
        body = {"model": "mimo-v2.5-pro", "messages": history + [{"role": "user", "content": QUESTIONS[1]}]}
        r = httpx.post(url, headers=h, json=body, timeout=30)
        assert r.status_code == 200 and r.headers["thinkback-restore"] == "hits=1 misses=0 upstream=up", r.headers
        with httpx.stream("POST", url, headers=h, json={**body, "stream": True}, timeout=30) as st:
            assert st.headers["thinkback-restore"] == "hits=1 misses=0 upstream=up"
            st.read()
        # The same history through a thinkback that never saw it: a miss, placeholder then
        # (the simulator takes it), or the 409 of --miss reject.
        other = f"http://127.0.0.1:{fresh.port}/v1/chat/completions"
        r = httpx.post(other, headers=h, json=body, timeout=30)
        assert r.headers["thinkback-restore"] == "hits=0 misses=1 strategy=placeholder upstream=custom", r.headers
        # The placeholder sent is never captured as that message's reasoning: the same history
        # again misses again.
        r = httpx.post(other, headers=h, json=body, timeout=30)
        assert r.headers["thinkback-restore"] == "hits=0 misses=1 strategy=placeholder upstream=custom", r.headers
    finally:
        fresh.stop()
        p.stop()
    rej = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{s}/v1", "--miss", "reject"])
    try:
        r = httpx.post(f"http://127.0.0.1:{rej.port}/v1/chat/completions", headers=h, json=body, timeout=30)
        assert r.status_code == 409 and r.headers["thinkback-restore"] == "hits=0 misses=1 strategy=reject upstream=custom"
    finally:
        rej.stop()


def test_auto_says_it_retried(sim):
    """A simulator that refuses placeholders: auto's retry with textualize shows in the header."""
    s = sim()
    src = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{s}/v1"])
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{s}/v1"])
    try:
        agent = Agent(f"http://127.0.0.1:{src.port}/v1", "k-auto-header")
        agent.ask(QUESTIONS[0])
        history = [{k: v for k, v in m.items() if k != "reasoning_content"} for m in agent.messages]
        body = {"model": "mimo-v2.5-pro", "messages": history + [{"role": "user", "content": QUESTIONS[1]}]}
        r = httpx.post(f"http://127.0.0.1:{p.port}/v1/chat/completions",
                       headers={"Authorization": "Bearer k-auto-header", "x-sim-placeholders": "refuse"}, json=body, timeout=30)
        assert r.status_code == 200, r.text
        assert r.headers["thinkback-restore"] == "hits=0 misses=1 strategy=textualize retried=1 upstream=custom", r.headers
    finally:
        p.stop()
        src.stop()


def test_refused_restored_reasoning_is_dropped_and_auto_goes_again(sim):
    """The provider refuses reasoning thinkback restored (here: the simulator forgot what it
    issued and checks what comes back): the entries are dropped from the store, auto sends the
    request again without them, and the next request does not restore them again."""
    from test_workers import pinned
    s = sim()
    # Two workers: the capture is in worker 0's memory, the refusal comes through worker 1, and
    # worker 0 must not restore the dropped entry from its memory afterwards.
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{s}/v1", "--workers", "2"])
    try:
        w0, w1 = pinned(p.port, 0), pinned(p.port, 1)
        agent = Agent(f"http://127.0.0.1:{p.port}/v1", "k-refused", http_client=w0)
        agent.ask(QUESTIONS[0])
        history = [{k: v for k, v in m.items() if k != "reasoning_content"} for m in agent.messages]
        body = {"model": "mimo-v2.5-pro", "messages": history + [{"role": "user", "content": QUESTIONS[1]}]}
        h = {"Authorization": "Bearer k-refused", "x-sim-refuse-unissued": "on"}
        url = f"http://127.0.0.1:{p.port}/v1/chat/completions"
        # Restored exactly, accepted.
        r = w0.post(url, headers=h, json=body, timeout=30)
        assert r.status_code == 200 and r.headers["thinkback-restore"].startswith("hits=1 misses=0"), r.headers
        httpx.post(f"http://127.0.0.1:{s}/sim/reset?all=1").raise_for_status()   # the simulator forgets
        r = w1.post(url, headers=h, json=body, timeout=30)
        assert r.status_code == 200, r.text
        assert r.headers["thinkback-restore"] == "hits=0 misses=1 strategy=textualize retried=1 upstream=custom", r.headers
        st = httpx.get(f"http://127.0.0.1:{p.port}/").json()["restore"]
        assert st["refused_dropped"] == 1 and st["auto_retries"] == 1, st
        # Dropped, from worker 0's memory too: the next request misses (a placeholder, which
        # the simulator takes).
        r = w0.post(url, headers=h, json=body, timeout=30)
        assert r.status_code == 200 and r.headers["thinkback-restore"].startswith("hits=0 misses=1 strategy=placeholder"), r.headers
        metrics = httpx.get(f"http://127.0.0.1:{p.port}/metrics").text
        assert 'thinkback_restore_refused_dropped_total{upstream="custom"} 1' in metrics
    finally:
        p.stop()


def test_refused_restored_thinking_blocks_are_dropped_too(sim):
    """The same on the Anthropic route, where the refusal is the signature's."""
    from test_workers import first_anthropic_turn
    s = sim()
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{s}/v1"])
    try:
        base = f"http://127.0.0.1:{p.port}/anthropic/v1/messages"
        h = {"x-api-key": "ak-refused"}
        with httpx.Client(timeout=30) as c:
            _, follow = first_anthropic_turn(c, base, h)
        httpx.post(f"http://127.0.0.1:{s}/sim/reset?all=1").raise_for_status()
        r = httpx.post(base, headers={**h, "x-sim-refuse-unissued": "on"}, json=follow, timeout=30)
        assert r.status_code == 200, r.text
        assert "retried=1" in r.headers["thinkback-restore"], r.headers
        assert httpx.get(f"http://127.0.0.1:{p.port}/").json()["restore"]["refused_dropped"] == 1
    finally:
        p.stop()


def test_request_hygiene_where_the_upstream_needs_it(sim):
    """MiMo's content: null and list-typed tool content, DeepSeek's forced tool_choice, a client's
    model prefix: each fixed only where the upstream needs it, counted, and told in the header."""
    s = sim()
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"strict=http://127.0.0.1:{s}/v1",
                           "--upstream", f"lax=http://127.0.0.1:{s}/v1",
                           "--upstream-set", "strict.hygiene=content-null,tool-content-list,tool-choice",
                           "--miss", "passthrough"])
    try:
        tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]
        messy = {"model": "mimo-v2.5-pro", "tools": tools, "thinking": {"type": "disabled"}, "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "sunny, "}, {"type": "text", "text": "21 C"}]},
        ]}
        h = {"Authorization": "Bearer k-hygiene"}
        # MiMo (the simulator's default rules) refuses both where nothing fixes them.
        lax = httpx.post(f"http://127.0.0.1:{p.port}/lax/v1/chat/completions", headers=h, json=messy, timeout=30)
        assert lax.status_code == 400 and "fixed=" not in lax.headers["thinkback-restore"], lax.text
        r = httpx.post(f"http://127.0.0.1:{p.port}/strict/v1/chat/completions", headers=h, json=messy, timeout=30)
        assert r.status_code == 200, r.text
        assert r.headers["thinkback-restore"].endswith("fixed=2 upstream=strict"), r.headers
        sent = last(s)
        assert sent["messages"][1]["content"] == "" and sent["messages"][1]["tool_calls"][0]["id"] == "call_1"
        assert sent["messages"][2]["content"] == "sunny, 21 C"
        # An assistant message without any content member gets one too.
        absent = json.loads(json.dumps(messy))
        del absent["messages"][1]["content"]
        absent["messages"][2]["content"] = "sunny"
        r = httpx.post(f"http://127.0.0.1:{p.port}/strict/v1/chat/completions", headers=h, json=absent, timeout=30)
        assert r.status_code == 200 and last(s)["messages"][1]["content"] == "", r.text
        # DeepSeek in thinking mode refuses a forced tool_choice: "auto" goes instead.
        forced = {"model": "deepseek-v4-pro", "tools": tools, "tool_choice": "required",
                  "messages": [{"role": "user", "content": "weather?"}]}
        hd = {**h, "x-sim-flavor": "deepseek"}
        assert httpx.post(f"http://127.0.0.1:{p.port}/lax/v1/chat/completions", headers=hd, json=forced, timeout=30).status_code == 400
        r = httpx.post(f"http://127.0.0.1:{p.port}/strict/v1/chat/completions", headers=hd, json=forced, timeout=30)
        assert r.status_code == 200 and last(s)["tool_choice"] == "auto", r.text
        named = {**forced, "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}
        r = httpx.post(f"http://127.0.0.1:{p.port}/strict/v1/chat/completions", headers=hd, json=named, timeout=30)
        assert r.status_code == 200 and last(s)["tool_choice"] == "auto", r.text
        # Thinking off: a forced tool_choice is fine and stays.
        r = httpx.post(f"http://127.0.0.1:{p.port}/strict/v1/chat/completions", headers=hd,
                       json={**forced, "thinking": {"type": "disabled"}}, timeout=30)
        assert r.status_code == 200 and last(s)["tool_choice"] == "required", r.text
        # A client's routing prefix on the model, on any upstream.
        r = httpx.post(f"http://127.0.0.1:{p.port}/lax/v1/chat/completions", headers=h, timeout=30,
                       json={"model": "custom_openai_compatible//mimo-v2.5-pro", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200 and last(s)["model"] == "mimo-v2.5-pro", r.text
        assert "fixed=1" in r.headers["thinkback-restore"]
        fixes = httpx.get(f"http://127.0.0.1:{p.port}/").json()["restore"]["fixes"]
        assert fixes == {"content-null": 2, "tool-content-list": 1, "tool-choice": 2, "model-prefix": 1}, fixes
        metrics = httpx.get(f"http://127.0.0.1:{p.port}/metrics").text
        assert 'thinkback_request_fixes_total{fix="tool-choice",upstream=' in metrics
    finally:
        p.stop()


def test_deepseek_wants_every_assistant_message_so_its_upstream_restores_all(sim):
    """The simulator in DeepSeek's mode refuses a history whose plain assistant answer lacks its
    reasoning: an upstream with restore = all (DeepSeek's preset) restores it; one with
    tool-calls leaves it bare and is refused."""
    s = sim()
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"ds=http://127.0.0.1:{s}/v1",
                           "--upstream", f"narrow=http://127.0.0.1:{s}/v1", "--upstream-set", "ds.restore=all",
                           "--upstream-set", "narrow.restore=tool-calls", "--miss", "passthrough"])
    try:
        hd = {"x-sim-flavor": "deepseek"}
        for prefix, ok in (("/ds", True), ("/narrow", False)):
            agent = Agent(f"http://127.0.0.1:{p.port}{prefix}/v1", f"k-ds{prefix[1:]}", model="deepseek-v4-pro", extra_headers=hd)
            agent.ask(QUESTIONS[0])   # tool calls, results, a plain final answer: all with reasoning, dropped by the client
            plain = [m for m in agent.messages if m["role"] == "assistant" and not m.get("tool_calls")]
            assert plain, agent.messages
            history = [{k: v for k, v in m.items() if k != "reasoning_content"} for m in agent.messages]
            body = {"model": "deepseek-v4-pro", "messages": history + [{"role": "user", "content": QUESTIONS[1]}]}
            r = httpx.post(f"http://127.0.0.1:{p.port}{prefix}/v1/chat/completions",
                           headers={"Authorization": f"Bearer k-ds{prefix[1:]}", **hd}, json=body, timeout=30)
            if ok:
                assert r.status_code == 200, r.text
                sent = last(s)
                assert all(m.get("reasoning_content") for m in sent["messages"] if m["role"] == "assistant"), sent["messages"]
            else:
                assert r.status_code == 400 and "reasoning_content" in r.text, r.text
    finally:
        p.stop()


def test_kimi_refuses_an_empty_placeholder_so_its_upstream_has_its_own(sim):
    """The simulator in Kimi's mode refuses "" as reasoning and takes " ": a global empty
    placeholder is refused, the upstream's own " " passes."""
    s = sim()
    src = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{s}/v1"])
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"other=http://127.0.0.1:{s}/v1",
                           "--upstream", f"kimi=http://127.0.0.1:{s}/v1", "--upstream-set", "kimi.placeholder= ",
                           "--placeholder", "", "--miss", "placeholder"])
    try:
        hk = {"x-sim-flavor": "kimi"}
        old = Agent(f"http://127.0.0.1:{src.port}/v1", "k-kimi", model="kimi-k2.6", extra_headers=hk)
        old.ask(QUESTIONS[0])
        history = [{k: v for k, v in m.items() if k != "reasoning_content"} for m in old.messages]
        body = {"model": "kimi-k2.6", "messages": history + [{"role": "user", "content": QUESTIONS[1]}]}
        h = {"Authorization": "Bearer k-kimi", **hk}
        r = httpx.post(f"http://127.0.0.1:{p.port}/other/v1/chat/completions", headers=h, json=body, timeout=30)
        assert r.status_code == 400 and "reasoning_content is missing" in r.text, r.text
        r = httpx.post(f"http://127.0.0.1:{p.port}/kimi/v1/chat/completions", headers=h, json=body, timeout=30)
        assert r.status_code == 200, r.text
        assert last(s)["messages"][1]["reasoning_content"] == " "
    finally:
        p.stop()
        src.stop()


def test_a_tool_call_leaked_into_the_reasoning_is_rescued_and_the_agent_goes_on(sim):
    """§9 through the OpenAI SDK: the simulator writes its tool calls into the reasoning (both
    templates); thinkback makes them real, the agent runs its tools and goes on, and the next
    turn restores the reasoning of the rescued call."""
    s = sim()
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"mimo=http://127.0.0.1:{s}/v1",
                           "--upstream-set", "mimo.rescue=on"])
    try:
        for form in ("xml", "json"):
            agent = Agent(f"http://127.0.0.1:{p.port}/v1", f"k-rescue-{form}", extra_headers={"x-sim-leak-tool-calls": form})
            answer = agent.ask(QUESTIONS[0])
            assert answer, agent.messages
            calls = [m for m in agent.messages if m["role"] == "assistant" and m.get("tool_calls")]
            assert calls, "the agent saw real tool calls"
            assert calls[0]["tool_calls"][0]["id"].startswith("call_")
            assert any(m["role"] == "tool" for m in agent.messages), "and ran its tools"
            # The turn after the rescued call carried its reasoning back (restored by thinkback).
            sent = last(s)
            restored = [m for m in sent["messages"] if m["role"] == "assistant" and m.get("tool_calls")]
            assert restored and "<tool_call>" in restored[0].get("reasoning_content", ""), restored
        st = httpx.get(f"http://127.0.0.1:{p.port}/").json()
        assert st["restore"]["rescued"] >= 2, st["restore"]
        assert st["upstreams"][0]["rescue"] is True
        # The header says so on the rescued answer.
        tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]
        r = httpx.post(f"http://127.0.0.1:{p.port}/v1/chat/completions", timeout=30,
                       headers={"Authorization": "Bearer k-rescue-h", "x-sim-leak-tool-calls": "xml"},
                       json={"model": "mimo-v2.5-pro", "tools": tools, "messages": [{"role": "user", "content": QUESTIONS[0]}]})
        assert r.status_code == 200 and "rescued=" in r.headers["thinkback-restore"], (r.headers, r.text[:500])
        assert r.json()["choices"][0]["finish_reason"] == "tool_calls"
        # x-sim-leak-share: 0 — the simulator leaks nothing: its own tool call, untouched.
        r = httpx.post(f"http://127.0.0.1:{p.port}/v1/chat/completions", timeout=30,
                       headers={"Authorization": "Bearer k-rescue-h", "x-sim-leak-tool-calls": "xml", "x-sim-leak-share": "0"},
                       json={"model": "mimo-v2.5-pro", "tools": tools, "messages": [{"role": "user", "content": QUESTIONS[0]}]})
        assert r.json()["choices"][0]["finish_reason"] == "tool_calls" and "rescued" not in r.headers["thinkback-restore"]
        # No tools offered: nothing rescued.
        r = httpx.post(f"http://127.0.0.1:{p.port}/v1/chat/completions", timeout=30,
                       headers={"Authorization": "Bearer k-rescue-h", "x-sim-leak-tool-calls": "xml"},
                       json={"model": "mimo-v2.5-pro", "messages": [{"role": "user", "content": QUESTIONS[0]}]})
        assert r.status_code == 200 and "rescued" not in r.headers["thinkback-restore"]
    finally:
        p.stop()
    # Rescue off: the leaked call stays in the reasoning.
    q = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{s}/v1"])
    try:
        r = httpx.post(f"http://127.0.0.1:{q.port}/v1/chat/completions", timeout=30,
                       headers={"Authorization": "Bearer k-rescue-off", "x-sim-leak-tool-calls": "xml"},
                       json={"model": "mimo-v2.5-pro", "tools": tools, "messages": [{"role": "user", "content": QUESTIONS[0]}]})
        body = r.json()
        assert body["choices"][0]["finish_reason"] == "stop" and not body["choices"][0]["message"].get("tool_calls")
        assert "<tool_call>" in body["choices"][0]["message"]["reasoning_content"]
    finally:
        q.stop()


def test_a_streamed_answer_gets_its_leaked_call_before_done(sim):
    """§9 on a stream: every event passes as it comes; at the end, before [DONE], the rescued
    call's delta and a finish_reason "tool_calls" chunk; the streaming agent goes on."""
    s = sim()
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"mimo=http://127.0.0.1:{s}/v1",
                           "--upstream-set", "mimo.rescue=on"])
    try:
        agent = Agent(f"http://127.0.0.1:{p.port}/v1", "k-rescue-stream", stream=True,
                      extra_headers={"x-sim-leak-tool-calls": "xml"})
        assert agent.ask(QUESTIONS[0])
        assert any(m["role"] == "tool" for m in agent.messages), "the agent ran the rescued call"
        restored = [m for m in last(s)["messages"] if m["role"] == "assistant" and m.get("tool_calls")]
        assert restored and "<tool_call>" in restored[0].get("reasoning_content", ""), restored
        # The raw stream: the upstream's events first, then ours, then [DONE].
        tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]
        with httpx.stream("POST", f"http://127.0.0.1:{p.port}/v1/chat/completions", timeout=30,
                          headers={"Authorization": "Bearer k-rescue-raw", "x-sim-leak-tool-calls": "json"},
                          json={"model": "mimo-v2.5-pro", "stream": True, "tools": tools,
                                "messages": [{"role": "user", "content": QUESTIONS[0]}]}) as r:
            events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        chunks = [json.loads(e) for e in events[:-1]]
        finishes = [c["choices"][0].get("finish_reason") for c in chunks if c.get("choices")]
        assert finishes[-1] == "tool_calls" and "stop" in finishes, finishes
        calls = [tc for c in chunks if c.get("choices") for tc in (c["choices"][0].get("delta", {}).get("tool_calls") or [])]
        assert calls and calls[0]["id"].startswith("call_") and calls[0]["function"]["name"], calls
        json.loads(calls[0]["function"]["arguments"])
    finally:
        p.stop()
