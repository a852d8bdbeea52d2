"""--workers N (issue 20): N processes share the port (SO_REUSEPORT) and the SQLite store; a
capture through one restores through another at once; a dead worker is started again; the
supervisor tells systemd READY=1 once all serve and stops them on SIGTERM."""
import json
import os
import signal
import socket
import time

import httpx

from anthropic_agent import MODEL, QUESTIONS, TOOLS, request_blocks
from conftest import Proc


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
        m = a.post(base, headers=h, json={"model": MODEL, "max_tokens": 256, "tools": TOOLS,
                                          "messages": [{"role": "user", "content": QUESTIONS[0]}]}).json()
        uses = [blk for blk in m["content"] if blk["type"] == "tool_use"]
        assert uses, m
        dropped = [blk for blk in m["content"] if blk["type"] != "thinking"]
        follow = {"model": MODEL, "max_tokens": 256, "tools": TOOLS, "messages": [
            {"role": "user", "content": QUESTIONS[0]}, {"role": "assistant", "content": dropped},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": u["id"], "content": "ok"} for u in uses]}]}
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
