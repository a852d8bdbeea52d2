"""Proxy keys for shared deployments (issue 20): clients authenticate with keys thinkback
issues, thinkback calls the provider with the key it holds, the tenant is the proxy key."""
import os
import stat
import subprocess
import threading
import time

import httpx

from conftest import BIN, Proc

PROVIDER_KEY = "sk-provider-held-by-thinkback"


def keys(state, *args):
    r = subprocess.run([os.path.join(BIN, "thinkback"), "keys", *args, "--state-dir", state],
                       capture_output=True, text=True, timeout=30)
    return r


def start(sim_port, state, *extra):
    return Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1",
                              "--state-dir", state, "--proxy-keys", "on", "--retries", "0", *extra],
                env={"THINKBACK_PROVIDER_KEY": PROVIDER_KEY})


def test_keys_are_issued_once_and_stored_hashed(tmp_path):
    state = str(tmp_path / "state")
    a = keys(state, "add", "alice")
    assert a.returncode == 0, a.stderr
    key = a.stdout.strip()
    assert key.startswith("tbk_") and len(key) == 68
    path = os.path.join(state, "proxy-keys")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert key not in open(path).read() and "alice " in open(path).read()
    assert keys(state, "add", "alice").returncode != 0, "a name is used once"
    assert keys(state, "add", "bad name").returncode != 0
    keys(state, "add", "bob")
    assert keys(state, "list").stdout.split() == ["alice", "bob"]
    assert keys(state, "remove", "alice").returncode == 0
    assert keys(state, "list").stdout.split() == ["bob"]
    assert keys(state, "remove", "alice").returncode != 0


def test_without_a_provider_key_it_refuses_to_start(tmp_path, sim):
    port = sim()
    r = subprocess.run([os.path.join(BIN, "thinkback"), "--listen", "127.0.0.1:0", "--upstream",
                        f"http://127.0.0.1:{port}/v1", "--state-dir", str(tmp_path), "--proxy-keys", "on"],
                       capture_output=True, text=True, timeout=30, env={k: v for k, v in os.environ.items() if k != "THINKBACK_PROVIDER_KEY"})
    assert r.returncode == 64 and "THINKBACK_PROVIDER_KEY" in r.stderr


def test_clients_use_their_key_the_provider_gets_thinkbacks(tmp_path, sim):
    sim_port = sim()
    state = str(tmp_path / "state")
    alice = keys(state, "add", "alice").stdout.strip()
    p = start(sim_port, state)
    try:
        base = f"http://127.0.0.1:{p.port}"
        # No key, a wrong key, a provider key: 401 in the route's shape.
        assert httpx.get(f"{base}/v1/echo/x", timeout=10).status_code == 401
        r = httpx.get(f"{base}/v1/echo/x", headers={"Authorization": "Bearer tbk_wrong"}, timeout=10)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_proxy_key"
        r = httpx.post(f"{base}/anthropic/v1/messages", headers={"x-api-key": PROVIDER_KEY}, json={}, timeout=10)
        assert r.status_code == 401 and r.json()["type"] == "error"
        # Alice's key, as a bearer, api-key or x-api-key: the provider sees only its own key.
        for header in ({"Authorization": f"Bearer {alice}"}, {"api-key": alice}, {"x-api-key": alice}):
            r = httpx.get(f"{base}/v1/echo/x", headers=header, timeout=10)
            assert r.status_code == 200, r.text
            sent = {k.lower(): v for k, v in r.json()["headers"]}
            assert sent.get("authorization") == f"Bearer {PROVIDER_KEY}"
            assert alice not in str(sent)
        r = httpx.get(f"{base}/anthropic/v1/echo/y", headers={"x-api-key": alice}, timeout=10)
        sent = {k.lower(): v for k, v in r.json()["headers"]}
        assert sent.get("x-api-key") == PROVIDER_KEY and "authorization" not in sent
        # A key added while it runs works at once.
        bob = keys(state, "add", "bob").stdout.strip()
        assert httpx.get(f"{base}/v1/echo/x", headers={"Authorization": f"Bearer {bob}"}, timeout=10).status_code == 200
    finally:
        p.stop()
    log = open(p.log_path).read()
    assert alice not in log and PROVIDER_KEY not in log


def test_the_tenant_is_the_proxy_key(tmp_path, sim):
    sim_port = sim()
    state = str(tmp_path / "state")
    alice, bob = keys(state, "add", "alice").stdout.strip(), keys(state, "add", "bob").stdout.strip()
    p = start(sim_port, state)
    try:
        base = f"http://127.0.0.1:{p.port}/v1/chat/completions"
        tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
        q = [{"role": "user", "content": "weather in Beijing?"}]
        r = httpx.post(base, headers={"Authorization": f"Bearer {alice}"}, timeout=30,
                       json={"model": "mimo-v2.5-pro", "messages": q, "tools": tools})
        m = r.json()["choices"][0]["message"]
        assert m.get("tool_calls"), m
        history = q + [{"role": "assistant", "content": m.get("content") or "", "tool_calls": m["tool_calls"]}] + [
            {"role": "tool", "tool_call_id": c["id"], "content": "sunny"} for c in m["tool_calls"]]
        status = lambda: httpx.get(f"http://127.0.0.1:{p.port}/", timeout=5).json()["restore"]
        # Bob sends Alice's history: nothing of hers comes back (the provider still accepts a placeholder).
        httpx.post(base, headers={"Authorization": f"Bearer {bob}"}, timeout=30, json={"model": "mimo-v2.5-pro", "messages": history, "tools": tools})
        assert status()["restored"] == 0 and status()["misses"] == 1
        r = httpx.post(base, headers={"Authorization": f"Bearer {alice}"}, timeout=30, json={"model": "mimo-v2.5-pro", "messages": history, "tools": tools})
        assert r.status_code == 200 and status()["restored"] == 1
    finally:
        p.stop()


def test_a_key_over_its_concurrency_gets_429(tmp_path, sim):
    sim_port = sim()
    state = str(tmp_path / "state")
    alice, bob = keys(state, "add", "alice").stdout.strip(), keys(state, "add", "bob").stdout.strip()
    p = start(sim_port, state, "--proxy-key-concurrency", "1")
    try:
        base = f"http://127.0.0.1:{p.port}/v1/echo/slow?pieces=4&interval_ms=400"
        results = {}

        def slow():
            results["slow"] = httpx.get(base, headers={"Authorization": f"Bearer {alice}"}, timeout=30).status_code
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.4)
        r = httpx.get(f"http://127.0.0.1:{p.port}/v1/echo/x", headers={"Authorization": f"Bearer {alice}"}, timeout=10)
        assert r.status_code == 429 and r.headers["retry-after"] == "1" and r.json()["error"]["code"] == "proxy_key_busy"
        r = httpx.get(f"http://127.0.0.1:{p.port}/v1/echo/x", headers={"Authorization": f"Bearer {bob}"}, timeout=10)
        assert r.status_code == 200, "another key is not held up"
        t.join()
        assert results["slow"] == 200
        r = httpx.get(f"http://127.0.0.1:{p.port}/v1/echo/x", headers={"Authorization": f"Bearer {alice}"}, timeout=10)
        assert r.status_code == 200, "the slot is free again once the request ended"
    finally:
        p.stop()
