"""What the proxy logs (issue 18): one access line per request in swift-log's format, one
line per request for its reasoning misses however many messages missed, and never a key,
message content or reasoning."""
import re

import httpx

from conftest import Proc

SECRET_KEY = "sk-log-test-secret"
SECRET_TEXT = "purple-elephant-content"


def history(n):
    """`n` assistant tool-call messages this proxy never saw, with their tool results."""
    messages = [{"role": "user", "content": f"{SECRET_TEXT} question"}]
    for i in range(n):
        messages.append({"role": "assistant", "content": "", "tool_calls": [
            {"id": f"call_{i}", "type": "function", "function": {"name": "f", "arguments": "{\"i\": %d}" % i}}]})
        messages.append({"role": "tool", "tool_call_id": f"call_{i}", "content": f"{SECRET_TEXT} result {i}"})
    return messages


def test_one_miss_line_per_request_one_access_line_each_and_no_secrets(sim):
    sim_port = sim()
    proxy = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1",
                               "--miss", "placeholder"])
    try:
        url = f"http://127.0.0.1:{proxy.port}/v1/chat/completions"
        for _ in range(2):
            r = httpx.post(url, headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=10,
                           json={"model": "mimo-v2.5-pro", "messages": history(20)})
            assert r.status_code == 200, r.text
    finally:
        proxy.stop()   # the access lines of the last loop pass are written at exit too
    with open(proxy.log_path, "rb") as f:
        log = f.read().decode()
    misses = [l for l in log.splitlines() if "reasoning misses" in l]
    assert len(misses) == 2, log[-3000:]
    assert "misses=20" in misses[0] and "strategy=placeholder" in misses[0], misses[0]
    assert "message_indexes=1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,…" in misses[0], misses[0]
    access = [l for l in log.splitlines() if l.endswith("[ThinkbackRuntime] access")]
    assert len(access) == 2, log[-3000:]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} info thinkback: attempts=1 bytes_in=\d+ bytes_out=\d+ "
                    r"model=mimo-v2\.5-pro request_id=[0-9a-f]+ route=chat status=200 stream=false total_ms=\d+ "
                    r"upstream_ms=\d+ \[ThinkbackRuntime\] access$", access[0]), access[0]
    assert SECRET_KEY not in log and SECRET_TEXT not in log


def test_no_access_line_when_turned_off_or_above_info(sim):
    sim_port = sim()
    for flags in (["--access-log", "off"], ["--log-level", "notice"]):
        proxy = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1", *flags])
        try:
            r = httpx.post(f"http://127.0.0.1:{proxy.port}/v1/chat/completions", headers={"Authorization": "Bearer k"},
                           json={"model": "mimo-v2.5-pro", "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
            assert r.status_code == 200
        finally:
            proxy.stop()
        with open(proxy.log_path, "rb") as f:
            assert b"] access" not in f.read(), flags


def test_json_lines_every_line_an_object_access_lines_too(sim):
    import json
    sim_port = sim()
    proxy = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1",
                               "--miss", "placeholder", "--log-format", "json"])
    try:
        url = f"http://127.0.0.1:{proxy.port}/v1/chat/completions"
        r = httpx.post(url, headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=10,
                       json={"model": 'mimo"v2\\.5', "messages": history(3)})
        assert r.status_code == 200, r.text
    finally:
        proxy.stop()
    with open(proxy.log_path, "rb") as f:
        lines = [l for l in f.read().decode().splitlines() if l]
    objects = [json.loads(l) for l in lines]   # every line parses
    assert all({"ts", "level", "label", "msg"} <= set(o) for o in objects), objects
    listening = [o for o in objects if o["msg"] == "listening"]
    assert listening and listening[0]["address"] == f"127.0.0.1:{proxy.port}"
    access = [o for o in objects if o["msg"] == "access"]
    assert len(access) == 1, objects
    a = access[0]
    assert a["route"] == "chat" and a["status"] == 200 and a["stream"] is False and a["attempts"] == 1
    assert a["model"] == "mimo?v2?.5", a   # a client's quote and backslash never reach the line
    assert isinstance(a["bytes_in"], int) and isinstance(a["total_ms"], int)
    misses = [o for o in objects if o["msg"] == "reasoning misses"]
    assert len(misses) == 1 and misses[0]["misses"] == "3", misses
    text = "\n".join(lines)
    assert SECRET_KEY not in text and SECRET_TEXT not in text
