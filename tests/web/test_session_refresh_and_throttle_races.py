"""The sign-in throttle under races and the session idle timeout under live lists (found by a review).

Each test failed before its fix."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.web.support import FakeAssess, FakeSource, PASSWORD, seed, sign_in


@pytest.fixture
def throttle_app(make_app):
    app = make_app({"SIGN_IN_MAX_FAILURES": 3, "SIGN_IN_LOCK_SECONDS": 600},
                   plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seed(app)
    return app


def test_a_throttle_row_deleted_between_the_insert_and_the_lock_is_no_500(throttle_app):
    """``reserve_attempt`` inserts the row "if absent" and then selects it FOR UPDATE. On PostgreSQL
    (READ COMMITTED) an ``INSERT ... ON CONFLICT DO NOTHING`` that finds the row does not lock it:
    a right password's ``forget_attempt`` or the hourly purge may delete it and commit before the
    ``SELECT ... FOR UPDATE``, which then finds nothing, and ``row.locked_until`` is an
    AttributeError (a 500, the guess not counted). The deletion is made here on the request's own
    connection right after the insert: what the SELECT then sees is what it sees on PostgreSQL after
    another transaction's committed DELETE."""
    from hub.extensions import db
    from hub.store.models import SignInThrottle, utcnow

    email = "admin@acme.test"
    key = f"email:{email}"
    with throttle_app.app_context():
        db.session.add(SignInThrottle(key=key, failures=1, first_failure_at=utcnow()))
        db.session.commit()
        engine = db.engine

    deleted = []

    def delete_after_the_insert(conn, cursor, statement, parameters, context, executemany):
        values = parameters.values() if isinstance(parameters, dict) else parameters
        if (statement.lstrip().upper().startswith("INSERT INTO SIGN_IN_THROTTLE") and key in values
                and not deleted):  # (the attempt's other rows, of the address, are inserted too)
            deleted.append(key)
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            other = conn.connection.cursor()
            other.execute(f"DELETE FROM sign_in_throttle WHERE key = {mark}", (key,))
            other.close()

    sa.event.listen(engine, "after_cursor_execute", delete_after_the_insert)
    try:
        answer = sign_in(throttle_app.test_client(), email, "a wrong guess")
    finally:
        sa.event.remove(engine, "after_cursor_execute", delete_after_the_insert)
    assert answer.status_code == 401, answer.status_code  # counted and checked, as any other guess
    with throttle_app.app_context():
        assert db.session.get(SignInThrottle, key).failures == 1


def _signed_in_at(app, email: str, seconds_ago: float, monkeypatch):
    """A client whose session cookie was written ``seconds_ago``."""
    import itsdangerous.timed

    real = itsdangerous.timed.TimestampSigner.get_timestamp
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: real(self) - seconds_ago)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", real)
    return client, real


def test_the_live_lists_polling_does_not_keep_an_unattended_browser_signed_in(make_app, monkeypatch):
    """The idle timeout is meant for "a browser left signed in": the session cookie is written
    again at each request (SESSION_REFRESH_EACH_REQUEST with a permanent session). But the
    Candidates and Activity pages fetch their list every 20 seconds while visible (hub.js,
    ``data-poll-url``, ``fragment=1``, ``X-Requested-With: fetch``), and each poll writes the cookie
    again: a browser left on one of these pages is never signed out. Here the cookie is 590 of 600
    seconds old, one poll is made, then 20 seconds pass with no one there: the session must end."""
    import itsdangerous.timed

    app = make_app({"SESSION_IDLE_SECONDS": 600}, plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())],
                   entry_points=False)
    seed(app)
    client, real = _signed_in_at(app, "admin@acme.test", 590, monkeypatch)
    poll = client.get("/candidates?fragment=1", headers={"X-Requested-With": "fetch"})
    assert poll.status_code == 200
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: real(self) + 20)
    answer = client.get("/candidates")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/sign-in"), (
        "polls alone kept the session alive past HUB_SESSION_IDLE_SECONDS")


def test_a_request_that_changes_nothing_does_not_undo_a_password_change_of_the_same_browser(make_app):
    """Every response now writes the session cookie again, with the session as its request read
    it. A request sent before a change of the session and answered after it (a live list's poll in
    another tab while the password is changed) puts the old session back: after a password change
    (``login_user`` with the new password's fingerprint) the browser holds the old fingerprint
    again and is signed out. Before the session was made permanent, a request that changed nothing
    wrote no cookie."""
    app = make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seed(app)
    client = app.test_client()
    assert sign_in(client, "admin@acme.test").status_code == 302
    assert client.get("/candidates").status_code == 200  # the page whose list polls
    # a poll of another tab, read (signed in) before the change, answered after it
    poller = app.test_client()
    poller.set_cookie("session", client.get_cookie("session").value)
    poll = poller.get("/candidates?fragment=1", headers={"X-Requested-With": "fetch"})
    assert poll.status_code == 200
    changed = client.post("/account/password", data={"current_password": PASSWORD,
                                                    "new_password": "a new long password 1",
                                                    "confirm_password": "a new long password 1"})
    assert changed.status_code == 302
    late = [h for h in poll.headers.getlist("Set-Cookie") if h.startswith("session=")]
    if late:  # the browser takes the cookie of the response it got last
        client.set_cookie("session", late[0].split(";", 1)[0].split("=", 1)[1])
    assert client.get("/candidates").status_code == 200, "signed out by a poll answered after the password change"
