"""Every request ends in exactly one reply, even when an allocation fails (issue 17). The
failures are injected with THINKBACK_FAILPOINTS (name:N fails the named allocation from its
Nth call on); without the guards these requests would hang or the process would crash."""
import socket
import time

import httpx

from conftest import Proc, receive

BODY = b'{"model":"mimo-v2.5-pro","stream":%s,"messages":[{"role":"user","content":"hi"}]}'


def start(sim_port, failpoints, *args):
    # One worker: a failpoint counts the calls of one process.
    return Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1", "--workers", "1", *args],
                env={"THINKBACK_FAILPOINTS": failpoints})


def raw_exchange(port, stream, headers=b"", wait=10):
    """Sends one request; returns (bytes received, closed by the server, seconds taken)."""
    body = BODY % (b"true" if stream else b"false")
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(wait)
    started = time.monotonic()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-a\r\n"
              b"Content-Type: application/json\r\n" + headers + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def whole(out):   # a whole answer is complete at its Content-Length (the connection stays)
        head, sep, rest = out.partition(b"\r\n\r\n")
        n = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
        return bool(sep) and bool(n) and len(rest) >= n[0]

    out, closed = receive(s, None if stream else whole)
    s.close()
    return out, closed, time.monotonic() - started


def test_a_request_whose_exchange_cannot_be_allocated_gets_one_503(sim):
    port = sim()
    proxy = start(port, "request:2")
    try:
        ok = httpx.post(f"http://127.0.0.1:{proxy.port}/v1/chat/completions", headers={"Authorization": "Bearer k"},
                        json={"model": "mimo-v2.5-pro", "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
        assert ok.status_code == 200
        out, closed, took = raw_exchange(proxy.port, False)
        assert out.startswith(b"HTTP/1.1 503 "), out[:200]
        assert out.count(b"HTTP/1.1 ") == 1
        assert b'"code":"out_of_memory"' in out
        assert b"thinkback-error: origin=internal retryable=true" in out, out
        assert took < 5
        assert proxy.p.poll() is None, "the proxy died"
    finally:
        proxy.stop()


def test_a_stream_chunk_that_cannot_be_allocated_ends_that_stream_and_cancels_its_upstream(sim):
    port = sim()
    proxy = start(port, "stream_chunk:3")
    try:
        out, closed, took = raw_exchange(proxy.port, True, b"x-sim-interval-ms: 20\r\n")
        assert out.startswith(b"HTTP/1.1 200 "), out[:200]
        assert closed and took < 5, "the stream must end, not stall"
        assert not out.endswith(b"0\r\n\r\n"), "a cut stream must not look complete"
        gone = False
        for _ in range(100):
            if httpx.get(f"http://127.0.0.1:{port}/sim/transport").json().get("clients_gone", 0) >= 1:
                gone = True
                break
            time.sleep(0.05)
        assert gone, "the upstream transfer was not cancelled"
        # Whole answers need no chunk: they go on.
        r = httpx.post(f"http://127.0.0.1:{proxy.port}/v1/chat/completions", headers={"Authorization": "Bearer k"},
                       json={"model": "mimo-v2.5-pro", "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
        assert r.status_code == 200
        assert proxy.p.poll() is None
    finally:
        proxy.stop()


def test_a_whole_answer_whose_buffer_cannot_be_allocated_gets_one_503_and_its_upstream_is_cancelled(sim):
    port = sim()
    proxy = start(port, "response_buffer:1")
    try:
        out, closed, took = raw_exchange(proxy.port, False, b"x-sim-reasoning-length: 200\r\n")
        assert out.startswith(b"HTTP/1.1 503 "), out[:300]
        assert out.count(b"HTTP/1.1 ") == 1
        assert b'"code":"out_of_memory"' in out and b"thinkback-error: origin=internal retryable=true" in out, out
        assert took < 5
        # Streams need no such buffer: they go on.
        out, closed, took = raw_exchange(proxy.port, True)
        assert out.startswith(b"HTTP/1.1 200 ") and b"data: [DONE]" in out, out[-300:]
        assert proxy.p.poll() is None
    finally:
        proxy.stop()


def test_a_stream_past_the_capture_bound_is_relayed_whole_without_capture(stack):
    sim, prx = stack((), ("--max-response-bytes", "3000"))
    out, closed, took = raw_exchange(prx, True, b"x-sim-reasoning-length: 20000\r\nx-sim-tool-calls: 1\r\n")
    assert out.startswith(b"HTTP/1.1 200 "), out[:300]
    assert b"data: [DONE]" in out
    assert out.count(b"reasoning_content") > 10
    status = httpx.get(f"http://127.0.0.1:{prx}/", timeout=5).json()
    assert status["restore"]["capture_skipped"] == 1, status["restore"]
    assert status["restore"]["captured"] == 0, status["restore"]
