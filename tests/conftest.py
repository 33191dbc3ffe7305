"""Shared fixtures (flaskr style): ``make_app``, ``app``, ``client``, ``runner``, ``workspace``.

The suite runs on SQLite by default (a fresh file per test) and on PostgreSQL when
``HUB_TEST_DATABASE_URL`` (or ``HUB_DATABASE_URL``) names one: then a database of its own is
created for the session (so for each pytest-xdist worker), migrated once, and emptied after every
test.

``scripts/test.sh`` runs the suite with pytest-xdist (``-n 2 --dist loadgroup``): the hook
``pytest_collection_modifyitems`` below puts the long tests first, longest first, so that none of
them starts last while the other worker idles, and keeps together (``xdist_group``) the tests that
share an expensive module- or session-scoped fixture. ``pytest_configure`` lets the apps of a
process share Werkzeug's URL builders (``tests/support/route_builders.py``): most tests build apps.
"""

from __future__ import annotations

import contextlib
import os
import uuid

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from hub.testing import make_test_app
from tests.support.route_builders import share_route_builders

TEST_KEYS = Fernet.generate_key().decode()


def _postgres_url() -> str | None:
    url = os.environ.get("HUB_TEST_DATABASE_URL") or os.environ.get("HUB_DATABASE_URL")
    return url if url and url.startswith("postgresql") else None


# About how many seconds the long tests take (``--durations`` on 2 shared cores, the larger of
# SQLite and PostgreSQL), by the start of their ids. Only the order of the tests depends on them.
LONG_TESTS = {
    "tests/reliability/test_crash_trials.py": 150,  # HUB_CRASH_TRIALS kills: 200 on PostgreSQL, 60 on SQLite
    "tests/cli/test_worker_processes.py": 6,
    "tests/reliability/test_duplicates_order.py": 60,
    "tests/e2e/test_story.py": 4,
    "tests/e2e/test_story.py::test_the_story_end_to_end[faults-": 19,
    "tests/browser/test_story.py": 3,
    "tests/browser/test_story.py::test_the_story_in_the_browser": 17,
    "tests/reliability/test_vendor_faults.py": 14,
    "tests/cli/test_new_plugin.py::test_scaffolded_plugin_installs_is_discovered_and_passes_its_tests": 40,
    "tests/cli/test_serve_signals.py": 4,
    "tests/cli/test_serve_signals.py::test_demo_runs_again_on_its_leftovers_and_with_reset": 14,
    "tests/cli/test_scaffold_contract_messages.py": 8,  # a pytest process per case
    "tests/cli/test_scaffold_hooks.py": 10,
    "tests/cli/test_startup_errors.py": 5,
    "tests/web/test_permissions.py::test_the_matrix_for_every_role": 9,
    "tests/web/test_metrics_token.py::test_with_a_shared_directory_metrics_add_up_every_processs_figures": 8,
    "tests/reliability/test_api_schemathesis.py": 12,
    "tests/reliability/test_fuzz_api.py": 8,
    "tests/reliability/test_database_outage_production.py": 20,
    "tests/engine/test_crash.py": 4,
    "tests/e2e/test_secrets.py": 12,
    "tests/e2e/test_backfill.py": 10,
}
# Tests that share an expensive module- or session-scoped fixture run on one worker.
XDIST_GROUPS = {
    "tests/browser/": "browser",  # one chromium for the session
    "tests/cli/test_new_plugin.py": "new-plugin",  # one fresh virtualenv with the hub for the module
}


def _estimate(item) -> float:
    """The estimate of the longest key of ``LONG_TESTS`` that starts the test's id, else 0."""
    keys = [key for key in LONG_TESTS if item.nodeid.startswith(key)]
    return LONG_TESTS[max(keys, key=len)] if keys else 0.0


