"""Request heads that could be read two ways never reach the provider (issue 17; RFC 9112
§6.3, RFC 9110 §5.5): a 4xx and the connection closed, so nothing smuggled after them is read
as a request. Raw sockets: an HTTP client library would refuse to send these bytes.
"""
import socket

import httpx
import pytest

from conftest import receive

BODY = b'{"model":"mimo-v2.5-pro","messages":[{"role":"user","content":"hi"}]}'
SMUGGLED = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-smuggled\r\n\r\n"


def send(port, raw, wait=2.0):
    """Sends `raw`, returns (every byte received, whether the server closed the connection)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(wait)
    s.sendall(raw)
    out, closed = receive(s)
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
    "nul-in-a-value": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\x00\r\nX-A: b\r\n\r\n" + SMUGGLED,
    "nul-in-a-name": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX\x00A: b\r\n\r\n" + SMUGGLED,
    "folded-header-line": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n\r\n" + SMUGGLED,
    "folded-with-a-tab": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\tx\r\n\r\n" + SMUGGLED,
    "nul-in-the-target": b"GET /v1/models\x00/x HTTP/1.1\r\nHost: x\r\n\r\n" + SMUGGLED,
    "cr-in-a-value": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n" + SMUGGLED,
    "control-character-in-a-value": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n" + SMUGGLED,
    "control-character-in-a-name": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX\x01A: a\r\n\r\n" + SMUGGLED,
    "space-in-a-name": b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX A: a\r\n\r\n" + SMUGGLED,
    "connect": b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
    "trace": b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n" + SMUGGLED,
    "absolute-form-for-another-host": b"GET http://evil.example/v1/models HTTP/1.1\r\nHost: evil.example\r\n\r\n",
}
MUST_CLOSE = set(CASES) - {"connect"}

CHUNKED_HEAD = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nTransfer-Encoding: chunked\r\n\r\n"
# Chunked framing that some parser reads differently from another (RFC 9112 §7.1): each is a 400.
BAD_CHUNKS = {
    "not-hex": b"zz\r\nabc\r\n0\r\n\r\n",
    "leading-space": b" %x\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n",
    "plus-sign": b"+%x\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n",
    "hex-prefix": b"0x%x\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n",
    "trailing-junk": b"%x junk\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n",
    "extension": b"%x;a=b\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n",
    "bare-lf-after-size": b"%x\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n",
    "data-longer-than-size": b"%x\r\n" % (len(BODY) - 4) + BODY + b"\r\n0\r\n\r\n",
    "too-many-digits": b"0000000000000000%x\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n",
    "negative": b"-1\r\n" + BODY + b"\r\n0\r\n\r\n",
    "nul-in-a-trailer": b"%x\r\n" % len(BODY) + BODY + b"\r\n0\r\nX-T: a\x00\r\n\r\n",
}


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


@pytest.mark.parametrize("case", list(BAD_CHUNKS))
def test_bad_chunked_framing_is_a_400_and_a_close_and_never_reaches_the_provider(stack, case):
    sim, prx = stack()
    before = upstream_requests(sim)
    out, closed = send(prx, CHUNKED_HEAD + BAD_CHUNKS[case] + SMUGGLED)
    assert out.startswith(b"HTTP/1.1 400 "), out[:200]
    assert out.count(b"HTTP/1.") == 1, out
    assert b'"code":"bad_request"' in out, out
    assert b"\r\nthinkback-error: origin=client retryable=false\r\n" in out, out
    assert closed, "the connection stays open after bad framing"
    assert upstream_requests(sim) == before + 1, "it reached the provider"


def test_good_chunked_framing_with_trailers_is_relayed(stack):
    sim, prx = stack()
    half = len(BODY) // 2
    body = (b"%x\r\n" % half + BODY[:half] + b"\r\n" + b"%X\r\n" % (len(BODY) - half) + BODY[half:] + b"\r\n"
            + b"0\r\nX-Trailer: t\r\n\r\n")
    out, _ = send(prx, CHUNKED_HEAD + body)
    assert out.startswith(b"HTTP/1.1 200"), out[:300]


def test_a_nul_in_a_request_head_is_a_400_even_on_a_kept_alive_connection(stack):
    sim, prx = stack()
    before = upstream_requests(sim)
    good = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\r\n"
    bad = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\x00evil\r\n\r\n"
    out, closed = send(prx, good + bad + SMUGGLED)
    import re
    statuses = re.findall(rb"HTTP/1\.1 (\d\d\d) ", out)
    assert statuses == [b"200", b"400"], out
    assert b"thinkback-error: origin=client retryable=false" in out, out
    assert closed
    assert upstream_requests(sim) == before + 2, "only the good request reaches the provider"


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


def closed_within(s, seconds):
    """Whether the server closes `s` within `seconds` (reading and discarding what comes)."""
    import time
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            if s.recv(65536) == b"":
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


@pytest.mark.parametrize("first", ["whole", "stream"])
def test_a_later_request_head_on_a_kept_alive_connection_has_the_header_deadline_too(stack, first):
    sim, prx = stack((), ("--client-header-timeout", "1"))
    s = socket.create_connection(("127.0.0.1", prx))
    s.settimeout(5)
    if first == "whole":
        s.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
    else:
        # A stream's connection drops its deadline timer while it streams; the next request
        # on it gets one again.
        body = b'{"model":"mimo-v2.5-pro","stream":true,"messages":[{"role":"user","content":"hi"}]}'
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        out = b""
        while not out.endswith(b"0\r\n\r\n"):
            d = s.recv(65536)
            assert d, out[-200:]
            out += d
        assert out.startswith(b"HTTP/1.1 200") and b"data: [DONE]" in out
    # Idle between requests is the idle timeout's business: two seconds of quiet are fine.
    import time
    time.sleep(2)
    s.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n")
    assert not closed_within(s, 0.5)
    # The head then trickles without ending: closed one second after its first byte.
    for _ in range(3):
        try:
            s.sendall(b"X-A: b\r\n")
        except OSError:
            break
        time.sleep(0.4)
    assert closed_within(s, 1.5), "a trickled head on a kept-alive connection is never cut"
    s.close()


def test_a_stalled_body_is_closed_at_the_body_deadline_but_a_slow_steady_one_is_served(stack):
    import time
    sim, prx = stack((), ("--client-body-timeout", "1"))
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY))
    stalled = socket.create_connection(("127.0.0.1", prx))
    stalled.sendall(head + BODY[:10])
    started = time.monotonic()
    assert closed_within(stalled, 3), "a body that stops is never cut"
    assert time.monotonic() - started >= 0.8
    stalled.close()
    # A body arriving in pieces 0.5 s apart takes longer than the deadline in all, and is fine:
    # the deadline is between reads.
    steady = socket.create_connection(("127.0.0.1", prx))
    steady.sendall(head)
    for i in range(0, len(BODY), 20):
        time.sleep(0.5)
        steady.sendall(BODY[i:i + 20])
    steady.settimeout(5)
    assert steady.recv(65536).startswith(b"HTTP/1.1 200")
    steady.close()


def test_a_chunked_body_that_stalls_mid_chunk_is_closed_at_the_body_deadline(stack):
    sim, prx = stack((), ("--client-body-timeout", "1"))
    s = socket.create_connection(("127.0.0.1", prx))
    s.sendall(CHUNKED_HEAD + b"%x\r\n" % len(BODY) + BODY[:5])
    assert closed_within(s, 3)
    s.close()
