"""GET / in a real browser (issue 20): Debian's headless Chromium loads the status page from a
running thinkback under traffic; the test reads the DOM the page's script rendered."""
import os
import re
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from anthropic_agent import converse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (scripts/setup --test installs it)")


def dom(port):
    out = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                          "--dump-dom", f"http://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def text(page, id_):
    m = re.search(r'id="%s"[^>]*>([^<]*)<' % re.escape(id_), page)
    assert m, f"no #{id_} in the page"
    return m.group(1)


def number(page, id_):
    return int(text(page, id_).replace(",", ""))


def test_the_page_renders_live_figures(stack):
    sim, proxy = stack(proxy_args=("--retries", "0"))
    for i in range(2):
        converse(f"http://127.0.0.1:{proxy}/anthropic", f"ak-page-{i}")
    status = httpx.get(f"http://127.0.0.1:{proxy}/", timeout=5).json()
    time.sleep(1.2)   # one tick of the per-second ring
    page = dom(proxy)
    assert 'data-loaded="1"' in page, page[:2000]
    assert text(page, "state") == "serving"
    assert number(page, "workers") == status["workers"] >= 1
    row = re.search(r'<tr data-upstream="custom">(.*?)</tr>', page)
    assert row and "(default)" in row.group(1), "each upstream has its row"
    assert text(page, "store") == "sqlite" and text(page, "store-state") == "ok"
    assert number(page, "served") >= status["served"] >= 8
    assert number(page, "hits-context") == status["restore"]["hits_context"] > 0
    assert number(page, "misses") == 0
    assert number(page, "entries") == status["cache"]["entries"] > 0
    assert text(page, "hit-rate") == "100.0% restored"
    assert text(page, "upstream") == "custom" and text(page, "base-url") == f"http://127.0.0.1:{sim}/v1"
    points = re.search(r'id="line-requests"[^>]*points="([^"]*)"', page)
    assert points and len(points.group(1).split()) >= 1, "the chart has its requests line"
    assert re.search(r'<tr><td>placeholder</td><td class="n">0</td></tr>', page)


def test_everyone_else_still_gets_json(stack):
    sim, proxy = stack()
    r = httpx.get(f"http://127.0.0.1:{proxy}/", timeout=5)
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body["history"]) == {"interval_seconds", "requests", "restored", "misses"}
    r = httpx.get(f"http://127.0.0.1:{proxy}/", headers={"Accept": "text/html,application/xhtml+xml"}, timeout=5)
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "<script" in r.text and "src=" not in r.text.split("<script", 1)[1].split(">", 1)[0], "no external script"
    assert "http://" not in r.text and "https://" not in r.text, "no external asset"