# Test modules that never reach the database or the queue backend: pure parsing, wire formats,
# vendor clients against `responses`, sandboxes, import rules, and the plugin contract kits (which
# build their own SQLite hub whatever the backend). ``--backend-tests-only`` leaves them out of
# the PostgreSQL + Redis run, where they would repeat the SQLite run exactly. Every other test runs
# on both (except the few that scripts/test.sh runs only on SQLite, named there with their reason):
# a new module runs twice until it is listed here, never the other way round.
BACKEND_FREE = (
    "tests/cli/test_demo_port_reuse.py",  # sockets only
    "tests/cli/test_failure_message.py",
    "tests/cli/test_instance_folder_errors.py",
    "tests/cli/test_scaffold_contract_messages.py",
    "tests/cli/test_scaffold_lost_create.py",  # a generated plugin's tests, its own SQLite
    "tests/cli/test_scaffold_retry_after.py",
    "tests/cli/test_scaffold_source_walkthrough.py",
    "tests/cli/test_scaffold_source_walk_contracts.py",  # generated plugins, their own SQLite test apps
    "tests/cli/test_scaffold_webhook_reference.py",
    "tests/cli/test_setting_bounds.py",  # the configuration's checks; gunicorn on a folder of its own
    "tests/cli/test_startup_errors.py",  # each command on an instance folder (SQLite) of its own; one
    # test makes a database and role of its own on HUB_TEST_PG_URL's server, in either run
    "tests/kit/test_retry_after.py",
    "tests/kit/test_settings_fields.py",
    "tests/kit/test_vendor_http.py",
    "tests/plugins/canditech/test_client.py",
    "tests/plugins/canditech/test_contract.py",
    "tests/plugins/canditech/test_create_resend.py",
    "tests/plugins/canditech/test_help_texts.py",
    "tests/plugins/canditech/test_reconcile_resilience.py",
    "tests/plugins/canditech/test_reconciliation.py",
    "tests/plugins/canditech/test_webhook_field_types.py",
    "tests/plugins/canditech/test_webhooks.py",
    "tests/plugins/canditech/test_wire_and_settings.py",
    "tests/plugins/lever/test_contract.py",
    "tests/plugins/lever/test_note_numbers.py",
    "tests/plugins/lever/test_oauth_token_faults_sandbox.py",
    "tests/plugins/test_descriptions.py",
    "tests/plugins/vervoe/test_openapi.py",
    "tests/plugins/vervoe/test_sandbox.py",
    "tests/plugins/vervoe/test_wire.py",
    "tests/store/test_dedicated.py",  # its own engine on the PostgreSQL server, in either run
    "tests/store/test_dedicated_unreachable.py",
    "tests/store/test_table_ids.py",
    "tests/test_bench_openloop.py",
    "tests/test_boundaries.py",
    "tests/test_config.py",  # create_app on an instance folder of its own, or no app
    "tests/test_docs_admin_guide.py",
    "tests/test_docs_operations.py",
    "tests/test_docs_readme.py",
    "tests/test_gunicorn_conf.py",
    "tests/test_gunicorn_error_log.py",
    "tests/test_operations_walkthrough.py",  # its node's own SQLite files
    "tests/test_plugin_allow_list_messages.py",
    "tests/test_ratelimit.py",  # the Redis at 127.0.0.1:6379, in either run
    "tests/test_settings_messages.py",
    "tests/testing/test_apps_template.py",
    "tests/testing/test_kit_docs.py",
    "tests/testing/test_template_code.py",
)
DATABASE_FIXTURES = ("postgres_database", "module_database_url")


def pytest_configure(config):
    share_route_builders()


def pytest_addoption(parser):
    parser.addoption(
        "--backend-tests-only", action="store_true",
        help="leave out the test modules listed in BACKEND_FREE (tests/conftest.py), which never reach "
             "the database or queue backend; scripts/test.sh's PostgreSQL run uses it: they ran, "
             "identically, in its SQLite run.")


def _backend_free(item) -> bool:
    """Listed in ``BACKEND_FREE``; a listed test that asks for a database fixture is a mistake in
    the list, and stops the run."""
    if not item.nodeid.startswith(BACKEND_FREE):
        return False
    used = [name for name in DATABASE_FIXTURES if name in getattr(item, "fixturenames", ())]
    if used:
        raise pytest.UsageError(f"{item.nodeid} is listed in BACKEND_FREE but uses {', '.join(used)}")
    return True


