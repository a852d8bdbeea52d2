"""POST /admin/cache/clear (issue 20): a client clears its own tenant's captures, the admin key
clears every tenant's, in each store; what was cleared is a miss afterwards, the rest restores."""
import time

import httpx
import pytest

from anthropic_agent import converse
from conftest import Proc
from test_durability import Redis

ADMIN = "admin-key-0123456789abcdef"


def restored(port):
    return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).json()["restore"]


def replay(port, key, messages):
    """Sends `messages` (a history with dropped thinking) and a new question again."""
    r = httpx.post(f"http://127.0.0.1:{port}/anthropic/v1/messages", headers={"x-api-key": key}, timeout=30,
                   json={"model": "mimo-v2.5-pro", "max_tokens": 64, "messages": messages + [{"role": "user", "content": "again"}]})
    assert r.status_code == 200, r.text


def clear(port, key, all_=False):
    return httpx.post(f"http://127.0.0.1:{port}/admin/cache/clear" + ("?all=1" if all_ else ""),
                      headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.mark.parametrize("store", ["sqlite", "memory", "redis"])
def test_clear_ones_own_tenant_then_all(store, tmp_path):
    procs, redis = [], None
    try:
        sim = Proc("thinkback-sim", ["--listen", "127.0.0.1:0"])
        procs.append(sim)
        args = ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim.port}/v1", "--retries", "0",
                "--state-dir", str(tmp_path / "state")]
        if store == "redis":
            redis = Redis()
            args += ["--store", f"redis://127.0.0.1:{redis.port}"]
        elif store == "memory":
            args += ["--store", "memory"]
        p = Proc("thinkback", args, env={"THINKBACK_ADMIN_KEY": ADMIN})
        procs.append(p)
        port = p.port
        q = ["What is the weather in Beijing, and what does notes/trip.md say about the plan?"]
        alice, _ = converse(f"http://127.0.0.1:{port}/anthropic", "ak-alice", questions=q)
        bob, _ = converse(f"http://127.0.0.1:{port}/anthropic", "ak-bob", questions=q)
        time.sleep(0.2)
        # Alice clears hers: her history misses, Bob's still restores.
        r = clear(port, "ak-alice")
        assert r.status_code == 200 and r.json() == {"cleared": "tenant"}, r.text
        before = restored(port)
        replay(port, "ak-alice", alice[:3])
        after = restored(port)
        assert after["misses"] > before["misses"] and after["restored"] == before["restored"], (before, after)
        replay(port, "ak-bob", bob[:3])
        assert restored(port)["restored"] > after["restored"]
        # Every tenant: only with the admin key.
        assert clear(port, "ak-bob", all_=True).status_code == 401
        r = clear(port, ADMIN, all_=True)
        assert r.status_code == 200 and r.json() == {"cleared": "all"}, r.text
        before = restored(port)
        replay(port, "ak-bob", bob[:3])
        after = restored(port)
        assert after["restored"] == before["restored"] and after["misses"] > before["misses"]
        if redis:
            assert redis.entries() == 0 or store != "redis"
        # No credential at all: 401; GET: 405.
        assert httpx.post(f"http://127.0.0.1:{port}/admin/cache/clear", timeout=5).status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/admin/cache/clear", timeout=5).status_code == 405
    finally:
        for proc in reversed(procs):
            proc.stop()
        if redis:
            redis.stop()


def test_without_an_admin_key_all_is_forbidden(stack):
    sim, proxy = stack()
    r = clear(proxy, "whatever", all_=True)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
