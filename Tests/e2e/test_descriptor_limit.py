"""At the descriptor limit the proxy pauses accepting instead of spinning (issue 17): libevent
would retry accept() on every loop pass while connections wait in the backlog — a core at 100%
and a log line each time — and nobody already connected would notice anything else."""
import os
import socket
import time

import httpx

from conftest import Proc


def cpu_ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def test_a_connection_flood_at_the_descriptor_limit_pauses_accepting_without_spinning(sim):
    sim_port = sim()
    # One worker: the CPU measured is its loop's, the limit its own.
    proxy = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1", "--workers", "1"],
                 max_files=64)
    socks = []
    try:
        # A kept-alive client connected before the flood.
        client = httpx.Client(timeout=5)
        url = f"http://127.0.0.1:{proxy.port}/v1/chat/completions"
        ask = dict(headers={"Authorization": "Bearer k"},
                   json={"model": "mimo-v2.5-pro", "messages": [{"role": "user", "content": "hi"}]})
        assert client.post(url, **ask).status_code == 200
        for _ in range(120):   # more than the 64 descriptors the proxy may hold
            socks.append(socket.create_connection(("127.0.0.1", proxy.port)))
        time.sleep(0.5)
        before = cpu_ticks(proxy.p.pid)
        time.sleep(2)
        spent = cpu_ticks(proxy.p.pid) - before
        assert spent < 60, f"the proxy spun at the descriptor limit: {spent} ticks of CPU in 2 s"
        # The client already connected is still served.
        assert client.post(url, **ask).status_code == 200
        for s in socks:
            s.close()
        socks = []
        time.sleep(0.5)
        # Accepting resumed: new connections are served, and the pauses are counted.
        st = httpx.get(f"http://127.0.0.1:{proxy.port}/", timeout=5).json()
        assert st["connections"]["accept_pauses"] > 0, st
        assert httpx.post(url, timeout=5, **ask).status_code == 200
        assert proxy.p.poll() is None
        with open(proxy.log_path, "rb") as f:
            log = f.read()
        assert log.count(b"Error from accept") == 0, "libevent logged every failed accept"
        assert log.count(b"accept failed") == 1, log[-2000:]
    finally:
        for s in socks:
            s.close()
        proxy.stop()
