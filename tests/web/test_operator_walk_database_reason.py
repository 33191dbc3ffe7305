"""A web process that cannot use its database says why in its log (an operator's walk through a
production deployment: gunicorn started with a ``HUB_DATABASE_URL`` naming a database that does not
exist).

``hub`` commands name the problem ("the database "hub_prod" named in HUB_DATABASE_URL does not
exist ..."), but a gunicorn process answered ``/readyz`` with ``"database": "unavailable:
OperationalError"`` and logged nothing at all for a probe; a request answered 503 logged
``database unavailable: OperationalError``. Nothing told a refused connection from a database
or role that does not exist, or a wrong password. The driver's first line is now in the log line
(at most once a minute per process, as before); ``/readyz``, which answers without sign-in, still
shows the exception's type only."""

from __future__ import annotations

import logging
import uuid

import pytest
from cryptography.fernet import Fernet

from hub.app import create_app


@pytest.fixture
def unreachable(tmp_path, monkeypatch):
    """An app whose SQLite database is in a folder that does not exist (SQLite: "unable to open
    database file"), with a fresh outage limiter (nothing held from an earlier test)."""
    from hub.logging_setup import RepeatLimiter
    from hub.web import errors

    monkeypatch.setattr(errors.outage_log, "filters", [RepeatLimiter()])
    return create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "k-" + uuid.uuid4().hex,
                       "ENCRYPTION_KEYS": Fernet.generate_key().decode(), "PUBLIC_URL": "http://hub.test",
                       "DATABASE_URL": "sqlite:///" + str(tmp_path / "no-such-folder" / "hub.db"),
                       "LOAD_ENTRY_POINTS": False})


def _outage_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "hub.web.outage"]


def test_a_readyz_probe_logs_why_the_database_is_unavailable_and_answers_only_its_type(unreachable, caplog):
    with caplog.at_level(logging.INFO, logger="hub.web"):
        answers = [unreachable.test_client().get("/readyz") for _ in range(3)]
    assert {answer.status_code for answer in answers} == {503}
    assert answers[0].json["checks"]["database"] == "unavailable: OperationalError"  # no detail without sign-in
    assert "unable to open" not in answers[0].get_data(as_text=True)
    # once a minute, not once per probe
    assert _outage_lines(caplog) == ["database unavailable: OperationalError (unable to open database file)"]


def test_a_request_answered_503_logs_the_drivers_reason(unreachable, caplog):
    with caplog.at_level(logging.INFO, logger="hub.web"):
        answer = unreachable.test_client().get("/api/v1/integrations", headers={"Authorization": "Bearer hub_x"})
    assert answer.status_code == 503
    assert _outage_lines(caplog) == ["database unavailable: OperationalError (unable to open database file)"]


def test_the_reason_is_the_drivers_first_line_only():
    from sqlalchemy.exc import OperationalError

    from hub.store.outage import failure_reason

    exc = OperationalError("SELECT 1", {}, Exception('connection failed: connection to server at "db" (10.0.0.5), '
                                                     'port 5432 failed: FATAL:  database "hub" does not exist\n'
                                                     "second line"))
    assert failure_reason(exc) == ('connection failed: connection to server at "db" (10.0.0.5), port 5432 failed: '
                                   'FATAL:  database "hub" does not exist')
    assert failure_reason(OperationalError("SELECT 1", {}, Exception(""))) == ""
