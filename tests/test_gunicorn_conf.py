"""The repository's gunicorn settings (``gunicorn.conf.py``), which production and the
production-shape end-to-end tests serve the hub with."""

import subprocess
import sys
from pathlib import Path

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
    ``wsgi:app`` stays the same app)."""
    probe = "import hub.wsgi, flask; print(isinstance(hub.wsgi.app, flask.Flask))"
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
