"""Debian's nginx in front of thinkback, TLS on loopback, with dist/nginx-thinkback.conf's
location (issue 20): a stream still arrives event by event, a whole answer and an Anthropic
answer pass, the client's key reaches the provider."""
import os
import re
import shutil
import subprocess
import time

import httpx
import pytest

DIST = os.path.join(os.path.dirname(__file__), "..", "..", "dist", "nginx-thinkback.conf")

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"),
                                reason="nginx not installed (scripts/setup --test installs it)")


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def nginx_front(stack, tmp_path):
    sim, proxy = stack(proxy_args=("--retries", "0"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    conf = open(DIST).read()
    port = free_port()
    conf = conf.replace("server 127.0.0.1:8899;", f"server 127.0.0.1:{proxy};")
    conf = conf.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;")
    conf = conf.replace("/etc/ssl/thinkback/cert.pem", str(tmp_path / "cert.pem"))
    conf = conf.replace("/etc/ssl/thinkback/key.pem", str(tmp_path / "key.pem"))
    user = f"user {os.popen('id -un').read().strip()} {os.popen('id -gn').read().strip()};" if os.getuid() == 0 else ""
    temp = "\n".join(f"    {d}_temp_path {tmp_path}/{d};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = f"""{user}
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
{conf}
}}
"""
    (tmp_path / "nginx.conf").write_text(main)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    p = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log"),
                          "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            httpx.get(f"https://127.0.0.1:{port}/health", verify=False, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield sim, proxy, port
    p.terminate()
    p.wait(10)


def test_a_stream_arrives_event_by_event_through_nginx(nginx_front):
    sim, proxy, port = nginx_front
    body = {"model": "mimo-v2.5-pro", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    arrivals = []
    start = time.monotonic()
    with httpx.stream("POST", f"https://127.0.0.1:{port}/v1/chat/completions", json=body, verify=False, timeout=30,
                      headers={"Authorization": "Bearer k-nginx", "x-sim-interval-ms": "50"}) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data:"):
                arrivals.append(time.monotonic() - start)
    assert len(arrivals) > 5
    # 50 ms apart at the simulator: spread out at the client, not delivered in one burst.
    assert arrivals[-1] - arrivals[0] > 0.05 * (len(arrivals) - 2), arrivals


def test_whole_answers_and_anthropic_through_nginx(nginx_front):
    sim, proxy, port = nginx_front
    r = httpx.post(f"https://127.0.0.1:{port}/v1/chat/completions", verify=False, timeout=30,
                   headers={"Authorization": "Bearer k-nginx"},
                   json={"model": "mimo-v2.5-pro", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["role"] == "assistant"
    r = httpx.post(f"https://127.0.0.1:{port}/anthropic/v1/messages", verify=False, timeout=30,
                   headers={"x-api-key": "ak-nginx"},
                   json={"model": "mimo-v2.5-pro", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200 and r.json()["type"] == "message"
