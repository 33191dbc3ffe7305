"""The ``hub`` command: every command has --help; bad arguments give one line and a non-zero exit."""

import subprocess
import sys

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import User
from tests.support.processes import ROOT

COMMANDS = [["init"], ["run"], ["worker"], ["users"], ["users", "create"], ["users", "list"], ["users", "set-role"],
            ["users", "set-password"], ["plugins"], ["plugins", "list"], ["plugins", "enable"], ["plugins", "disable"], ["deliveries"],
            ["deliveries", "list"], ["deliveries", "replay"], ["keys", "rotate"], ["db", "upgrade"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(runner, command):
    result = runner.invoke(args=[*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_init_creates_a_super_admin_once(runner, app):
    first = runner.invoke(args=["init", "--non-interactive", "--email", "Boss@Example.com"])
    assert first.exit_code == 0, first.output
    assert "Super Admin: boss@example.com  password: " in first.output
    second = runner.invoke(args=["init", "--non-interactive", "--email", "other@example.com"])
    assert second.exit_code == 0
    assert "Super Admin: boss@example.com already exists (--email was not used; change users with" in second.output
    with app.app_context():
        assert [u.email for u in db.session.scalars(sa.select(User))] == ["boss@example.com"]
        # named as its email says, not "Super Admin" (its role's name, which the pages show beside it)
        assert db.session.scalar(sa.select(User.name)) == "boss"
    third = runner.invoke(args=["init", "--non-interactive", "--password", "p" * 12, "--name", "Ann"])
    assert "already exists (--password and --name were not used;" in third.output


def test_init_takes_the_first_super_admin_s_name(runner, app):
    result = runner.invoke(args=["init", "--non-interactive", "--email", "ann@example.com", "--name", " Ann Lee "])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(User.name).where(User.email == "ann@example.com")) == "Ann Lee"


def test_init_without_a_terminal_does_not_prompt(runner, app):
    """A script or a container's entrypoint runs ``hub init`` with no one to answer a prompt: it
    used to stop at "Super Admin email" ("Aborted!", exit 1)."""
    result = runner.invoke(args=["init"])  # the runner's standard input is no terminal
    assert result.exit_code == 0, result.output
    assert "Super Admin email" not in result.output
    assert "Super Admin: admin@example.com  password: " in result.output


def test_users_create_takes_a_name_as_long_as_its_column(runner, app):
    created = runner.invoke(args=["users", "create", "named@example.com", "--name", "n" * 200])
    assert created.exit_code == 0, created.output
    with app.app_context():
        assert db.session.scalar(sa.select(User.name).where(User.email == "named@example.com")) == "n" * 200


def test_users_create_list_and_set_role(runner):
    created = runner.invoke(args=["users", "create", "tm@example.com", "--role", "team_member"])
    assert created.exit_code == 0 and "password:" in created.output
    assert runner.invoke(args=["users", "set-role", "tm@example.com", "admin"]).exit_code == 0
    listing = runner.invoke(args=["users", "list"])
    assert "tm@example.com\tadmin\tactive" in listing.output


def test_users_set_password_generates_or_takes_one(runner, app):
    from werkzeug.security import check_password_hash

    from hub.store.models import AuditEntry

    assert runner.invoke(args=["users", "create", "lost@example.com", "--password", "forgotten password"]).exit_code == 0
    generated = runner.invoke(args=["users", "set-password", " Lost@Example.com "])
    assert generated.exit_code == 0, generated.output
    password = generated.output.strip().split("lost@example.com has a new password: ")[1]
    with app.app_context():
        stored = db.session.scalar(sa.select(User.password_hash).where(User.email == "lost@example.com"))
        assert check_password_hash(stored, password) and not check_password_hash(stored, "forgotten password")
    given = runner.invoke(args=["users", "set-password", "lost@example.com", "--password", "chosen by the operator"])
    assert given.exit_code == 0 and given.output == "lost@example.com has a new password\n"
    with app.app_context():
        stored = db.session.scalar(sa.select(User.password_hash).where(User.email == "lost@example.com"))
        assert check_password_hash(stored, "chosen by the operator")
        entries = list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "user.password_reset")))
        assert [(e.actor, e.target) for e in entries] == [("cli", "user:lost@example.com")] * 2
        assert not any(password in str(e.detail) or "chosen" in str(e.detail) for e in entries)


