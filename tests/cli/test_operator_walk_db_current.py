"""``hub db current`` on a database no migration has reached (an operator's walk through *Backups*:
the restore procedure runs it, and it "must name the revision the code needs").

It printed nothing at all and exited 0, the same as a command that did not run: an
``HUB_DATABASE_URL`` naming another database than the one restored into looked like an answer. It
now says the database has no tables yet and which revision this version needs."""

from __future__ import annotations

import subprocess
import sys

from alembic.script import ScriptDirectory

from tests.support.processes import ROOT

HEAD = ScriptDirectory(str(ROOT / "migrations")).get_current_head()


def _hub(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
           "HUB_INSTANCE_PATH": str(tmp_path / "instance")}
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)


def test_db_current_says_the_database_was_never_migrated_then_names_its_revision(tmp_path):
    empty = _hub(tmp_path, "db", "current")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.strip() == (f"no migration applied: the database has no tables yet (this version of the hub "
                                    f"needs {HEAD}): run `hub init`")
    assert _hub(tmp_path, "db", "upgrade").returncode == 0
    migrated = _hub(tmp_path, "db", "current")
    assert (migrated.returncode, migrated.stdout.strip()) == (0, f"{HEAD} (head)")
