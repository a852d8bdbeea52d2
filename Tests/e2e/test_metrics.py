"""GET /metrics (issue 20): Prometheus text format from a running thinkback under real traffic,
and the Grafana dashboard's queries against a real scrape."""
import json
import os
import re

import httpx
import openai

from anthropic_agent import converse


def scrape(port):
    r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return r.text


def samples(text):
    """{(name, frozenset(labels)): value}, checking every line's syntax."""
    out, types = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("# HELP "):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+]+|\+Inf|NaN)', line)
        assert m, f"not an exposition line: {line!r}"
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out, types


def value(s, name, **labels):
    return sum(v for (n, ls), v in s.items() if n == name and all((k, str(x)) in ls for k, x in labels.items()))


def test_a_scrape_counts_what_happened(stack):
    sim, proxy = stack(proxy_args=("--retries", "0"))
    c = openai.OpenAI(base_url=f"http://127.0.0.1:{proxy}/v1", api_key="k-metrics", max_retries=0, timeout=30)
    for _ in range(3):
        c.chat.completions.create(model="mimo-v2.5-pro", messages=[{"role": "user", "content": "hi"}])
    list(c.chat.completions.create(model="mimo-v2.5-pro", messages=[{"role": "user", "content": "hi"}], stream=True))
    messages, turns = converse(f"http://127.0.0.1:{proxy}/anthropic", "ak-metrics", questions=[
        "What is the weather in Beijing, and what does notes/trip.md say about the plan?"])
    httpx.get(f"http://127.0.0.1:{proxy}/nothing", timeout=5)
    s, types = samples(scrape(proxy))
    assert value(s, "thinkback_requests_total", route="chat", status=200) == 4
    assert value(s, "thinkback_requests_total", route="messages", status=200) >= 2
    assert value(s, "thinkback_requests_total", route="not-found", status=404) == 1
    assert types["thinkback_upstream_first_byte_seconds"] == "histogram"
    assert value(s, "thinkback_upstream_first_byte_seconds_count") >= 6
    assert value(s, "thinkback_request_duration_seconds_count") >= 6
    assert value(s, "thinkback_request_bytes_total") > 0 and value(s, "thinkback_response_bytes_total") > 0
    assert value(s, "thinkback_captures_total") >= 1
    assert value(s, "thinkback_restore_hits_total", key="context") == turns
    assert value(s, "thinkback_restore_misses_total") == 0
    assert value(s, "thinkback_streams_open") == 0
    assert value(s, "thinkback_store_up", store="sqlite") == 1
    assert value(s, "thinkback_cache_entries") >= 1
    assert value(s, "thinkback_commit_wait_seconds_count") >= 1
    # Counters only grow between scrapes.
    c.chat.completions.create(model="mimo-v2.5-pro", messages=[{"role": "user", "content": "again"}])
    s2, _ = samples(scrape(proxy))
    assert value(s2, "thinkback_requests_total", route="chat", status=200) == 5
    assert value(s2, "thinkback_requests_total", route="metrics", status=200) == 1


def test_every_dashboard_query_names_a_metric_a_scrape_has(stack):
    sim, proxy = stack(proxy_args=("--retries", "0"))
    openai.OpenAI(base_url=f"http://127.0.0.1:{proxy}/v1", api_key="k", max_retries=0, timeout=30).chat.completions.create(
        model="mimo-v2.5-pro", messages=[{"role": "user", "content": "hi"}])
    _, types = samples(scrape(proxy))
    dashboard = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "dist", "grafana", "thinkback.json")))
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = re.findall(r"\bthinkback_[a-z0-9_]+", target["expr"])
            assert names, target["expr"]
            for name in names:
                base = re.sub(r"_(bucket|sum|count)$", "", name) if name.endswith(("_bucket", "_sum", "_count")) else name
                assert base in types, f"panel {panel['title']!r}: {name} is not in a scrape"
                if name != base:
                    assert types[base] == "histogram", name