def test_users_set_password_refuses_a_short_password_and_keeps_the_old_one(runner, app):
    from werkzeug.security import check_password_hash

    assert runner.invoke(args=["users", "create", "keep@example.com", "--password", "the old password"]).exit_code == 0
    result = runner.invoke(args=["users", "set-password", "keep@example.com", "--password", "short"])
    assert result.exit_code == 1 and result.output == "Error: password must have at least 10 characters\n"
    pasted = runner.invoke(args=["users", "set-password", "keep@example.com", "--password", "x" * 100_000])
    assert pasted.exit_code == 1 and pasted.output == ("Error: password must have at most 256 characters "
                                                       "(this one has 100000)\n")
    with app.app_context():
        stored = db.session.scalar(sa.select(User.password_hash).where(User.email == "keep@example.com"))
        assert check_password_hash(stored, "the old password")


def test_a_password_of_only_spaces_is_refused_and_spaces_around_one_are_kept(runner, app):
    """`--password "            "` (12 spaces) made an account whose password was spaces; a
    password with spaces around its words is taken as it is (signing in takes it so)."""
    from werkzeug.security import check_password_hash

    blank = " " * 12
    created = runner.invoke(args=["users", "create", "blank@example.com", "--password", blank])
    assert created.exit_code == 1 and created.output == "Error: password must not be only spaces\n"
    init = runner.invoke(args=["init", "--non-interactive", "--password", blank])
    assert init.exit_code == 2 and "Invalid value for '--password': password must not be only spaces" in init.output
    assert runner.invoke(args=["users", "create", "keep@example.com", "--password", " the old one "]).exit_code == 0
    reset = runner.invoke(args=["users", "set-password", "keep@example.com", "--password", blank])
    assert reset.exit_code == 1 and reset.output == "Error: password must not be only spaces\n"
    with app.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.email == "blank@example.com")) is None
        stored = db.session.scalar(sa.select(User.password_hash).where(User.email == "keep@example.com"))
        assert check_password_hash(stored, " the old one ") and not check_password_hash(stored, "the old one")


