"""An instance folder that is not one, a generated key file that cannot be read, a database file
that is not a database: each said in one line naming it, not a bare Python exception
("Error: FileExistsError: [Errno 17] File exists: ...", "Error: IsADirectoryError: ...",
"Error: DatabaseError: (sqlite3.DatabaseError) file is not a database" and a second line)."""

import subprocess
import sys

import sqlalchemy as sa

from hub.cli import failure_message
from tests.support.processes import ROOT


def _hub(args, instance):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HUB_INSTANCE_PATH": str(instance)}
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, cwd=str(ROOT), capture_output=True,
                          text=True, timeout=60)


def test_an_instance_folder_that_is_a_file_is_named(tmp_path):
    instance = tmp_path / "instance"
    instance.write_text("not a folder\n")
    done = _hub(["users", "list"], instance)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (f"Error: the instance folder {instance} (HUB_INSTANCE_PATH, default ./instance) "
                                   "is a file, not a folder: name a folder (it is created when missing)")


def test_a_generated_key_that_cannot_be_read_is_named(tmp_path):
    (tmp_path / "encryption_keys").mkdir()
    done = _hub(["users", "list"], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"Error: {tmp_path / 'encryption_keys'} (a key the embedded hub generated in its "
                                   "instance folder) cannot be read: Is a directory")


def test_a_database_file_that_is_not_a_database_is_said_in_one_line(tmp_path):
    (tmp_path / "hub.db").write_text("not a database, " * 100)
    done = _hub(["users", "list"], tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == "Error: the database cannot be used (check HUB_DATABASE_URL): file is not a database"


def test_any_other_database_error_names_the_drivers_first_line():
    error = sa.exc.DatabaseError("SELECT", None, Exception("database disk image is malformed\nmore"))
    assert failure_message(error) == ("the database cannot be used (check HUB_DATABASE_URL): database disk image "
                                      "is malformed")


def test_an_error_of_the_hub_s_own_statement_does_not_blame_the_database_url():
    """Only a plain ``DatabaseError`` (a file that is no database, a damaged one) is the database's
    fault: a refused row or value (IntegrityError, DataError) or a bad statement is the command's,
    and is named as it was, not as "check HUB_DATABASE_URL"."""
    import sqlite3

    refused = sa.exc.IntegrityError("INSERT", None, sqlite3.IntegrityError("UNIQUE constraint failed: users.email"))
    too_long = sa.exc.DataError("INSERT", None, Exception("value too long for type character varying(200)"))
    for error in (refused, too_long):
        said = failure_message(error)
        assert "HUB_DATABASE_URL" not in said and said.startswith(type(error).__name__), said
