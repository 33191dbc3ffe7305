"""The hub's gunicorn settings (``hub/gunicorn_conf.py``, imported by the repository root's
``gunicorn.conf.py``), which production and the production-shape end-to-end tests serve the hub with."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_a_worker_freezes_the_loaded_app_out_of_garbage_collection(tmp_path):
    """After a worker loads the app, what it loaded is frozen: full collections, which stop every
    request thread, no longer walk it."""
    probe = ("import gc, runpy, wsgi; settings = runpy.run_path('gunicorn.conf.py'); before = gc.get_freeze_count(); "
             "settings['post_worker_init'](None); print(before, gc.get_freeze_count())")
    answer = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "HUB_INSTANCE_PATH": str(tmp_path)})
    assert answer.returncode == 0, answer.stderr
    before, after = map(int, answer.stdout.split())
    assert before == 0 and after > 10_000  # the app's objects, not a handful


def test_the_installed_package_serves_the_app_as_hub_wsgi_from_any_directory(tmp_path):
    """``wsgi.py`` is a file of the repository root, which ``pip install`` does not install:
    ``gunicorn hub.wsgi:app`` works where only the package is importable (the repository's
    ``wsgi:app`` stays the same app). It has read the migrations this code ships: files copied
    over a running install later must not change what its /readyz asks for."""
    probe = ("import hub.wsgi, flask; from hub.store import schema; "
             "print(isinstance(hub.wsgi.app, flask.Flask) and schema.SCRIPTS in hub.wsgi.app.extensions)")
    answer = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
                                 "PYTHONPATH": str(ROOT)})
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "True"
    root = subprocess.run([sys.executable, "-c", "import wsgi, hub.wsgi; print(wsgi.app is hub.wsgi.app)"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin",
                                                                              "HUB_INSTANCE_PATH": str(tmp_path)})
    assert root.stdout.strip() == "True", root.stderr


def test_each_gunicorn_master_has_a_control_socket_of_its_own():
    """gunicorn 25.1+ puts every master of a user on one control socket path (~/.gunicorn/gunicorn.ctl):
    a second hub (or any other gunicorn) of the same user took the first one's over."""
    import os
    import runpy

    from gunicorn.config import ControlSocket

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["control_socket"] == os.path.join(os.path.dirname(ControlSocket.default),
                                                      f"gunicorn-{os.getpid()}.ctl")


@pytest.mark.parametrize("config, app, where", [
    ("gunicorn.conf.py", "wsgi:app", "root"),
    # the installed package's settings and app, from any directory (an install from a wheel has no
    # gunicorn.conf.py: without -c, gunicorn's sync worker and an access log with the keys)
    ("python:hub.gunicorn_conf", "hub.wsgi:app", "elsewhere"),
], ids=["repository-root", "installed-package"])
def test_the_access_log_does_not_hold_webhook_keys(tmp_path, config, app, where):
    """With ``--access-logfile`` (docs/operations.md), each request line used to carry the webhook
    URL's key, its only credential."""
    import re
    import time
    import urllib.error
    import urllib.request

    access_log = tmp_path / "access.log"
    errors = open(tmp_path / "error.log", "w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", config, "-w", "1", "--threads", "2", "-b", "127.0.0.1:0",
         "--access-logfile", str(access_log), app],
        cwd=ROOT if where == "root" else tmp_path, stdout=subprocess.DEVNULL, stderr=errors,
        env={"PATH": "/usr/bin:/bin", "HUB_INSTANCE_PATH": str(tmp_path / "instance")})
    try:
        deadline, url = time.monotonic() + 60, None
        while url is None and time.monotonic() < deadline:
            errors.seek(0)
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", errors.read())
            url = found.group(1) if found else time.sleep(0.2)
        assert url, "gunicorn did not start"
        request = urllib.request.Request(f"{url}/webhooks/lever/TheSecretKey42?x=1", data=b"{}", method="POST")
        try:
            urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError:
            pass  # no such integration: the answer does not matter, its log line does
        deadline = time.monotonic() + 10
        while "/webhooks/" not in (access_log.read_text() if access_log.exists() else "") \
                and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
        errors.close()
    logged = access_log.read_text()
    assert "Using worker: gthread" in (tmp_path / "error.log").read_text()  # the hub's settings, not gunicorn's
    assert '"POST /webhooks/lever/***?x=1 HTTP/1.1"' in logged
    assert "TheSecretKey42" not in logged + (tmp_path / "error.log").read_text()


def test_the_redaction_keeps_everything_but_the_key():
    from hub.logging_setup import redact_webhook_keys

    assert redact_webhook_keys("POST /webhooks/lever/abc-DEF_1 HTTP/1.1") == "POST /webhooks/lever/*** HTTP/1.1"
    assert redact_webhook_keys("/webhooks/canditech/k#frag") == "/webhooks/canditech/***#frag"
    assert redact_webhook_keys("GET /integrations/lever HTTP/1.1") == "GET /integrations/lever HTTP/1.1"
    assert redact_webhook_keys("/webhooks/lever/") == "/webhooks/lever/"


