"""Mutated and random requests, sent whole or split anywhere, never crash or wedge the proxy
(issue 17): afterwards it answers as before and holds no more descriptors than it did."""
import os
import random
import socket
import time

import httpx

from conftest import receive

GOOD = [
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\n"
    b"Content-Length: 68\r\n\r\n"
    b'{"model":"mimo-v2.5-pro","messages":[{"role":"user","content":"hi"}]}',
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'44\r\n{"model":"mimo-v2.5-pro","messages":[{"role":"user","content":"hi"}]}\r\n0\r\n\r\n',
    b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\r\n",
]
SPECIAL = [b"\0", b"\r", b"\n", b"\r\n", b" ", b"\t", b":", b";", b"0", b"f", b"-", b"\xff", b"\r\n\r\n",
           b"Content-Length: 5\r\n", b"Transfer-Encoding: chunked\r\n", b"\r\n \r\n"]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data) + 1)
        kind = rng.random()
        if kind < 0.4:
            data[at:at] = rng.choice(SPECIAL)
        elif kind < 0.7 and at < len(data):
            del data[at:at + rng.randint(1, 8)]
        elif at < len(data):
            data[at] = rng.randrange(256)
    return bytes(data)


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_mutated_requests_split_anywhere_never_crash_or_wedge_the_proxy(stack):
    sim, prx = stack((), ("--client-header-timeout", "1", "--client-body-timeout", "1"))
    pid = int(os.popen(f"ss -ltnpH 'sport = :{prx}'").read().split("pid=")[1].split(",")[0])
    ok = lambda: httpx.post(f"http://127.0.0.1:{prx}/v1/chat/completions", headers={"Authorization": "Bearer k"},
                            json={"model": "mimo-v2.5-pro", "messages": [{"role": "user", "content": "hi"}]}, timeout=5)
    assert ok().status_code == 200
    time.sleep(0.3)
    fds_before = open_fds(pid)
    rng = random.Random(17)
    statuses = {}
    for i in range(300):
        raw = mutate(rng, rng.choice(GOOD)) * rng.choice([1, 1, 2])
        s = socket.create_connection(("127.0.0.1", prx))
        s.settimeout(0.25)
        cut = rng.randrange(len(raw) + 1)
        try:
            s.sendall(raw[:cut])
            if rng.random() < 0.5:
                time.sleep(0.005)
            s.sendall(raw[cut:])
        except OSError:
            pass
        out, _ = receive(s)
        s.close()
        code = out[9:12] if out.startswith(b"HTTP/1.") else b"none"
        statuses[code] = statuses.get(code, 0) + 1
    # Whatever each got, the proxy still answers, and let go of every connection.
    assert ok().status_code == 200, statuses
    deadline = time.monotonic() + 5
    while open_fds(pid) > fds_before + 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert open_fds(pid) <= fds_before + 2, (open_fds(pid), fds_before, statuses)
    assert statuses.get(b"200", 0) > 0 and statuses.get(b"400", 0) > 0, statuses
