"""Every path under /v1/ and /anthropic/v1/ reaches the provider (issue 19): a client that works
without thinkback never breaks with it. Real clients (the OpenAI and Anthropic SDKs) and raw
HTTP, through a real thinkback to the simulator."""
import json
import socket
import time

import anthropic
import httpx
import openai


def fnv1a64(data: bytes) -> str:
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def test_openai_sdk_embeddings_pass_through(stack):
    _, proxy = stack()
    c = openai.OpenAI(base_url=f"http://127.0.0.1:{proxy}/v1", api_key="sdk-key", max_retries=0, timeout=30)
    r = c.embeddings.create(model="sim-embedding", input="hello 世界")
    assert r.data[0].embedding == [0.125, -0.5, 1.0]


def test_every_method_path_query_header_and_body_arrive_as_sent(stack):
    _, proxy = stack()
    body = bytes(range(256)) * 40 + "北京".encode()
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"]:
        sent = b"" if method == "GET" else body
        r = httpx.request(method, f"http://127.0.0.1:{proxy}/v1/echo/files/abc%2Fdef?limit=2&x=%E5%8C%97",
                          content=sent, headers={"Authorization": "Bearer k1", "X-Custom": "v 1", "OpenAI-Beta": "assistants=v2"},
                          timeout=30)
        assert r.status_code == 200, (method, r.text)
        echo = r.json()
        assert echo["method"] == method
        assert echo["path"] == "/v1/echo/files/abc%2Fdef"
        assert echo["query"] == "limit=2&x=%E5%8C%97"
        headers = {k.lower(): v for k, v in echo["headers"]}
        assert headers["authorization"] == "Bearer k1"
        assert headers["x-custom"] == "v 1"
        assert headers["openai-beta"] == "assistants=v2"
        assert echo["body_bytes"] == len(sent), method
        assert echo["body_fnv1a64"] == fnv1a64(sent), method


def test_anthropic_base_paths_go_to_the_anthropic_base_with_their_query(stack):
    _, proxy = stack()
    r = httpx.post(f"http://127.0.0.1:{proxy}/anthropic/v1/echo/batches?beta=true", content=b'{"a":1}',
                   headers={"x-api-key": "k2", "anthropic-version": "2023-06-01", "anthropic-beta": "x-2025"}, timeout=30)
    assert r.status_code == 200, r.text
    echo = r.json()
    assert echo["path"] == "/anthropic/v1/echo/batches"
    assert echo["query"] == "beta=true"
    headers = {k.lower(): v for k, v in echo["headers"]}
    assert headers["x-api-key"] == "k2"
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["anthropic-beta"] == "x-2025"


def test_a_relayed_answer_goes_on_as_it_comes(stack):
    _, proxy = stack()
    # Five pieces 400 ms apart: the first reaches the client long before the last is sent.
    start = time.monotonic()
    arrivals = []
    with httpx.stream("GET", f"http://127.0.0.1:{proxy}/v1/echo/slow?pieces=5&interval_ms=400", timeout=30) as r:
        assert r.status_code == 200
        data = b""
        for chunk in r.iter_raw():
            arrivals.append(time.monotonic() - start)
            data += chunk
    assert json.loads(data)["path"] == "/v1/echo/slow"
    assert arrivals[0] < 1.0, arrivals
    assert arrivals[-1] - arrivals[0] > 1.2, arrivals


def test_a_provider_error_on_a_relayed_route_passes_unchanged(stack):
    _, proxy = stack()
    direct_sim, _ = None, None
    r = httpx.post(f"http://127.0.0.1:{proxy}/v1/echo/x?status=418", content=b"{}", timeout=30)
    assert r.status_code == 418
    assert r.json()["path"] == "/v1/echo/x"
    assert "thinkback-error" not in r.headers


def test_anthropic_sdk_messages_and_count_tokens_through_thinkback(stack):
    _, proxy = stack()
    c = anthropic.Anthropic(base_url=f"http://127.0.0.1:{proxy}/anthropic", api_key="ak-1", max_retries=0, timeout=30)
    m = c.messages.create(model="mimo-v2.5-pro", max_tokens=256, messages=[{"role": "user", "content": "hello"}])
    assert m.role == "assistant"
    assert any(b.type == "text" for b in m.content)
    with c.messages.stream(model="mimo-v2.5-pro", max_tokens=256, messages=[{"role": "user", "content": "hi"}]) as s:
        final = s.get_final_message()
    assert final.stop_reason in ("end_turn", "tool_use")
    n = c.messages.count_tokens(model="mimo-v2.5-pro", messages=[{"role": "user", "content": "hello"}])
    assert n.input_tokens > 0


def test_anthropic_sdk_on_the_root_messages_path(stack):
    _, proxy = stack()
    # Claude Code and some SDK setups use the base without /anthropic: /v1/messages?beta=true.
    c = anthropic.Anthropic(base_url=f"http://127.0.0.1:{proxy}", api_key="ak-2", max_retries=0, timeout=30)
    m = c.messages.create(model="mimo-v2.5-pro", max_tokens=64, messages=[{"role": "user", "content": "hello"}],
                          extra_query={"beta": "true"})
    assert m.type == "message"


def raw(port, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
            if b"\r\n\r\n" in out:
                head, _, rest = out.partition(b"\r\n\r\n")
                length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if length and len(rest) >= length[0]:
                    break
        return out


def test_thinkback_errors_on_anthropic_routes_have_anthropic_shape(stack):
    sim, proxy = stack()
    r = httpx.get(f"http://127.0.0.1:{proxy}/anthropic/v1/messages", timeout=10)
    assert r.status_code == 405
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error", body
    assert "thinkback" in body["error"]["message"]
    r = httpx.get(f"http://127.0.0.1:{proxy}/anthropic/nothing", timeout=10)
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "not_found_error"
    # OpenAI routes keep OpenAI's shape.
    r = httpx.get(f"http://127.0.0.1:{proxy}/v2/nothing", timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_paths_that_would_leave_the_base_are_refused(stack):
    sim, proxy = stack()
    for target in [b"/v1/../sim/stats", b"/v1/echo/./x", b"/v1/echo/%00/..", b"/anthropic/v1/..", b"/v1/echo/a\\b"]:
        out = raw(proxy, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 400"), (target, out[:200])
    # A percent-escaped dot is not a dot segment to curl either: it goes as it is.
    r = httpx.get(f"http://127.0.0.1:{proxy}/v1/echo/%2e%2e/x", timeout=10)
    assert r.status_code == 200 and r.json()["path"] == "/v1/echo/%2e%2e/x"
