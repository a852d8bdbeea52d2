"""Request heads that could be read two ways never reach the provider (issue 17; RFC 9112
§6.3, RFC 9110 §5.5): a 4xx and the connection closed, so nothing smuggled after them is read
as a request. Raw sockets: an HTTP client library would refuse to send these bytes.
"""
import socket

import httpx
import pytest

BODY = b'{"model":"mimo-v2.5-pro","messages":[{"role":"user","content":"hi"}]}'
SMUGGLED = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-smuggled\r\n\r\n"


def send(port, raw, wait=2.0):
    """Sends `raw`, returns (every byte received, whether the server closed the connection)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(wait)
    s.sendall(raw)
    out, closed = b"", False
    try:
        while True:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            out += d
    except socket.timeout:
        pass
    s.close()
    return out, closed


def upstream_requests(sim):
    """Every request the simulator received, this query itself included."""
    return httpx.get(f"http://127.0.0.1:{sim}/sim/stats").json()["requests"]


CASES = {
    "two-content-lengths": b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                           b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(BODY), len(BODY) + len(SMUGGLED))
                           + BODY + SMUGGLED,
    "content-length-list": b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d, %d\r\n\r\n"
                           % (len(BODY), len(BODY) + len(SMUGGLED)) + BODY + SMUGGLED,
    "content-length-and-chunked": b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "obfuscated-transfer-encoding": b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n"
                                    b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY,
    "bad-chunk-size": b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "cr-in-a-value": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n" + SMUGGLED,
    "control-character-in-a-value": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n" + SMUGGLED,
    "control-character-in-a-name": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX\x01A: a\r\n\r\n" + SMUGGLED,
    "space-in-a-name": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX A: a\r\n\r\n" + SMUGGLED,
    "connect": b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
    "trace": b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n" + SMUGGLED,
    "absolute-form-for-another-host": b"GET http://evil.example/v1/models HTTP/1.1\r\nHost: evil.example\r\n\r\n",
}
MUST_CLOSE = set(CASES) - {"connect"}


@pytest.mark.parametrize("case", list(CASES))
def test_an_ambiguous_request_head_gets_a_4xx_and_nothing_reaches_the_provider(stack, case):
    sim, prx = stack()
    before = upstream_requests(sim)
    out, closed = send(prx, CASES[case])
    status_lines = [l for l in out.split(b"\r\n") if l.startswith(b"HTTP/1.")]
    assert status_lines, out
    assert all(l.split(b" ")[1].startswith(b"4") for l in status_lines), status_lines
    assert len(status_lines) == 1, f"something after the refused head was read as a request: {status_lines}"
    if case in MUST_CLOSE:
        assert closed, "the connection stays open after a refused head"
    assert upstream_requests(sim) == before + 1, "it reached the provider"


def test_identical_content_lengths_are_one_length(stack):
    sim, prx = stack()
    raw = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(BODY), len(BODY)) + BODY)
    out, _ = send(prx, raw)
    assert out.startswith(b"HTTP/1.1 200"), out[:200]


def chat(port, stream, headers=None, timeout=10):
    return httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=timeout,
                      headers={"Authorization": "Bearer sk-slow", **(headers or {})},
                      json={"model": "mimo-v2.5-pro", "stream": stream, "messages": [{"role": "user", "content": "hi"}]})


def test_a_stream_that_never_starts_is_ended_long_before_a_whole_answer_would_be(stack):
    import time
    sim, prx = stack((), ("--stream-first-byte-timeout-ms", "300", "--retries", "0"))
    started = time.monotonic()
    r = chat(prx, True, {"x-sim-ttfb-ms": "2000"})
    assert r.status_code == 504, r.text
    assert time.monotonic() - started < 1.5
    # A whole answer comes only after the thinking: the same wait is fine there.
    assert chat(prx, False, {"x-sim-ttfb-ms": "1000"}).status_code == 200


def test_a_whole_answer_past_the_response_bound_is_a_502_never_buffered_without_limit(stack):
    sim, prx = stack((), ("--max-response-bytes", "3000", "--retries", "0"))
    r = chat(prx, False, {"x-sim-reasoning-length": "6000"})
    assert r.status_code == 502, r.text
    assert r.json()["error"]["code"] == "upstream_response_too_large"
    assert chat(prx, False, {"x-sim-reasoning-length": "200"}).status_code == 200
    # A stream is relayed as it comes, never collected: no bound applies.
    assert chat(prx, True, {"x-sim-reasoning-length": "6000"}).status_code == 200


def test_a_slowloris_is_closed_at_the_header_deadline_and_slows_nobody(stack):
    import threading
    import time
    sim, prx = stack((), ("--client-header-timeout", "2"))
    # Hundreds of connections, each trickling its first head and never ending it.
    socks = []
    for _ in range(300):
        s = socket.create_connection(("127.0.0.1", prx))
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            for s in socks:
                try:
                    s.sendall(b"X-A: b\r\n")
                except OSError:
                    pass
            time.sleep(0.5)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        # Meanwhile an honest client is answered as usual.
        started = time.monotonic()
        r = chat(prx, False)
        assert r.status_code == 200 and time.monotonic() - started < 2
        # At the deadline every trickling connection is closed by the server.
        time.sleep(3)
        closed = 0
        for s in socks:
            s.settimeout(0.5)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except OSError:   # reset: closed too
                closed += 1
        assert closed == len(socks), f"{closed} of {len(socks)} closed"
        # A head sent at once on a fresh connection is still fine, and keep-alive goes on.
        assert chat(prx, False).status_code == 200
    finally:
        stop.set()
        for s in socks:
            s.close()
