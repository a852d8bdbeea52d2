"""`thinkback doctor` (issue 21) against the simulator in each provider's mode: what it finds and
what it recommends. Loopback only."""
import os
import subprocess

from conftest import BIN, Proc


def doctor(port, *args):
    r = subprocess.run([os.path.join(BIN, "thinkback"), "doctor", "--upstream", f"http://127.0.0.1:{port}/v1", *args],
                       capture_output=True, text=True, timeout=60, env={**os.environ, "THINKBACK_DOCTOR_KEY": "sk-doctor"})
    return r.returncode, r.stdout, r.stderr


def sim(*args):
    return Proc("thinkback-sim", ["--listen", "127.0.0.1:0", *args])


def test_mimo_refuses_without_the_reasoning_and_restoration_cures_it():
    s = sim("--flavor", "mimo")
    try:
        rc, out, err = doctor(s.port)
        assert rc == 0, err
        assert "without the reasoning: refused (HTTP 400, a wording auto recognises)" in out, out
        assert "with the reasoning restored: accepted" in out
        assert 'placeholder " " (the configured one): accepted' in out
        assert "nothing to change" in out
        assert "sk-doctor" not in out + err, "the key is never printed"
    finally:
        s.stop()


def test_deepseek_needs_restore_all():
    s = sim("--flavor", "deepseek")
    try:
        rc, out, err = doctor(s.port, "--model", "deepseek-v4-pro")
        assert rc == 0, err
        assert "a plain assistant message without reasoning: refused" in out, out
        assert "--upstream-set custom.restore=all" in out
        # Named and already set: nothing more to say about it.
        rc, out, _ = doctor(s.port, "--upstream", f"ds=http://127.0.0.1:{s.port}/v1", "--upstream-set", "ds.restore=all",
                            "--name", "ds")
        assert rc == 0 and "restore=all" not in out.split("recommended:")[1], out
    finally:
        s.stop()


def test_kimi_refuses_an_empty_placeholder():
    s = sim("--flavor", "kimi")
    try:
        rc, out, err = doctor(s.port, "--model", "kimi-k2.6", "--placeholder", "")
        assert rc == 0, err
        assert 'placeholder "" (the configured one): refused' in out and 'placeholder " ": accepted' in out, out
        assert "--upstream-set custom.placeholder=' '" in out
    finally:
        s.stop()


def test_placeholders_refused_everywhere_recommend_auto():
    s = sim("--refuse-placeholders", "on", "--refuse-empty", "on")
    try:
        rc, out, err = doctor(s.port)
        assert rc == 0, err
        assert 'placeholder " " (the configured one): refused' in out and "--miss auto" in out, out
    finally:
        s.stop()


def test_an_unreachable_upstream_is_said_and_fails():
    rc, out, err = doctor(9)   # nothing listens on port 9 of loopback
    assert rc == 1 and "first turn: no answer" in out, (out, err)