def pytest_collection_modifyitems(config, items):
    free = [item for item in items if _backend_free(item)]  # checks the list on every run
    if config.getoption("--backend-tests-only"):
        kept = [item for item in items if item not in free]
        deselected = free
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = kept
    for item in items:
        for prefix, group in XDIST_GROUPS.items():
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))
    # a group runs as one unit, where its first test stands: place it by the sum of its tests
    group_estimate: dict[str, float] = {}
    for item in items:
        for prefix, group in XDIST_GROUPS.items():
            if item.nodeid.startswith(prefix):
                group_estimate[group] = group_estimate.get(group, 0.0) + _estimate(item)

    def key(item):
        groups = [g for p, g in XDIST_GROUPS.items() if item.nodeid.startswith(p)]
        return -(group_estimate[groups[0]] if groups else _estimate(item))

    items.sort(key=key)  # stable: the rest keep pytest's order


@contextlib.contextmanager
def _fresh_postgres_database(prefix: str):
    """Create a PostgreSQL database on the server of ``HUB_TEST_DATABASE_URL``; yields its URL
    (None on SQLite) and drops it afterwards."""
    base = _postgres_url()
    if base is None:
        yield None
        return
    url = sa.engine.make_url(base)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        # a throw-away database: commits need not wait for the WAL to reach the disk (this
        # database's own setting, for connections made from now on; nothing else changes)
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
                "AND pid <> pg_backend_pid()")
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database():
    """A fresh PostgreSQL database for this test session, or None on SQLite."""
    with _fresh_postgres_database("hub_test") as test_url:
        yield None if test_url is None else {"url": test_url, "migrated": {"done": False}}


@pytest.fixture(scope="module")
def module_database_url():
    """The URL of a PostgreSQL database of this test module's own (created for it, dropped after
    it), or None on SQLite (``make_test_app`` then uses a fresh file). For module-scoped apps,
    which the session database, emptied after every test, could not hold."""
    with _fresh_postgres_database("hub_test_module") as url:
        yield url


def _empty_all(app) -> None:
    """Empty every table and restart their sequences, as ``TRUNCATE ... RESTART IDENTITY`` would:
    DELETE in reverse dependency order is far cheaper on tables this small (TRUNCATE makes new
    files for every table, about 0.1 s per test)."""
    from hub.extensions import db

    with app.app_context():
        tables = db.metadata.sorted_tables
        for table in reversed(tables):
            db.session.execute(sa.text(f'DELETE FROM "{table.name}"'))
        db.session.execute(sa.text(
            "SELECT setval(s.oid, q.start_value, false) FROM pg_class s "
            "JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype IN ('a', 'i') "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "JOIN pg_sequences q ON q.schemaname = current_schema() AND q.sequencename = s.relname "
            "WHERE s.relkind = 'S' AND t.relname = ANY(:tables)"), {"tables": [t.name for t in tables]})
        db.session.commit()


@pytest.fixture
def make_app(tmp_path, postgres_database):
    """Build an app with overrides; the database is migrated and holds one workspace (id 1)."""
    apps = []

    def factory(overrides: dict | None = None, plugins: list | None = None, entry_points: bool = True):
        migrate = (postgres_database is None or not postgres_database["migrated"]["done"]
                   or "DATABASE_URL" in (overrides or {}))
        app = make_test_app(tmp_path, {"ENCRYPTION_KEYS": TEST_KEYS, **(overrides or {})}, plugins or [],
                            entry_points, postgres_database["url"] if postgres_database else None, migrate)
        if postgres_database and "DATABASE_URL" not in (overrides or {}):  # it migrated the shared database
            postgres_database["migrated"]["done"] = True
        app.extensions["hub.test_overrides"] = tuple(overrides or ())
        apps.append(app)
        return app

    yield factory
    for app in apps:
        from hub.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    # the shared PostgreSQL database is emptied for the next test (an app the test pointed at a
    # database of its own, with a DATABASE_URL override, is not the one to empty)
    shared = [app for app in apps if "DATABASE_URL" not in app.extensions.get("hub.test_overrides", ())]
    if postgres_database and shared:
        _empty_all(shared[0])
        with shared[0].app_context():
            from hub.extensions import db

            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app(entry_points=False)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
