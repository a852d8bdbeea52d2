"""What a client saw is stored at once (issue 16; docs/product.md §1, §5): an answer's last
bytes reach the client only after its capture is committed — to SQLite, or acknowledged by
Redis — so the next turn restores exactly through any process sharing the store, even right
after a crash. Real processes on 127.0.0.1, the real OpenAI SDK, the simulator's ledger.
"""
import os
import re
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

import httpx
import openai
import pytest

from agent import QUESTIONS, Agent
from conftest import Proc

KEY = "sk-durable"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ledger(sim):
    return httpx.get(f"http://127.0.0.1:{sim}/sim/stats").json()["ledger"]


def status(port):
    return httpx.get(f"http://127.0.0.1:{port}/").json()


class Redis:
    """A real redis-server on a free port, no persistence."""

    def __init__(self):
        self.port = free_port()
        self.p = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.cli("PING") == "PONG":
                return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True)
        return r.stdout.strip()

    def entries(self):
        """Captured values stored (one `…:e:…` key each)."""
        out = self.cli("--scan", "--pattern", "thinkback:*:e:*")
        return len([line for line in out.splitlines() if line])

    def stop(self):
        self.p.kill()
        self.p.wait(5)


@pytest.fixture
def procs():
    started = []

    def start(name, args):
        p = Proc(name, args)
        started.append(p)
        return p

    yield start
    for p in reversed(started):
        if p.p.poll() is None:
            p.stop()


@pytest.fixture
def redis():
    servers = []

    def start():
        r = Redis()
        servers.append(r)
        return r

    yield start
    for r in servers:
        r.stop()


def redis_proxy(procs_fixture, server, prefix, *extra):
    """A simulator and a proxy on `server` (connected). Returns (sim, proxy)."""
    sim = procs_fixture("thinkback-sim", ["--listen", "127.0.0.1:0"])
    state = tempfile.mkdtemp(prefix=prefix)
    prx = procs_fixture("thinkback", proxy_args(sim.port, state, "--store", f"redis://127.0.0.1:{server.port}", *extra))
    wait_connected(prx.port)
    return sim, prx


def wait_connected(*ports):
    for _ in range(100):
        if all(status(p)["cache"]["store_state"] == "ok" for p in ports):
            return
        time.sleep(0.02)


def proxy_args(sim_port, state, *extra):
    return ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1", "--state-dir", state,
            "--retries", "0", *extra]


