"""`hub run` and `hub demo` stop cleanly on SIGINT (Ctrl-C) and SIGTERM, workers included."""

import re
import signal
import subprocess
import sys

import pytest
import requests

from tests.support.processes import ROOT, free_port, wait_for


def _start(args, env, cwd, log):
    """Start ``args`` with its output in the file ``log`` (a pipe nobody reads while the process
    runs could fill up and block it), and SIGINT handled as in a terminal: a test run started in
    the background of a non-interactive shell ignores SIGINT, and its children would inherit that."""
    with open(log, "ab") as output:
        return subprocess.Popen(args, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _stop(process, sig, log) -> str:
    """Send ``sig``; the process must exit within 30 s. Returns its output (in the failure, its last lines)."""
    process.send_signal(sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        pytest.fail(f"{process.args} did not stop within 30 s of signal {sig}; its last output:\n{tail}")
    return log.read_text(errors="replace")



@pytest.mark.slow
@pytest.mark.parametrize("command, sig", [("run", signal.SIGINT), ("run", signal.SIGTERM),
                                          ("demo", signal.SIGINT)])
def test_stops_cleanly_on_signals(tmp_path, command, sig):
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HUB_INSTANCE_PATH": str(tmp_path / "instance")}
    args = [sys.executable, "-m", "hub", command, "--port", str(port)]
    if command == "demo":
        args += ["--instance", str(tmp_path / "demo")]
    log = tmp_path / "output.log"
    process = _start(args, env, tmp_path, log)
    try:
        def up():
            try:
                return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, 90, message=f"hub {command} to answer")
        output = _stop(process, sig, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "worker stopped" in output
    if command == "demo":
        assert "demo stopped" in output
        assert "sign in as admin@example.com / hub-demo-password" in output
        assert "Lever sandbox:" in output and "Canditech sandbox:" in output
        assert 'attached "Python Developer" (Canditech) on "Canditech Stage" of "Backend Engineer"' in output


@pytest.mark.slow
def test_demo_runs_again_on_its_leftovers_and_with_reset(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HUB_INSTANCE_PATH": str(tmp_path / "instance")}
    outputs = []
    for extra in ([], [], ["--reset"]):
        port = free_port()
        log = tmp_path / f"output-{len(outputs)}.log"
        process = _start([sys.executable, "-m", "hub", "demo", "--port", str(port), "--instance",
                          str(tmp_path / "demo"), *extra], env, tmp_path, log)
        try:
            def up():
                try:
                    return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
                except requests.RequestException:
                    return False

            wait_for(up, 90, message="hub demo to answer")
            signed_in = requests.Session()
            form = signed_in.get(f"http://127.0.0.1:{port}/sign-in", timeout=10).text
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
            page = signed_in.post(f"http://127.0.0.1:{port}/sign-in", timeout=10,
                                  data={"email": "admin@example.com", "password": "hub-demo-password",
                                        "csrf_token": token})
            assert page.status_code == 200 and "Sign out" in page.text
            outputs.append(_stop(process, signal.SIGINT, log))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    for output in outputs:
        assert "Traceback" not in output and "demo stopped" in output
        assert 'attached "Python Developer"' in output
