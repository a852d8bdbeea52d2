"""--workers N (issue 20): N processes share the port (SO_REUSEPORT) and the SQLite store; a
capture through one restores through another at once; a dead worker is started again; the
supervisor tells systemd READY=1 once all serve and stops them on SIGTERM."""
import json
import os
import signal
import socket
import threading
import time

import httpx

from anthropic_agent import MODEL, QUESTIONS, TOOLS, request_blocks
from conftest import BIN, Proc


def worker_of(client, port):
    return client.get(f"http://127.0.0.1:{port}/", timeout=5).json()["worker"]


def pinned(port, want):
    """An HTTP client whose one kept-alive connection landed on worker `want`."""
    for _ in range(200):
        c = httpx.Client(limits=httpx.Limits(max_connections=1, max_keepalive_connections=1), timeout=30)
        if worker_of(c, port) == want:
            return c
        c.close()
    raise AssertionError(f"no connection reached worker {want}")


def first_anthropic_turn(client, base, headers):
    """A first Anthropic turn with tools through `client`, and the follow-up body a client that
    drops thinking blocks sends next (its tool results)."""
    m = client.post(base, headers=headers, json={"model": MODEL, "max_tokens": 256, "tools": TOOLS,
                                                 "messages": [{"role": "user", "content": QUESTIONS[0]}]}).json()
    uses = [blk for blk in m["content"] if blk["type"] == "tool_use"]
    assert uses, m
    dropped = [blk for blk in m["content"] if blk["type"] != "thinking"]
    return m, {"model": MODEL, "max_tokens": 256, "tools": TOOLS, "messages": [
        {"role": "user", "content": QUESTIONS[0]}, {"role": "assistant", "content": dropped},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": u["id"], "content": "ok"} for u in uses]}]}


def test_two_workers_share_the_port_and_the_store(sim, tmp_path):
    sim_port = sim()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(5)
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1",
                           "--workers", "2", "--retries", "0"], env={"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    try:
        ready = notify.recv(4096).decode()
        assert ready.startswith("READY=1") and f"MAINPID={p.p.pid}" in ready, ready
        seen = {worker_of(httpx.Client(timeout=5), p.port) for _ in range(40)}
        assert seen == {0, 1}, seen
        # The answer through worker 0, the next turn through worker 1, at once.
        a, b = pinned(p.port, 0), pinned(p.port, 1)
        base = f"http://127.0.0.1:{p.port}/anthropic/v1/messages"
        h = {"x-api-key": "ak-workers"}
        _, follow = first_anthropic_turn(a, base, h)
        r = b.post(base, headers=h, json=follow)
        assert r.status_code == 200, r.text
        assert b.get(f"http://127.0.0.1:{p.port}/").json()["restore"]["restored"] == 1, "restored by the other worker"
        led = httpx.get(f"http://127.0.0.1:{sim_port}/sim/stats").json()["tenants"]["ak-workers"]["ledger"]
        assert led.get("exact") == 1, led
    finally:
        p.stop()
        notify.close()
    assert p.p.returncode == 0


def test_a_dead_worker_is_started_again(sim, tmp_path):
    sim_port = sim()
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1", "--workers", "2"])
    try:
        children = [int(x) for x in open(f"/proc/{p.p.pid}/task/{p.p.pid}/children").read().split()]
        assert len(children) == 2
        os.kill(children[0], signal.SIGKILL)
        deadline = time.time() + 10
        while time.time() < deadline:
            now = [int(x) for x in open(f"/proc/{p.p.pid}/task/{p.p.pid}/children").read().split()]
            if len(now) == 2 and children[0] not in now:
                break
            time.sleep(0.1)
        assert len(now) == 2 and children[0] not in now, now
        seen = set()
        deadline = time.time() + 10
        while seen != {0, 1} and time.time() < deadline:
            seen.add(worker_of(httpx.Client(timeout=5), p.port))
        assert seen == {0, 1}
        assert "worker died: starting it again" in open(p.log_path).read()
    finally:
        p.stop()
    assert p.p.returncode == 0


def metric(text, name, **labels):
    """The value of series `name` with `labels` (a subset) in a Prometheus exposition."""
    total = None
    for line in text.splitlines():
        if not (line.startswith(name + "{") or line.startswith(name + " ")):
            continue
        series, value = line.rsplit(" ", 1)
        have = dict(kv.split("=", 1) for kv in series[len(name) + 1:-1].split(",")) if "{" in series else {}
        if all(have.get(k) == f'"{v}"' for k, v in labels.items()):
            total = (total or 0) + float(value)
    return total


def test_status_and_metrics_count_every_worker(sim):
    """Whichever worker answers GET / or /metrics answers for all of them: counts bumped through
    one worker are there at once through the other."""
    sim_port = sim()
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1", "--workers", "2"])
    try:
        a, b = pinned(p.port, 0), pinned(p.port, 1)
        ask = dict(headers={"Authorization": "Bearer k-count"},
                   json={"model": "mimo-v2.5-pro", "messages": [{"role": "user", "content": "hi"}]})
        url = f"http://127.0.0.1:{p.port}/v1/chat/completions"
        for _ in range(3):
            assert a.post(url, **ask).status_code == 200
        for _ in range(2):
            assert b.post(url, **ask).status_code == 200
        sa, sb = a.get(f"http://127.0.0.1:{p.port}/").json(), b.get(f"http://127.0.0.1:{p.port}/").json()
        assert (sa["worker"], sb["worker"]) == (0, 1)
        assert sa["served"] == sb["served"] == 5, (sa["served"], sb["served"])
        assert sa["restore"]["requests_scanned"] == sb["restore"]["requests_scanned"] == 5
        assert sa["cache"]["entries"] == sb["cache"]["entries"]
        for c in (a, b):
            text = c.get(f"http://127.0.0.1:{p.port}/metrics").text
            assert metric(text, "thinkback_requests_total", route="chat", status="200") == 5, text[:3000]
            every = metric(text, "thinkback_requests_total")   # the status requests too
            assert metric(text, "thinkback_request_duration_seconds_count") == every >= 5
            assert metric(text, "thinkback_request_duration_seconds_bucket", le="+Inf") == every
            assert metric(text, "thinkback_upstream_first_byte_seconds_count") == 5
            assert metric(text, "thinkback_workers") == 2
            assert metric(text, "thinkback_requests_in_flight") == 0
    finally:
        p.stop()


def test_counts_survive_a_worker_started_again(sim):
    """A restarted worker goes on from its slot's counts: a counter never goes back."""
    sim_port = sim()
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1", "--workers", "2"])
    try:
        ask = dict(headers={"Authorization": "Bearer k-survive"},
                   json={"model": "mimo-v2.5-pro", "messages": [{"role": "user", "content": "hi"}]})
        for _ in range(6):
            with httpx.Client(timeout=10) as c:
                assert c.post(f"http://127.0.0.1:{p.port}/v1/chat/completions", **ask).status_code == 200
        before = httpx.get(f"http://127.0.0.1:{p.port}/", timeout=5).json()["served"]
        assert before == 6
        children = [int(x) for x in open(f"/proc/{p.p.pid}/task/{p.p.pid}/children").read().split()]
        os.kill(children[0], signal.SIGKILL)
        deadline = time.time() + 10
        seen = set()
        while seen != {0, 1} and time.time() < deadline:
            try:
                seen.add(worker_of(httpx.Client(timeout=5), p.port))
            except httpx.HTTPError:
                time.sleep(0.1)
        assert seen == {0, 1}
        for _ in range(10):
            st = httpx.get(f"http://127.0.0.1:{p.port}/", timeout=5).json()
            assert st["served"] == 6 and st["in_flight"]["requests"] == 0, st
    finally:
        p.stop()


def test_a_clear_through_one_worker_clears_the_others_memory(sim):
    """POST /admin/cache/clear through worker 0 drops the tenant's captures from worker 1's hot
    tier too: the next turn through worker 1 misses."""
    sim_port = sim()
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1", "--workers", "2",
                           "--miss", "placeholder"])
    try:
        a, b = pinned(p.port, 0), pinned(p.port, 1)
        base = f"http://127.0.0.1:{p.port}/anthropic/v1/messages"
        h = {"x-api-key": "ak-clear-workers"}
        _, follow = first_anthropic_turn(b, base, h)
        r = a.post(f"http://127.0.0.1:{p.port}/admin/cache/clear", headers=h)
        assert r.status_code == 200, r.text
        r = b.post(base, headers=h, json=follow)
        assert r.status_code == 200, r.text
        st = b.get(f"http://127.0.0.1:{p.port}/").json()["restore"]
        assert st["restored"] == 0 and st["misses"] == 1, st
    finally:
        p.stop()


