"""systemd's service protocol, spoken by thinkback itself (issue 20): `Type=notify` datagrams to
a fake `NOTIFY_SOCKET`, the watchdog, and socket activation (`LISTEN_FDS`)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import httpx
import pytest

from conftest import BIN


def notify_socket(tmp_path):
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.1)
    return s, path


def messages(sock, until, timeout=10):
    """Datagrams received until `until(all so far)` or the timeout."""
    got, deadline = [], time.time() + timeout
    while time.time() < deadline and not until(got):
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            pass
    return got


def start(args, env):
    log = tempfile.NamedTemporaryFile(prefix="thinkback-systemd-", suffix=".log", delete=False)
    p = subprocess.Popen([os.path.join(BIN, "thinkback"), *args], stdout=log, stderr=log,
                         env={**os.environ, **env}, pass_fds=env.pop("_pass_fds", ()))
    return p, log.name


def test_ready_only_once_the_port_accepts_then_stopping_and_a_clean_exit(tmp_path):
    sock, path = notify_socket(tmp_path)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    p, log = start(["--listen", f"127.0.0.1:{port}", "--state-dir", str(tmp_path / "state"),
                    "--upstream", "http://127.0.0.1:9/v1"], {"NOTIFY_SOCKET": path})
    try:
        got = messages(sock, lambda g: any("READY=1" in m for m in g))
        ready = next(m for m in got if "READY=1" in m)
        # At READY=1 the port already accepts and the store is open.
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
        assert f"MAINPID={p.pid}" in ready
        assert not any("STOPPING=1" in m for m in got)
        p.send_signal(signal.SIGTERM)
        got = messages(sock, lambda g: any("STOPPING=1" in m for m in g))
        assert any("STOPPING=1" in m for m in got), got
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
        sock.close()


def test_watchdog_pings_at_half_the_interval(tmp_path):
    sock, path = notify_socket(tmp_path)
    p, _ = start(["--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "state"), "--upstream", "http://127.0.0.1:9/v1"],
                 {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    try:
        got = messages(sock, lambda g: sum(1 for m in g if m == "WATCHDOG=1") >= 3, timeout=5)
        assert sum(1 for m in got if m == "WATCHDOG=1") >= 3, got
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
        sock.close()


def test_no_notify_socket_no_datagrams_and_a_bad_one_is_ignored(tmp_path):
    p, log = start(["--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "state"), "--upstream", "http://127.0.0.1:9/v1"],
                   {"NOTIFY_SOCKET": str(tmp_path / "nobody-listens.sock")})
    try:
        deadline = time.time() + 10
        while time.time() < deadline and "listening" not in open(log).read():
            time.sleep(0.05)
        assert "listening" in open(log).read()
        assert p.poll() is None, "a notification nobody receives does not stop thinkback"
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0


def test_socket_activation_serves_the_passed_socket(tmp_path):
    """As thinkback.socket does: systemd binds, passes the socket as fd 3 with LISTEN_FDS=1 and
    LISTEN_PID=the service's pid."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    fd = listener.fileno()

    def as_systemd_does():
        # In the child, before exec: the socket as fd 3, LISTEN_PID its own pid.
        os.dup2(fd, 3)
        os.environ["LISTEN_PID"] = str(os.getpid())
        os.environ["LISTEN_FDS"] = "1"

    log = open(tmp_path / "tb.log", "wb")
    p = subprocess.Popen([os.path.join(BIN, "thinkback"), "--listen", "127.0.0.1:1", "--state-dir", str(tmp_path / "state"),
                          "--upstream", "http://127.0.0.1:9/v1"], pass_fds=(3,), preexec_fn=as_systemd_does,
                         stdout=log, stderr=log)
    listener.close()
    try:
        deadline = time.time() + 10
        ok = False
        while time.time() < deadline and not ok:
            try:
                ok = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.05)
        assert ok, open(tmp_path / "tb.log").read()
        while time.time() < deadline and "address=systemd socket" not in open(tmp_path / "tb.log").read():
            time.sleep(0.05)   # the supervisor's line comes once every worker serves
        assert "address=systemd socket" in open(tmp_path / "tb.log").read()
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0


DIST = os.path.join(os.path.dirname(__file__), "..", "..", "dist")


def units_with_binary(tmp_path):
    """dist/'s units with ExecStart pointing at the built binary (verify wants it to exist)."""
    for rel in ("thinkback.service", "thinkback.socket", "user/thinkback.service"):
        text = open(os.path.join(DIST, rel)).read()
        text = text.replace("/usr/local/bin/thinkback", os.path.abspath(os.path.join(BIN, "thinkback")))
        text = text.replace("%h/.local/bin/thinkback", os.path.abspath(os.path.join(BIN, "thinkback")))
        out = tmp_path / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return tmp_path


def analyze(*args, env=None):
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (scripts/setup --test installs it)")
def test_the_units_verify_and_the_service_rates_2_or_lower(tmp_path):
    d = units_with_binary(tmp_path)
    r = analyze("verify", str(d / "thinkback.service"), str(d / "thinkback.socket"))
    assert r.returncode == 0, r.stdout + r.stderr
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    r = analyze("verify", "--user", str(d / "user" / "thinkback.service"), env={"XDG_RUNTIME_DIR": str(runtime)})
    assert r.returncode == 0, r.stdout + r.stderr
    r = analyze("security", "--offline=yes", str(d / "thinkback.service"))
    m = re.search(r"Overall exposure level for thinkback.service: ([0-9.]+)", r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 2.0, r.stdout
