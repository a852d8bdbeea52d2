"""One slow reader never delays anyone else (issue 17): a client reading a 128 MiB stream at
80 KB/s, while others are answered as fast as without it, and what the proxy holds for the slow
one stays bounded (its upstream is paused, not buffered).

The upstream here is a small threaded Python server that writes its 128 MiB stream lazily (the
simulator would build the whole answer first, on its own loop, and stall its other clients)."""
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from conftest import Proc

BIG = 128 << 20
SMALL_ANSWER = json.dumps({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "mimo-v2.5-pro",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "", "reasoning_content": "thinking " * 20,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
}).encode()


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # no 40 ms delayed-ACK stalls

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not self.headers.get("x-big"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(SMALL_ANSWER)))
            self.end_headers()
            self.wfile.write(SMALL_ANSWER)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        piece = "x" * 16000
        event = ("data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "choices": [
            {"index": 0, "delta": {"reasoning_content": piece}, "finish_reason": None}]}) + "\n\n").encode()
        sent = 0
        try:
            while sent < BIG:
                self.wfile.write(event)
                sent += len(event)
            self.wfile.write(b"data: [DONE]\n\n")
        except OSError:
            pass
        self.close_connection = True


def rss_kib(pid):
    return int(open(f"/proc/{pid}/status").read().split("VmRSS:")[1].split()[0])


def test_one_slow_reader_of_a_huge_stream_delays_nobody_and_holds_bounded_memory():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{server.server_port}/v1"])
    try:
        prx = proxy.port
        client = httpx.Client(timeout=5)

        def small():
            started = time.monotonic()
            r = client.post(f"http://127.0.0.1:{prx}/v1/chat/completions", headers={"Authorization": "Bearer sk-other"},
                            json={"model": "mimo-v2.5-pro", "messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 200, r.text
            return time.monotonic() - started

        before = sorted(small() for _ in range(30))
        rss_before = rss_kib(proxy.p.pid)

        body = json.dumps({"model": "mimo-v2.5-pro", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        slow.connect(("127.0.0.1", prx))
        slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-slow\r\nx-big: 1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        got = [0]
        stop = threading.Event()

        def read_slowly():   # 8 KB every 0.1 s: 80 KB/s
            while not stop.is_set():
                d = slow.recv(8192)
                if not d:
                    break
                got[0] += len(d)
                time.sleep(0.1)

        reader = threading.Thread(target=read_slowly, daemon=True)
        reader.start()
        time.sleep(2)
        during = sorted(small() for _ in range(30))
        time.sleep(2)
        rss_after = rss_kib(proxy.p.pid)
        stop.set()
        slow.close()

        assert 100_000 < got[0] < 2_000_000, f"the slow reader got {got[0]} bytes"
        # As fast as without it: medians within a small absolute margin (the machine is shared).
        assert during[15] < before[15] + 0.02, (before[15], during[15])
        assert during[-1] < 1.0, during
        # The huge stream is paused upstream, not collected: memory grows by far less than it.
        assert rss_after - rss_before < 32 * 1024, (rss_before, rss_after)
    finally:
        proxy.stop()
        server.shutdown()
