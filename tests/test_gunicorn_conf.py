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