def test_the_redaction_keeps_gunicorns_atoms_mapping_for_custom_formats():
    """gunicorn's atoms answer "-" for a header the request lacks; the redactor replaced them with a
    plain dict, so a format naming such a header lost the line ("--- Logging error ---")."""
    import logging

    from hub.logging_setup import WebhookKeyRedactor

    class Atoms(dict):  # as gunicorn's SafeAtoms
        def __missing__(self, key):
            return "-"

    atoms = Atoms({"r": "POST /webhooks/lever/k3y HTTP/1.1", "s": "404"})
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1,
                               '"%(r)s" %(s)s %({x-forwarded-for}i)s', (), None)
    record.args = atoms
    assert WebhookKeyRedactor().filter(record)
    assert record.getMessage() == '"POST /webhooks/lever/*** HTTP/1.1" 404 -'


def test_hub_runs_request_lines_do_not_hold_webhook_keys(tmp_path, capsys):
    """`hub run` serves with werkzeug, whose request lines the hub's logging passes on at INFO."""
    import logging

    from hub.app import create_app

    create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    capsys.readouterr()
    logging.getLogger("werkzeug").info('%s - - [%s] "%s" %s %s', "127.0.0.1", "30/Nov/2026 08:00:00",
                                       "POST /webhooks/lever/TheSecretKey42 HTTP/1.1", "200", "-")
    logged = capsys.readouterr().err
    assert '"POST /webhooks/lever/*** HTTP/1.1" 200' in logged and "TheSecretKey42" not in logged


def test_the_process_count_follows_the_cpus_gunicorn_may_use(monkeypatch):
    """``multiprocessing.cpu_count()`` counts the machine's cores: gunicorn limited to 3 CPUs (its
    affinity; a pod's CPU limit likewise) started one process per core of the machine, each with its
    threads' database connections (docs/operations.md, *Capacity*)."""
    import os
    import runpy

    from hub.gunicorn_conf import cgroup_cpu_quota

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    quota = cgroup_cpu_quota()
    expected = max(2, 3 if quota is None else min(3, max(1, -(-quota // 1))))
    assert runpy.run_path(str(ROOT / "hub" / "gunicorn_conf.py"))["workers"] == expected
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert runpy.run_path(str(ROOT / "hub" / "gunicorn_conf.py"))["workers"] == 2  # at least 2


def _cgroups(tmp_path, membership: str, files: dict[str, str]):
    proc = tmp_path / "cgroup"
    proc.write_text(membership)
    root = tmp_path / "sys"
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return str(proc), str(root)


@pytest.mark.parametrize("membership, files, quota", [
    # cgroup v2 under systemd: the service's own cpu.max sets none, its slice's 1.5 CPUs
    ("0::/system.slice/hub-web.service\n", {"system.slice/hub-web.service/cpu.max": "max 100000\n",
                                             "system.slice/cpu.max": "150000 100000\n"}, 1.5),
    # a container (cgroup namespace): its own cgroup is the root of /sys/fs/cgroup
    ("0::/\n", {"cpu.max": "200000 100000\n"}, 2.0),
    ("0::/\n", {"cpu.max": "max 100000\n"}, None),
    # cgroup v1: the cpu controller's hierarchy; a container sees its own at its root
    ("4:cpu,cpuacct:/docker/0123abcd\n2:memory:/docker/0123abcd\n",
     {"cpu,cpuacct/cpu.cfs_quota_us": "300000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}, 3.0),
    ("1:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ("0::/\n", {}, None),  # no cpu controller there
], ids=["v2-slice", "v2-container", "v2-unlimited", "v1-container", "v1-unlimited", "none"])
def test_a_cgroup_cpu_quota_is_read_where_the_process_is(tmp_path, membership, files, quota):
    from hub.gunicorn_conf import cgroup_cpu_quota

    assert cgroup_cpu_quota(*_cgroups(tmp_path, membership, files)) == quota


def test_the_quota_rounds_up_and_never_raises_the_count(tmp_path, monkeypatch):
    import os

    from hub.gunicorn_conf import cgroup_cpu_quota, cpus_available

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    assert cpus_available(*_cgroups(tmp_path, "0::/\n", {"cpu.max": "150000 100000\n"})) == 2
    assert cpus_available(*_cgroups(tmp_path, "0::/\n", {"cpu.max": "50000 100000\n"})) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert cpus_available(*_cgroups(tmp_path, "0::/\n", {"cpu.max": "800000 100000\n"})) == 2
    assert cgroup_cpu_quota(str(tmp_path / "no-such-file"), str(tmp_path)) is None