def test_a_proxy_keys_limit_holds_across_workers(tmp_path, sim):
    from test_proxy_keys import keys, start
    sim_port = sim()
    state = str(tmp_path / "state")
    alice = keys(state, "add", "alice").stdout.strip()
    p = start(sim_port, state, "--proxy-key-concurrency", "1", "--workers", "2")
    try:
        a, b = pinned(p.port, 0), pinned(p.port, 1)
        results = {}

        def slow():
            results["slow"] = a.get(f"http://127.0.0.1:{p.port}/v1/echo/slow?pieces=4&interval_ms=400",
                                    headers={"Authorization": f"Bearer {alice}"}).status_code
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.4)
        r = b.get(f"http://127.0.0.1:{p.port}/v1/echo/x", headers={"Authorization": f"Bearer {alice}"})
        assert r.status_code == 429, "the other worker counts the key's request in flight"
        t.join()
        assert results["slow"] == 200
        assert b.get(f"http://127.0.0.1:{p.port}/v1/echo/x", headers={"Authorization": f"Bearer {alice}"}).status_code == 200
    finally:
        p.stop()


def test_workers_default_to_the_cores_this_process_may_use(sim):
    sim_port = sim()
    up = ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1"]
    p = Proc("thinkback", up)
    try:
        assert httpx.get(f"http://127.0.0.1:{p.port}/", timeout=5).json()["workers"] == len(os.sched_getaffinity(0))
    finally:
        p.stop()
    # Pinned to one core (taskset, a cpuset): one worker.
    one = next(iter(os.sched_getaffinity(0)))
    p = Proc("thinkback", up, preexec=lambda: os.sched_setaffinity(0, {one}))
    try:
        assert httpx.get(f"http://127.0.0.1:{p.port}/", timeout=5).json()["workers"] == 1
    finally:
        p.stop()
    # The memory store is one process's: one worker, and more is refused.
    p = Proc("thinkback", up + ["--store", "memory"])
    try:
        assert httpx.get(f"http://127.0.0.1:{p.port}/", timeout=5).json()["workers"] == 1
    finally:
        p.stop()
    import subprocess
    r = subprocess.run([os.path.join(BIN, "thinkback")] + up + ["--store", "memory", "--workers", "2"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 64 and "memory store" in r.stderr, (r.returncode, r.stderr)