def start_together(procs_fixture, argvs):
    """Starts several proxies at the same instant (no waiting between them)."""
    results = [None] * len(argvs)
    errors = []

    def one(i):
        try:
            results[i] = procs_fixture("thinkback", argvs[i])
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(argvs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, f"a proxy did not start: {errors}"
    return results


def first_turn(agent, question):
    """One request: the question, the model's tool calls, the client's history as TRAE keeps it
    (no reasoning) plus the tool results. Returns the exchange."""
    agent.messages.append({"role": "user", "content": question})
    ex = agent.send()
    assert ex.tool_calls, "the first answer calls tools"
    agent.messages.append({"role": "assistant", "content": ex.content, "tool_calls": ex.tool_calls})
    for c in ex.tool_calls:
        agent.messages.append({"role": "tool", "tool_call_id": c["id"], "content": "result of " + c["function"]["name"]})
    return ex


class Alternating(Agent):
    """An agent whose requests go to each proxy in turn (a load balancer without affinity)."""

    def __init__(self, ports, **kw):
        super().__init__(f"http://127.0.0.1:{ports[0]}/v1", KEY, **kw)
        self.clients = [openai.OpenAI(base_url=f"http://127.0.0.1:{p}/v1", api_key=KEY, max_retries=0, timeout=30)
                        for p in ports]

    def send(self):
        self.client = self.clients[len(self.exchanges) % len(self.clients)]
        return super().send()


def tool_call_messages(agent):
    return sum(sum(1 for m in agent.messages[: ex.message_count] if m["role"] == "assistant" and m.get("tool_calls"))
               for ex in agent.exchanges)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_sigkill_right_after_the_answers_loses_none(procs, stream):
    sim = procs("thinkback-sim", ["--listen", "127.0.0.1:0"])
    state = tempfile.mkdtemp(prefix="thinkback-e2e-kill-")
    first = procs("thinkback", proxy_args(sim.port, state))       # the default store: SQLite
    agents = [Agent(f"http://127.0.0.1:{first.port}/v1", KEY, stream=stream) for _ in range(6)]
    errors = []

    def ask(agent, i):
        try:
            first_turn(agent, f"{QUESTIONS[0]} (conversation {i})")
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=ask, args=(a, i)) for i, a in enumerate(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first.p.send_signal(signal.SIGKILL)                           # at once: no drain, no flush
    first.p.wait(5)
    assert not errors, errors

    second = procs("thinkback", proxy_args(sim.port, state))
    httpx.post(f"http://127.0.0.1:{sim.port}/sim/reset").raise_for_status()
    for agent in agents:
        agent.client = openai.OpenAI(base_url=f"http://127.0.0.1:{second.port}/v1", api_key=KEY, max_retries=0, timeout=30)
        agent.send()
    led = ledger(sim.port)
    assert led["exact"] == 6 and led["placeholder"] == 0 and led["wrong"] == 0 and led["missing"] == 0, led
    assert status(second.port)["restore"]["restored"] == 6


def test_two_processes_on_one_sqlite_file_started_together(procs):
    sim = procs("thinkback-sim", ["--listen", "127.0.0.1:0"])
    state = tempfile.mkdtemp(prefix="thinkback-e2e-shared-")
    a, b = start_together(procs, [proxy_args(sim.port, state), proxy_args(sim.port, state)])
    agent = Alternating([a.port, b.port])
    result = agent.run(QUESTIONS + ["One more: the weather in Shenzhen?"])
    assert result.ok, f"request {result.failed_at}: {result.exchanges[-1].error_body}"
    led = ledger(sim.port)
    assert led["exact"] == tool_call_messages(agent) > 0, led
    assert led["placeholder"] == led["wrong"] == led["missing"] == 0, led
    for port in (a.port, b.port):
        assert status(port)["cache"]["store_state"] == "ok"


def test_two_processes_on_one_redis_started_together(procs, redis):
    server = redis()
    sim = procs("thinkback-sim", ["--listen", "127.0.0.1:0"])
    state = tempfile.mkdtemp(prefix="thinkback-e2e-redis-")
    store = ["--store", f"redis://127.0.0.1:{server.port}"]
    a, b = start_together(procs, [proxy_args(sim.port, state, *store), proxy_args(sim.port, state, *store)])
    wait_connected(a.port, b.port)
    agent = Alternating([a.port, b.port], stream=True)
    result = agent.run(QUESTIONS + ["One more: the weather in Shenzhen?"])
    assert result.ok, f"request {result.failed_at}: {result.exchanges[-1].error_body}"
    led = ledger(sim.port)
    assert led["exact"] == tool_call_messages(agent) > 0, led
    assert led["placeholder"] == led["wrong"] == led["missing"] == 0, led


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_slow_redis_never_lets_the_answer_end_before_its_capture_is_stored(procs, redis, stream):
    server = redis()
    sim, prx = redis_proxy(procs, server, "thinkback-e2e-slow-", "--commit-timeout-ms", "10000")
    agent = Agent(f"http://127.0.0.1:{prx.port}/v1", KEY, stream=stream)
    assert server.entries() == 0
    assert server.cli("CLIENT", "PAUSE", "700", "WRITE") == "OK"   # Redis holds every EVAL for 0.7 s
    started = time.monotonic()
    first_turn(agent, QUESTIONS[0])
    elapsed = time.monotonic() - started
    stored = server.entries()                                     # at the moment the client has it all
    assert stored == 1, f"the answer ended before its capture was stored (after {elapsed:.3f} s)"
    assert elapsed >= 0.5, elapsed
    commit = status(prx.port)["restore"]["commit"]
    assert commit["held"] == 1 and commit["committed"] == 1 and commit["timeouts"] == 0, commit


def test_a_store_that_cannot_commit_in_time_releases_the_answer_and_counts_it(procs, redis):
    server = redis()
    sim, prx = redis_proxy(procs, server, "thinkback-e2e-timeout-", "--commit-timeout-ms", "200")
    agent = Agent(f"http://127.0.0.1:{prx.port}/v1", KEY)
    server.cli("CLIENT", "PAUSE", "3000", "WRITE")
    started = time.monotonic()
    first_turn(agent, QUESTIONS[0])
    elapsed = time.monotonic() - started
    assert 0.15 <= elapsed < 2.5, elapsed
    commit = status(prx.port)["restore"]["commit"]
    assert commit["held"] == 1 and commit["timeouts"] == 1, commit
    # The capture was kept in memory meanwhile: the next turn through this process is exact.
    server.cli("CLIENT", "UNPAUSE")
    agent.send()
    led = ledger(sim.port)
    assert led["exact"] == 1 and led["placeholder"] == 0, led


def test_a_busy_sqlite_writer_never_stalls_the_loop(procs):
    sim = procs("thinkback-sim", ["--listen", "127.0.0.1:0"])
    state = tempfile.mkdtemp(prefix="thinkback-e2e-busy-")
    prx = procs("thinkback", proxy_args(sim.port, state))
    agent = Agent(f"http://127.0.0.1:{prx.port}/v1", KEY)
    agent.run(QUESTIONS[:1])                                      # the file exists, with a capture
    # Another process takes SQLite's write lock and keeps it for 1.5 s.
    lock = sqlite3.connect(os.path.join(state, "reasoning.sqlite3"), timeout=5, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        first_turn(agent, QUESTIONS[1])                           # its capture cannot be written now
        answered = time.monotonic() - started
        worst = 0.0
        for _ in range(20):                                       # the loop keeps serving meanwhile
            t = time.monotonic()
            assert httpx.get(f"http://127.0.0.1:{prx.port}/health").status_code == 200
            worst = max(worst, time.monotonic() - t)
        assert answered < 1.2, f"the answer waited {answered:.3f} s for the lock"
        assert worst < 0.5, worst
    finally:
        time.sleep(max(0.0, 1.5 - (time.monotonic() - started)))
        lock.execute("ROLLBACK")
        lock.close()
    # Once the lock is gone the capture lands by itself (SIGKILL: no shutdown flush helps):
    # a fresh process restores every message exactly.
    time.sleep(0.5)
    prx.p.send_signal(signal.SIGKILL)
    prx.p.wait(5)
    fresh = procs("thinkback", proxy_args(sim.port, state))
    httpx.post(f"http://127.0.0.1:{sim.port}/sim/reset").raise_for_status()
    agent.client = openai.OpenAI(base_url=f"http://127.0.0.1:{fresh.port}/v1", api_key=KEY, max_retries=0, timeout=30)
    ex = agent.send()
    expected = sum(1 for m in agent.messages[: ex.message_count] if m["role"] == "assistant" and m.get("tool_calls"))
    led = ledger(sim.port)
    assert led["exact"] == expected > 1, led
    assert led["placeholder"] == led["wrong"] == led["missing"] == 0, led


class AfterDoneUpstream:
    """A provider that keeps sending after `[DONE]`: a complete tool-call stream, then `tail`
    more bytes of SSE comments, chunked. Raw sockets, one thread per connection."""

    def __init__(self, tail):
        import json as _json
        chunk = lambda delta, finish=None: "data: " + _json.dumps(
            {"id": "x", "object": "chat.completion.chunk", "model": "m",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"
        self.events = (chunk({"role": "assistant", "content": ""}) + chunk({"reasoning_content": "after-done test"})
                       + chunk({"tool_calls": [{"index": 0, "id": "call_ad1", "type": "function",
                                                "function": {"name": "f", "arguments": "{}"}}]})
                       + chunk({}, "tool_calls") + "data: [DONE]\n\n").encode()
        self.tail = b"".join(b": padding %06d %s\n\n" % (i, b"x" * 90) for i in range(tail // 100))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
        while len(body) < length:
            body += conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (self.events, self.tail):
            for i in range(0, len(piece), 16384):
                part = piece[i:i + 16384]
                conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        conn.sendall(b"0\r\n\r\n")
        conn.close()

    def close(self):
        self.sock.close()


def test_what_follows_done_waits_with_it_and_all_of_it_arrives(procs, redis):
    server = redis()
    upstream = AfterDoneUpstream(tail=300_000)
    try:
        state = tempfile.mkdtemp(prefix="thinkback-e2e-tail-")
        prx = procs("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{upstream.port}/v1",
                                  "--state-dir", state, "--retries", "0", "--store", f"redis://127.0.0.1:{server.port}",
                                  "--commit-timeout-ms", "10000"])
        wait_connected(prx.port)
        server.cli("CLIENT", "PAUSE", "500", "WRITE")
        started = time.monotonic()
        r = httpx.post(f"http://127.0.0.1:{prx.port}/v1/chat/completions", headers={"Authorization": "Bearer " + KEY},
                       json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "go"}]}, timeout=30)
        elapsed = time.monotonic() - started
        assert r.status_code == 200
        assert r.content == upstream.events + upstream.tail, "every byte, in order"
        assert elapsed >= 0.4, f"the tail went before the commit ({elapsed:.3f} s)"
        assert server.entries() == 1
        commit = status(prx.port)["restore"]["commit"]
        assert commit["held"] == 1 and commit["committed"] == 1, commit
    finally:
        upstream.close()
