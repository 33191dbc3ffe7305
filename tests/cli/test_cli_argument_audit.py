"""Bad arguments to the ``hub`` command: a non-zero exit (2 for a usage error) and one ``Error:``
line saying what is wrong; never a traceback, never exit status 0.

These run the ``hub`` group itself (``hub.cli.cli``, as the console script does), not ``app.cli``
(the ``runner`` fixture), whose ``db`` is Flask-Migrate's own group: the hub wraps it.

* ``hub db``: Flask-Migrate logged a bad ``-d/--directory`` ("Path doesn't exist ... Please use the
  'init' command", a log line with a timestamp, advising a developer command) and any Alembic error
  before exiting; an empty revision was an ``AssertionError``.
* ``hub users set-role`` / ``set-password``: an email with an escape character was printed back as it
  was ("no user with the email ..."), and the terminal acted on it.
* ``--password`` with a control character, an empty ``--name`` (which stood for the default) were
  taken, exit status 0.
* ``hub demo``: ``--instance ""`` ran the demo in the default folder; an unwritable folder was a
  ``FileNotFoundError``; ``--reset --instance ~`` (or ``/``) deleted the whole folder.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from hub.extensions import db
from hub.store.models import User

ESC = "\x1b"


def hub(app, *args: str):
    """``hub ARGS`` on ``app`` (the hub's own group, with the test's app)."""
    from flask.cli import ScriptInfo

    from hub.cli import cli

    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app), prog_name="hub")


def _refused(result, code: int, message: str) -> None:
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert message in errors[0], result.output


def _revision(app) -> str | None:
    from hub.store import schema

    with app.app_context():
        return schema.revisions(app)[0]


# ---------------------------------------------------------------- hub db
@pytest.fixture
def missing(tmp_path):
    return str(tmp_path / "no-such-folder")


@pytest.mark.parametrize("place", ["group", "command"])
@pytest.mark.parametrize("command", ["upgrade", "downgrade", "current", "heads", "history", "show", "branches",
                                     "stamp"])
def test_a_directory_that_does_not_exist_is_a_usage_error(app, missing, place, command):
    head = _revision(app)
    args = ["db", "-d", missing, command] if place == "group" else ["db", command, "-d", missing]
    result = hub(app, *args)
    _refused(result, 2, f"Invalid value for '-d' / '--directory': '{missing}' does not exist: name a folder of "
                        f"migration scripts, or leave -d out for the hub's own")
    assert "flask_migrate" not in result.output and "'init' command" not in result.output
    assert _revision(app) == head  # nothing was done


def test_a_file_or_a_folder_without_env_py_is_no_migrations_folder(app, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    _refused(hub(app, "db", "-d", str(afile), "upgrade"), 2, f"'{afile}' is a file, not a folder of migration scripts")
    _refused(hub(app, "db", "current", "-d", str(tmp_path)), 2,
             f"'{tmp_path}' is not a folder of migration scripts: it has no env.py")
    _refused(hub(app, "db", "-d", f"{tmp_path}/a{ESC}b", "heads"), 2, "holds a control character (U+001B)")


@pytest.mark.parametrize("args", [["db", "-d", "", "upgrade"], ["db", "upgrade", "-d", " "]], ids=["group", "command"])
def test_an_empty_directory_is_a_usage_error(app, args):
    _refused(hub(app, *args), 2, "Invalid value for '-d' / '--directory': is empty: name a folder of migration "
                                 "scripts, or leave -d out for the hub's own")


@pytest.mark.parametrize("command", ["upgrade", "downgrade", "show", "stamp"])
def test_an_empty_revision_is_a_usage_error(app, command):
    head = _revision(app)
    _refused(hub(app, "db", command, ""), 2, "Invalid value for '[REVISION]': is empty: name a revision")
    assert _revision(app) == head


@pytest.mark.parametrize("args", [["upgrade", "nosuch"], ["downgrade", "nosuch"], ["show", "nosuch"],
                                  ["stamp", "nosuch"]])
def test_an_unknown_revision_is_one_error_line_and_exit_status_1(app, args):
    head = _revision(app)
    result = hub(app, "db", *args)
    assert result.exit_code == 1
    assert result.output == ("Error: Can't locate revision identified by 'nosuch' (`hub db history` lists the "
                             "revisions this version knows)\n")
    assert _revision(app) == head


def test_a_revision_s_control_characters_are_not_printed_back(app):
    result = hub(app, "db", "show", f"a{ESC}[2Jb")
    assert result.exit_code == 1 and ESC not in result.output
    assert "Can't locate revision identified by 'a\\x1b[2Jb'" in result.output


def test_the_hub_s_own_and_a_named_migrations_folder_still_work(app):
    # (Alembic prints what these find on the sys.stdout of when it was imported: not the runner's)
    head = _revision(app)
    folder = app.extensions["migrate"].directory
    for args in (["db", "current"], ["db", "-d", folder, "heads"], ["db", "heads", "-d", folder],
                 ["db", "-d", folder, "upgrade"]):
        result = hub(app, *args)
        assert result.exit_code == 0 and result.exception is None, (args, result.output)
    assert _revision(app) == head


def test_downgrade_takes_a_negative_relative_revision_without_a_separator(make_app, tmp_path):
    """`hub db downgrade -1` (Alembic's "one step back", as its docs write it) was refused as an
    unknown option, "No such option '-1'"; only `hub db downgrade -- -1` took it."""
    app = make_app({"DATABASE_URL": "sqlite:///" + str(tmp_path / "own.db")}, entry_points=False)
    head = _revision(app)
    down = hub(app, "db", "downgrade", "-1")
    assert down.exit_code == 0, down.output
    one_back = _revision(app)
    assert one_back not in (head, None) and f"{head} -> {one_back}" in down.output
    assert hub(app, "db", "downgrade", "-d", app.extensions["migrate"].directory, "-2").exit_code == 0
    assert _revision(app) not in (head, one_back, None)
    assert hub(app, "db", "upgrade").exit_code == 0 and _revision(app) == head
    # a mistyped option is still refused as one, and nothing is undone
    _refused(hub(app, "db", "downgrade", "--sq"), 2, "No such option '--sq'. Did you mean '--sql'?")
    _refused(hub(app, "db", "downgrade", "-1", "-2"), 2, "Got unexpected extra argument (-2)")
    assert _revision(app) == head
    text = " ".join(hub(app, "db", "downgrade", "--help").output.split())
    assert "or -N to undo the last N migrations applied (default: -1, the last one)" in text


def test_the_db_help_says_the_default_folder(app):
    for args in (["db", "--help"], ["db", "upgrade", "--help"]):
        text = " ".join(hub(app, *args).output.split())
        assert "Folder of the migration scripts (default: the hub's own, which this version ships)." in text
        assert 'default is "migrations"' not in text


# ---------------------------------------------------------------- users, init
@pytest.mark.parametrize("command", [["users", "set-role", "{email}", "admin"], ["users", "set-password", "{email}"]],
                         ids=["set-role", "set-password"])
def test_an_email_with_a_control_character_is_refused_and_never_printed_back(app, command):
    args = [part.format(email=f"x{ESC}[31m@example.com") for part in command]
    result = hub(app, *args)
    _refused(result, 2, "Invalid value for 'EMAIL': holds an invisible or control character (U+001B), "
                        "which no user's email has")
    assert ESC not in result.output


@pytest.mark.parametrize("args", [
    ["users", "create", "pw@example.com", "--password", "long enough\tpassword"],
    ["users", "create", "pw@example.com", "--password", "long enough\u200bpassword"],
    ["init", "--non-interactive", "--password", f"long enough{ESC}password"],
], ids=["tab", "zero-width-space", "init-escape"])
def test_a_password_no_one_could_type_at_sign_in_is_refused(app, args):
    _refused(hub(app, *args), 2, "Invalid value for '--password': holds an invisible or control character (U+")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_set_password_refuses_a_control_character_and_keeps_the_old_password(app):
    assert hub(app, "users", "create", "keep@example.com", "--password", "the old password").exit_code == 0
    _refused(hub(app, "users", "set-password", "keep@example.com", "--password", "the new\x01password"), 2,
             "Invalid value for '--password': holds an invisible or control character (U+0001)")


@pytest.mark.parametrize("args", [["init", "--non-interactive", "--name", ""],
                                  ["users", "create", "named@example.com", "--name", " "]], ids=["init", "create"])
def test_an_empty_name_is_refused(app, args):
    _refused(hub(app, *args), 2, "Invalid value for '--name': is empty: give a display name, or leave --name out")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_users_create_without_a_name_takes_the_email_s_local_part(app):
    assert hub(app, "users", "create", "ann.lee@example.com").exit_code == 0
    with app.app_context():
        assert db.session.scalar(sa.select(User.name)) == "ann.lee"


# ---------------------------------------------------------------- every command: a sweep of bad arguments
SWEEP = [
    (["nosuch"], 2, "No such command 'nosuch'"),
    (["init", "--email", ""], 2, "Invalid value for '--email': is empty"),
    (["init", "--bogus"], 2, "No such option '--bogus'"),
    (["run", "--port", "-1"], 2, "Invalid value for '--port'"),
    (["run", "--port", "65536"], 2, "Invalid value for '--port'"),
    (["run", "--port", "abc"], 2, "Invalid value for '--port'"),
    (["run", "--workers", "0"], 2, "Invalid value for '--workers'"),
    (["run", "--host", ""], 2, "Invalid value for '--host': is empty"),
    (["run", "--host", f"a{ESC}b"], 2, "Invalid value for '--host': cannot listen on 'a\\x1bb'"),
    (["worker", "--workers", "65"], 2, "Invalid value for '--workers'"),
    (["worker", "--processes", "0"], 2, "Invalid value for '--processes'"),
    (["worker", "--processes", "x"], 2, "Invalid value for '--processes'"),
    (["demo", "--port", "70000"], 2, "Invalid value for '--port'"),
    (["users", "create"], 2, "Missing argument 'EMAIL'"),
    (["users", "create", ""], 2, "Invalid value for 'EMAIL': is empty"),
    (["users", "create", "x@example.com", "--role", ""], 2, "Invalid value for '--role'"),
    (["users", "list", "--workspace", "one"], 2, "Invalid value for '--workspace'"),
    (["users", "list", "--workspace", "0"], 1, "no workspace with id 0"),
    (["users", "set-role", "x@example.com", "root"], 2, "Invalid value for '{super_admin|admin|"),
    (["plugins", "enable"], 2, "Missing argument 'NAME'"),
    (["plugins", "enable", ""], 1, "no plugin named '' is installed"),
    (["plugins", "disable", f"a{ESC}b"], 1, "no plugin named 'a\\x1bb' is installed"),
    (["deliveries", "list", "--limit", "0"], 2, "Invalid value for '--limit'"),
    (["deliveries", "list", "--limit", "10001"], 2, "Invalid value for '--limit'"),
    (["deliveries", "list", "--status", "lost"], 2, "Invalid value for '--status'"),
    (["deliveries", "replay", "one"], 2, "Invalid value for '[DELIVERY_IDS]...'"),
    (["deliveries", "replay", "--", "-1"], 1, "no delivery with id -1"),
    (["keys", "rotate", "extra"], 2, "Got unexpected extra argument (extra)"),
    (["db", "nosuch"], 2, "No such command 'nosuch'"),
    (["db", "history", "-r", "nonsense"], 1, "History range requires [start]:[end]"),
    (["new-plugin", "acme"], 2, "Missing option '--kind'"),
    (["new-plugin", "", "--kind", "source"], 2, "Invalid value for NAME"),
]


@pytest.mark.parametrize("args, code, message", SWEEP, ids=[" ".join(map(ascii, a)) for a, _, _ in SWEEP])
def test_every_command_refuses_bad_arguments_in_one_line(app, args, code, message):
    result = hub(app, *args)
    _refused(result, code, message)
    assert ESC not in result.output


# ---------------------------------------------------------------- hub demo
@pytest.fixture
def no_demo_start(monkeypatch, tmp_path):
    """``hub demo`` stops where it would start its sandboxes and serve (a test must never serve
    for ever), with the default instance folder in ``tmp_path``."""
    import hub.cli.serve
    import hub.demo

    def started(*args, **kwargs):
        raise AssertionError("the demo started")

    monkeypatch.setattr(hub.demo, "start_sandbox_threads", started)
    monkeypatch.setattr(hub.cli.serve, "serve", started)
    monkeypatch.setenv("HUB_INSTANCE_PATH", str(tmp_path / "default-instance"))
    return tmp_path


@pytest.mark.parametrize("value, message", [
    ("", "Invalid value for '--instance': is empty: name a folder, or leave --instance out for "
         "<HUB_INSTANCE_PATH>/demo"),
    (" ", "Invalid value for '--instance': is empty"),
    ("a\x01b", "Invalid value for '--instance': 'a\\x01b' holds an invisible or control character (U+0001)"),
    ("/proc/no-such-demo", "Invalid value for '--instance': cannot write in /proc/no-such-demo: "),
    ("/dev/null/demo", "Invalid value for '--instance': cannot write in /dev/null/demo: Not a directory"),
], ids=["empty", "blank", "control", "unwritable", "under-a-file"])
def test_a_bad_demo_folder_is_a_usage_error_before_anything_starts(app, no_demo_start, value, message):
    _refused(hub(app, "demo", "--port", "0", "--instance", value), 2, message)
    assert not (no_demo_start / "default-instance").exists()  # not the default folder instead


def test_an_empty_source_is_refused_before_the_demo_s_folder_is_made(app, no_demo_start):
    folder = no_demo_start / "demo"
    _refused(hub(app, "demo", "--port", "0", "--instance", str(folder), "--source", ""), 2,
             "Invalid value for '--source': is empty")
    assert not folder.exists()


@pytest.mark.parametrize("others", [["notes.txt"], ["hub.db", "a", "b", "c", "d"]], ids=["one", "several"])
def test_reset_refuses_a_folder_that_is_not_a_demo_s_and_deletes_nothing(app, no_demo_start, others):
    folder = no_demo_start / "home"
    folder.mkdir()
    for name in others:
        (folder / name).write_text("keep me")
    result = hub(app, "demo", "--port", "0", "--reset", "--instance", str(folder))
    _refused(result, 2, f"Invalid value for '--instance': {folder} is not a demo's folder: it holds ")
    assert "--reset deletes only the demo's own files" in result.output
    if len(others) > 4:
        assert "it holds a, b, c and 1 more." in result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(others)
    assert all((folder / name).read_text() == "keep me" for name in others)


def test_reset_deletes_the_demo_s_files_and_keeps_its_hub_cfg(app, no_demo_start):
    folder = no_demo_start / "demo"
    folder.mkdir()
    for name in ("hub.db", "hub.db-wal", "queue.db", "secret_key", "encryption_keys"):
        (folder / name).write_text("old data")
    (folder / "hub.cfg").write_text("# an operator's settings\n")
    (folder / "hub-demo").write_text("written by an earlier demo\n")
    result = hub(app, "demo", "--port", "0", "--reset", "--instance", str(folder))
    assert "the demo started" in repr(result.exception)  # got as far as the sandboxes: past the reset
    assert (folder / "hub.cfg").read_text() == "# an operator's settings\n"
    for name in ("hub.db", "hub.db-wal", "queue.db", "secret_key", "encryption_keys"):
        path = folder / name
        assert not path.exists() or path.read_bytes() != b"old data", name


def test_the_demo_help_says_what_reset_deletes(app):
    text = " ".join(hub(app, "demo", "--help").output.split())
    assert re.search(r"--reset Delete the demo's data from earlier runs \(its databases and keys; a hub.cfg is "
                     r"kept\) and start afresh. A folder holding other files is refused", text), text


def test_reset_refuses_an_embedded_hubs_own_folder(app, no_demo_start):
    """A hub's instance folder (`hub run`) holds the same file names as a demo's: without the
    demo's marker file, --reset deletes nothing (it would delete a real hub's database and keys)."""
    folder = no_demo_start / "hub-instance"
    folder.mkdir()
    for name in ("hub.db", "queue.db", "secret_key", "encryption_keys"):
        (folder / name).write_text("a real hub's data")
    result = hub(app, "demo", "--port", "0", "--reset", "--instance", str(folder))
    _refused(result, 2, f"Invalid value for '--instance': {folder} holds a hub's database and keys, but `hub demo` "
                        "did not make it (it has no hub-demo file)")
    assert all((folder / name).read_text() == "a real hub's data"
               for name in ("hub.db", "queue.db", "secret_key", "encryption_keys"))


def test_a_new_demo_folder_is_marked_as_the_demos(app, no_demo_start):
    folder = no_demo_start / "fresh"
    result = hub(app, "demo", "--port", "0", "--instance", str(folder))
    assert "the demo started" in repr(result.exception)
    assert (folder / "hub-demo").read_text().startswith("This folder holds the data of `hub demo`.")


def test_reset_takes_the_default_demo_folder_without_the_marker(app, no_demo_start):
    """``<HUB_INSTANCE_PATH>/demo`` is the demo's by name (demos made it before the marker existed)."""
    folder = no_demo_start / "default-instance" / "demo"
    folder.mkdir(parents=True)
    (folder / "hub.db").write_text("old data")
    result = hub(app, "demo", "--port", "0", "--reset")
    assert "the demo started" in repr(result.exception)
    assert not (folder / "hub.db").exists() or (folder / "hub.db").read_bytes() != b"old data"


def test_reset_with_a_mistyped_source_deletes_nothing(app, no_demo_start):
    """--source is checked against the installed plugins before --reset deletes anything."""
    folder = no_demo_start / "marked"
    folder.mkdir()
    (folder / "hub-demo").write_text("written by an earlier demo\n")
    (folder / "hub.db").write_text("old data")
    result = hub(app, "demo", "--port", "0", "--reset", "--source", "levr", "--instance", str(folder))
    _refused(result, 2, "Invalid value for --source: 'levr' is not an ATS plugin with a sandbox (those installed: ")
    assert (folder / "hub.db").read_text() == "old data"
