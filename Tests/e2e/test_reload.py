"""The config file and SIGHUP (issue 20): `--config` read at start with a stated precedence
(flags > THINKBACK_* > file > defaults), read again on SIGHUP without dropping connections or
streams; a bad file is refused with one line and the running config stays."""
import os
import signal
import socket
import threading
import time

import httpx

from conftest import Proc

HISTORY = [{"role": "user", "content": "hi"},
           {"role": "assistant", "content": "", "tool_calls": [{"id": "call_reload_1", "type": "function",
                                                                 "function": {"name": "f", "arguments": "{}"}}]},
           {"role": "tool", "tool_call_id": "call_reload_1", "content": "ok"}]


def status(port):
    return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).json()


def wait_for_log(proc, text, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in open(proc.log_path, encoding="utf-8", errors="replace").read():
            return True
        time.sleep(0.05)
    return False


def test_precedence_flags_env_file_defaults(sim, tmp_path):
    sim_port = sim()
    conf = tmp_path / "thinkback.conf"
    conf.write_text("# a comment\nmiss = reject\nrestore = all\n\nplaceholder-memory = 60\n")
    base = ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1", "--config", str(conf)]
    p = Proc("thinkback", base)
    try:
        s = status(p.port)["restore"]
        assert s["miss"] == "reject" and s["scope"] == "all"
    finally:
        p.stop()
    p = Proc("thinkback", base, env={"THINKBACK_MISS": "strip"})
    try:
        assert status(p.port)["restore"]["miss"] == "strip", "the environment wins over the file"
    finally:
        p.stop()
    p = Proc("thinkback", base + ["--miss", "textualize"], env={"THINKBACK_MISS": "strip"})
    try:
        assert status(p.port)["restore"]["miss"] == "textualize", "a flag wins over both"
    finally:
        p.stop()


def test_a_bad_file_at_start_is_a_clear_error(sim, tmp_path):
    import subprocess
    from conftest import BIN
    conf = tmp_path / "bad.conf"
    conf.write_text("miss = reject\nno-such-option = 1\n")
    r = subprocess.run([os.path.join(BIN, "thinkback"), "--listen", "127.0.0.1:0", "--config", str(conf)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 64 and "config line 2: unknown option 'no-such-option'" in r.stderr, r.stderr


def test_sighup_reloads_without_dropping_a_stream_and_refuses_a_bad_file(sim, tmp_path):
    sim_port = sim()
    conf = tmp_path / "thinkback.conf"
    conf.write_text("miss = placeholder\n")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(0.2)
    p = Proc("thinkback", ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{sim_port}/v1",
                           "--config", str(conf), "--retries", "0"], env={"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    url = f"http://127.0.0.1:{p.port}/v1/chat/completions"
    body = {"model": "mimo-v2.5-pro", "messages": HISTORY}
    try:
        assert httpx.post(url, json=body, headers={"Authorization": "Bearer k1"}, timeout=10).status_code == 200
        # A stream in progress across the reload.
        got = {}

        def stream():
            with httpx.stream("POST", url, json={"model": "mimo-v2.5-pro", "stream": True,
                                                 "messages": [{"role": "user", "content": "hi"}]},
                              headers={"Authorization": "Bearer k1", "x-sim-interval-ms": "40"}, timeout=30) as r:
                got["events"] = sum(1 for line in r.iter_lines() if line.startswith("data:"))
                got["status"] = r.status_code
        t = threading.Thread(target=stream)
        t.start()
        time.sleep(0.3)
        conf.write_text("miss = reject\nstore = memory\n")
        p.p.send_signal(signal.SIGHUP)
        assert wait_for_log(p, "config reloaded"), open(p.log_path).read()[-2000:]
        t.join()
        assert got["status"] == 200 and got["events"] > 5, got
        log = open(p.log_path).read()
        assert "restart_needed_for=store" in log, "a restart-only change is named, not applied"
        assert status(p.port)["cache"]["store"] == "sqlite"
        r = httpx.post(url, json=body, headers={"Authorization": "Bearer k1"}, timeout=10)
        assert r.status_code == 409, "reject applies to new requests"
        # A bad file: refused, the running config stays.
        conf.write_text("miss = sometimes\n")
        p.p.send_signal(signal.SIGHUP)
        assert wait_for_log(p, "config reload refused")
        assert httpx.post(url, json=body, headers={"Authorization": "Bearer k1"}, timeout=10).status_code == 409
        assert p.p.poll() is None
        msgs = []
        deadline = time.time() + 3
        while time.time() < deadline:
            try:
                msgs.append(notify.recv(4096).decode())
            except socket.timeout:
                pass
        assert any(m.startswith("RELOADING=1") for m in msgs), msgs
    finally:
        p.stop()
        notify.close()


def test_the_command_line_help_version_and_usage_errors():
    import subprocess
    from conftest import BIN
    tb = os.path.join(BIN, "thinkback")
    r = subprocess.run([tb, "--help"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0
    for flag in ("--listen", "--upstream", "--miss", "--store", "--config", "--proxy-keys", "--log-format"):
        assert flag in r.stdout, flag
    assert "[env: THINKBACK_MISS]" in r.stdout and "keys" in r.stdout
    r = subprocess.run([tb, "--version"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and r.stdout.startswith("thinkback ")
    r = subprocess.run([tb, "--miss", "sometimes"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 64 and "--miss: one of auto" in r.stderr
    r = subprocess.run([tb, "--lisen", "127.0.0.1:1"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 64 and "Unknown option '--lisen'" in r.stderr and "--listen" in r.stderr
    r = subprocess.run([tb, "keys", "add", "bad name"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 64 and "1-64 of" in r.stderr
