"""Starts the real simulator and the real proxy on 127.0.0.1 (port 0, read back from logs)."""
import os
import resource
import re
import signal
import socket
import tempfile
import subprocess
import time

import pytest

BIN = os.environ.get("THINKBACK_BIN_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug")


class Proc:
    def __init__(self, name, args, env=None, max_files=None, preexec=None):
        self.log_path = f"/tmp/thinkback-e2e-{name}-{os.getpid()}-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "w+b")
        if name == "thinkback" and "--state-dir" not in args:
            # Each proxy its own state directory (tenant secret, SQLite store): no test sees
            # another's cache unless it shares a directory on purpose.
            args = list(args) + ["--state-dir", tempfile.mkdtemp(prefix="thinkback-e2e-state-")]
        self.p = subprocess.Popen([os.path.join(BIN, name)] + args, stdout=self.log, stderr=self.log,
                                  env={**os.environ, **env} if env else None,
                                  preexec_fn=preexec or ((lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (max_files, max_files)))
                                                         if max_files else None))
        self.port = None
        deadline = time.time() + 20
        while time.time() < deadline:
            self.log.flush()
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            m = re.search(r"listening.*?127\.0\.0\.1:(\d+)|127\.0\.0\.1:(\d+).*listening", text)
            if m:
                self.port = int(m.group(1) or m.group(2))
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{name} did not start: {text}")

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.log.close()


def receive(sock, until=None):
    """Reads until the server closes `sock`, its timeout passes, or `until(bytes so far)`.
    Returns (the bytes, whether the server closed the connection)."""
    out, closed = b"", False
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                closed = True
                break
            out += d
            if until and until(out):
                break
    except socket.timeout:
        pass
    except OSError:   # reset: closed too
        closed = True
    return out, closed


@pytest.fixture
def stack():
    """A simulator and a proxy in front of it. Yields (sim_port, proxy_port)."""
    procs = []

    def start(sim_args=(), proxy_args=()):
        sim = Proc("thinkback-sim", ["--listen", "127.0.0.1:0", *sim_args])
        procs.append(sim)
        proxy = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim.port}/v1", *proxy_args])
        procs.append(proxy)
        return sim.port, proxy.port

    yield start
    for p in reversed(procs):
        p.stop()


@pytest.fixture
def sim():
    """The simulator alone (no proxy). `sim(*args)` starts one and returns its port."""
    procs = []

    def start(*sim_args):
        p = Proc("thinkback-sim", ["--listen", "127.0.0.1:0", *sim_args])
        procs.append(p)
        return p.port

    yield start
    for p in reversed(procs):
        p.stop()


@pytest.fixture
def proxy():
    """Another proxy in front of a running simulator: `proxy(sim_port, *args)` returns its port."""
    procs = []

    def start(sim_port, *proxy_args):
        p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1", *proxy_args])
        procs.append(p)
        return p.port

    yield start
    for p in reversed(procs):
        p.stop()