@pytest.mark.parametrize("args, message", [
    (["users", "create", "not-an-email"], "not a valid email address"),
    (["users", "create", "x@example.com", "--role", "boss"], "Invalid value for '--role'"),
    (["users", "set-role", "nobody@example.com", "admin"], "no user with the email"),
    (["users", "set-password", "nobody@example.com"], "no user with the email nobody@example.com"),
    (["users", "set-password", "x\udcff@example.com"], "Invalid value for 'EMAIL': contains an unpaired surrogate"),
    (["users", "set-password", "x@example.com", "--password", "A\x00Bcdefghijk"],
     "Invalid value for '--password': contains a NUL"),
    (["users", "set-password"], "Missing argument 'EMAIL'"),
    (["plugins", "enable", "nope"], "no plugin named 'nope'"),
    (["deliveries", "replay"], "give delivery ids or --all-dead"),
    (["deliveries", "replay", "999"], "no delivery with id 999"),
    (["users", "create", "short@example.com", "--password", "short"], "at least 10 characters"),
    (["users", "create", "x@example.com", "--workspace", "99999999999999999999999"], "no workspace with id"),
    (["deliveries", "replay", "99999999999999999999999"], "no delivery with id 99999999999999999999999"),
    # bytes that are not UTF-8 reach Python as unpaired surrogates; PostgreSQL cannot store NUL
    (["users", "create", "x\udcff@example.com"], "Invalid value for 'EMAIL': contains an unpaired surrogate"),
    (["users", "create", "x@example.com", "--name", "A\x00B"], "Invalid value for '--name': contains a NUL"),
    (["init", "--email", " "], "Invalid value for '--email': is empty"),
    (["init", "--non-interactive", "--name", "n" * 201], "the name is too long (201 characters; at most 200)"),
    (["users", "create", "named@example.com", "--name", "n" * 201], "the name is too long (201 characters; at most 200)"),
    (["users", "create", "e" * 320 + "@example.com"], "the email address is too long (at most 320 characters)"),
    # invisible characters: an account that looks like another on every page
    (["users", "create", "bob\u200b@example.com"],
     "not a valid email address: it holds an invisible or control character (U+200B)"),
    (["init", "--non-interactive", "--email", "a\x01@example.com"],
     "not a valid email address: it holds an invisible or control character (U+0001)"),
    (["users", "create", "named@example.com", "--name", "Eve\u202e"],
     "the name holds an invisible or control character (U+202E)"),
    (["users", "set-password", " "], "Invalid value for 'EMAIL': is empty: give the user's email address"),
    (["users", "set-role", "", "admin"], "Invalid value for 'EMAIL': is empty: give the user's email address"),
    (["new-plugin", "acme", "--kind", "assessment", "--directory", ""],
     "Invalid value for '--directory': is empty: name a folder, or leave --directory out for ./ats-hub-NAME"),
    (["new-plugin", "acme", "--kind", "assessment", "--directory", "/proc/no-such-folder/acme"],
     "Error: cannot write the plugin into /proc/no-such-folder/acme: No such file or directory"),
    # a folder name longer than the file system takes (255 bytes a name): an OSError from the check
    # that the folder is empty, shown as "OSError: [Errno 36] ..." with exit status 1
    (["new-plugin", "acme", "--kind", "assessment", "--directory", "d" * 300],
     f"Invalid value for '--directory': cannot use {'d' * 300}: File name too long"),
], ids=lambda value: " ".join(value) if isinstance(value, list) else None)
def test_bad_arguments_give_one_line_and_non_zero_exit(runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_replay_given_neither_ids_nor_all_dead_is_a_usage_error(runner):
    """Like every other wrong use of a command, it exits with status 2 and shows the usage."""
    result = runner.invoke(args=["deliveries", "replay"])
    assert result.exit_code == 2
    assert "Usage: " in result.output and "Error: give delivery ids or --all-dead" in result.output


def test_replay_runs_each_delivery_once_however_often_it_is_named(make_app):
    from hub.store.models import Delivery, Event
    from tests.support.engine import enable
    from tests.support.plugins import FakeSource, Recorder

    recorder = Recorder()
    app = make_app(plugins=[("src", FakeSource()), ("rec", recorder)], entry_points=False)
    enable(app, "src", "rec")
    with app.app_context():
        event = Event(workspace_id=1, source_plugin="src", type="stage_change", external_id="e1", subject="opp-1",
                      payload={"opportunity_id": "opp-1", "to_stage_id": "stage-1"})
        db.session.add(event)
        db.session.flush()
        delivery = Delivery(event_id=event.id, workspace_id=1, plugin="rec", hook="on_stage_change", status="dead",
                            attempts=8, last_error="TemporaryError: vendor down")
        db.session.add(delivery)
        db.session.commit()
        delivery_id = delivery.id
    result = app.test_cli_runner().invoke(args=["deliveries", "replay", *[str(delivery_id)] * 3])
    assert result.exit_code == 0, result.output
    assert result.output.count("replayed") == 1
    assert len(recorder.calls) == 1
    with app.app_context():
        assert db.session.get(Delivery, delivery_id).status == "done"


def test_replay_all_dead_skips_disabled_plugins_with_a_warning_replays_the_rest_and_exits_non_zero(make_app):
    from hub import services
    from hub.runtime import get_runtime
    from hub.store.models import Delivery, Event
    from tests.support.engine import drain, enable
    from tests.support.plugins import FakeSource, Recorder

    recorder, other = Recorder(), Recorder("Z")
    app = make_app(plugins=[("src", FakeSource()), ("aaa", Recorder("A")), ("rec", recorder), ("zzz", other)],
                   entry_points=False)
    enable(app, "src", "aaa", "rec", "zzz")
    with app.app_context():
        event = Event(workspace_id=1, source_plugin="src", type="stage_change", external_id="e1", subject="opp-1",
                      payload={"opportunity_id": "opp-1", "to_stage_id": "stage-1"})
        db.session.add(event)
        db.session.flush()
        # the disabled plugin's dead delivery comes first: it used to stop the command there
        ids = {}
        for plugin in ("aaa", "rec", "zzz"):
            delivery = Delivery(event_id=event.id, workspace_id=1, plugin=plugin, hook="on_stage_change",
                                status="dead", attempts=8, last_error="TemporaryError: vendor down")
            db.session.add(delivery)
            db.session.flush()
            ids[plugin] = delivery.id
        db.session.commit()
        services.set_enabled(get_runtime(), 1, "aaa", False, "test")  # an admin turned one plugin off

    result = app.test_cli_runner().invoke(args=["deliveries", "replay", "--all-dead"])
    assert result.exit_code == 1, result.output
    assert f"warning: skipped delivery {ids['aaa']}: A is not enabled" in result.output
    assert f"delivery {ids['rec']} replayed" in result.output and f"delivery {ids['zzz']} replayed" in result.output
    assert "1 dead delivery was not replayed" in result.output and "Traceback" not in result.output
    assert len(recorder.calls) == 1 and len(other.calls) == 1
    with app.app_context():
        statuses = {d.plugin: d.status for d in db.session.scalars(sa.select(Delivery))}
    assert statuses == {"aaa": "dead", "rec": "done", "zzz": "done"}

    # an id named explicitly that cannot be replayed still stops the command with its reason
    named = app.test_cli_runner().invoke(args=["deliveries", "replay", str(ids["aaa"])])
    assert named.exit_code == 1
    assert f"delivery {ids['aaa']}: A is not enabled; enable it before replaying its deliveries" in named.output
    # nothing left to skip: success
    with app.app_context():
        services.set_enabled(get_runtime(), 1, "aaa", True, "test")
    again = app.test_cli_runner().invoke(args=["deliveries", "replay", "--all-dead"])
    assert again.exit_code == 0, again.output
    assert again.output.strip() == f"delivery {ids['aaa']} replayed"
    # nothing dead at all: still a success (a runbook runs it after every outage); it used to fail
    drain(app)
    none_dead = app.test_cli_runner().invoke(args=["deliveries", "replay", "--all-dead"])
    assert none_dead.exit_code == 0, none_dead.output
    assert none_dead.output.strip() == "no dead deliveries: nothing to replay"


def test_top_level_help_has_no_flask_only_options(tmp_path):
    """`hub` always runs create_app(): Flask's -e/--env-file, -A/--app and --debug are not offered."""
    env = {"PATH": "/usr/bin:/bin", "HUB_INSTANCE_PATH": str(tmp_path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "hub", "--help"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    options = result.stdout.split("Options:")[1].split("Commands:")[0]
    assert options.split() == ["--help", "Show", "this", "message", "and", "exit."]
    for command in ("demo", "init", "plugins", "run", "worker"):
        assert f"  {command} " in result.stdout
    refused = subprocess.run([sys.executable, "-m", "hub", "-e", "x.env", "plugins", "list"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "No such option" in refused.stderr and "-e" in refused.stderr


def test_console_script_reports_config_errors_in_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HUB_ENV": "production", "HUB_INSTANCE_PATH": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "hub", "plugins", "list"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "HUB_SECRET_KEY is missing" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_plugins_list_shows_kind_version_and_hooks(make_app):
    from tests.support.plugins import Recorder

    app = make_app(plugins=[("rec", Recorder())], entry_points=False)
    result = app.test_cli_runner().invoke(args=["plugins", "list"])
    assert result.exit_code == 0
    assert "rec\tassessment\t-\tdisabled\ton_stage_change,register_integration" in result.output
    assert app.test_cli_runner().invoke(args=["plugins", "enable", "rec"]).exit_code == 0
    assert "rec\tassessment\t-\tenabled" in app.test_cli_runner().invoke(args=["plugins", "list"]).output


def test_new_plugin_ignores_its_environment_for_git_and_says_what_to_do_with_a_folder_in_use(runner, tmp_path):
    """Its README puts the plugin's .venv in its folder, and the editable install leaves an
    egg-info there: with no .gitignore a first commit took both. A folder in use was refused
    without saying what to do."""
    target = tmp_path / "acme"
    assert runner.invoke(args=["new-plugin", "acme", "--kind", "assessment", "--directory", str(target)]).exit_code == 0
    assert {".venv/", "*.egg-info/", "__pycache__/"} <= set((target / ".gitignore").read_text().splitlines())
    again = runner.invoke(args=["new-plugin", "acme", "--kind", "assessment", "--directory", str(target)])
    assert again.exit_code == 1
    assert f"Error: {target} exists and is not empty: name a new or empty folder with --directory" in again.output


@pytest.mark.parametrize("name, message", [
    ("lever", "a plugin named 'lever' is already installed"),
    ("hub", "'hub' is reserved for the hub's own events"),
])
def test_new_plugin_refuses_a_name_that_would_clash(runner, tmp_path, name, message):
    result = runner.invoke(args=["new-plugin", name, "--kind", "source", "--directory", str(tmp_path / "out")])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    (["run", "--host", "8.8.8.8"], "cannot listen on '8.8.8.8'"),
    (["run", "--host", "no-such-host.invalid"], "cannot listen on 'no-such-host.invalid'"),
    (["demo", "--host", ""], "Invalid value for '--host': is empty"),
    (["demo", "--host", "8.8.8.8"], "cannot listen on '8.8.8.8'"),
    # every interface: the demo's published password would sign anyone on the network in
    (["demo", "--host", "0.0.0.0"], "'0.0.0.0' is not an IPv4 loopback address (e.g. 127.0.0.1 or localhost): "
                                    "the demo's Super Admin has a published password. For a hub others reach, "
                                    "use `hub run`."),
], ids=["run-foreign-address", "run-unknown-name", "demo-empty", "demo-foreign-address", "demo-every-interface"])
def test_a_host_the_hub_cannot_listen_on_is_refused_before_anything_is_created(runner, app, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 2 and message in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0  # no Super Admin was created


def test_run_without_a_public_url_gives_vendors_its_own_port(app, monkeypatch):
    """Outside a request (workers) the vendors' URLs used to name port 5000 whatever the port."""
    import hub.cli.serve as serve_module
    from hub.runtime import get_runtime

    seen = {}

    def record(app, host, port, **kwargs):
        server = kwargs["server"]
        seen["port"] = server.server_port
        with app.app_context():
            seen["url"] = get_runtime(app).webhook_url("canditech", "KEY")
        server.server_close()

    monkeypatch.setattr(serve_module, "serve", record)
    app.config["PUBLIC_URL"] = None
    result = app.test_cli_runner().invoke(serve_module.run_command, ["--port", "0"])
    assert result.exit_code == 0, result.output
    assert seen["url"] == f"http://127.0.0.1:{seen['port']}/webhooks/canditech/KEY" and seen["port"] != 5000
    with app.test_request_context("/", base_url="http://hub.tunnel.example:8443"):  # in a request: the browser's host
        assert get_runtime(app).webhook_url("canditech", "KEY") == "http://hub.tunnel.example:8443/webhooks/canditech/KEY"


def test_demo_instance_must_be_a_folder(runner, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    result = runner.invoke(args=["demo", "--instance", str(afile)])
    assert result.exit_code == 2 and "Invalid value for '--instance'" in result.output and "is a file" in result.output
