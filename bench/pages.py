"""The hub's pages and API lists over a large history: how long each takes, and why when it is slow.

An in-process hub app (no server: the Flask test client, signed in) on a fresh database, SQLite
by default or, with ``--pg``, a PostgreSQL database ``bench_pages_<random>`` of its own (dropped
at the end). Three stand-in plugins are installed: an ATS (``benchats``, a source listing 50
postings) and two assessment providers (``benchtests``, ``benchtests2``). The database is filled
in bulk (Core ``executemany`` batches, not the ORM) with ``--events`` events of the last 28 days
(inside the 30-day retention, so the purge has nothing to delete), each with 1-2 deliveries
(about 92 % done, 2.5 % dead, 3 % cancelled, 2 % retrying and 0.5 % pending, the open ones due in
the future so that timing the sweeper changes nothing), their dedupe keys, a webhook log line each
(plus 5 % duplicates and rejections), ``--events``/4 invitations on 60 attachments of 50 postings
with their timelines (about 3 entries each), and ``--events``/10 audit entries. Users: one of each
role; the Limited Team Member follows 5 of the 50 postings.

Each measurement runs once to warm up, then ``--repeat`` times: median and p95 (nearest rank).
Every one slower than ``--slow-ms`` (median) runs once more with its SQL captured
(``before_cursor_execute``/``after_cursor_execute``), and its slowest statements are printed
with their plan: ``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN (ANALYZE, BUFFERS)`` of a SELECT
on PostgreSQL (``EXPLAIN`` of anything else, which is not run). On PostgreSQL the tables are
``VACUUM (ANALYZE)``d after the fill (as autovacuum would); on SQLite nothing is (the hub never runs
``ANALYZE``), so its planner has no statistics, as in production.

The script prints figures; it never fails on a timing. Its last lines are ``RESULT name=value``:
``<measurement>_median_ms`` and ``<measurement>_p95_ms`` for each measurement.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from urllib.parse import quote
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # ``python bench/pages.py``: common.py is here

from common import (  # noqa: E402
    DEFAULT_PG_URL, ROOT, _HelpFormatter, create_database, percentile, result_block, say, setup_app, workspace,
)

import sqlalchemy as sa  # noqa: E402

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hub import hookimpl  # noqa: E402
from hub.entities import IntegrationSpec, Posting, Stage  # noqa: E402

PASSWORD = "bench horse battery staple"
POSTINGS = 50
LIMITED_POSTINGS = 5  # postings the Limited Team Member follows
SPAN_DAYS = 28  # the history's length (RETENTION_DAYS is 30: nothing to purge)
ROLE_EMAILS = {"super_admin": "super@bench.test", "admin": "admin@bench.test",
               "team_member": "member@bench.test", "limited_team_member": "limited@bench.test"}
FIRST = ("Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Radia", "Edsger",
         "Frances", "John", "Katherine", "Tim", "Hedy", "Niklaus", "Sophie", "Guido", "Anita", "Bjarne")
LAST = ("Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Perlman",
        "Dijkstra", "Allen", "McCarthy", "Johnson", "Berners-Lee", "Lamarr", "Wirth", "Wilson", "Rossum",
        "Borg", "Stroustrup", "Kay", "Knuth", "Cerf", "Kahn", "Goldberg", "Backus", "Naur", "Hoare")


# --------------------------------------------------------------------------- stand-in plugins


class BenchATS:
    """A source whose postings are fixed; the Limited Team Member follows the first few."""

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="source", title="Bench ATS", description="A stand-in ATS for bench/pages.py."))

    @hookimpl
    def source_list_postings(self, ctx):
        return [Posting(f"p{i}", f"Posting {i}", "published", owner_email="owner@bench.test",
                        follower_emails=(ROLE_EMAILS["limited_team_member"],) if i <= LIMITED_POSTINGS else ())
                for i in range(1, POSTINGS + 1)]

    @hookimpl
    def source_list_stages(self, ctx, posting_id):
        return [Stage("screen", "Screen"), Stage("assess", "Assessment"), Stage("assess2", "Second assessment")]

    @hookimpl
    def on_assessment_completed(self, ctx, result):
        pass

    @hookimpl
    def on_invitation_status(self, ctx, progress):
        pass

    @hookimpl
    def on_verdict(self, ctx, verdict):
        pass


class BenchTests:
    def __init__(self, title: str):
        self.title = title

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="assessment", title=self.title, description="A stand-in provider."))

    @hookimpl
    def on_stage_change(self, ctx, change):
        pass

    @hookimpl
    def on_archive_change(self, ctx, change):
        pass

    @hookimpl
    def on_reinvite_requested(self, ctx, request):
        pass


# --------------------------------------------------------------------------- command line


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="events in the history (invitations: a quarter)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each measurement, after one warm-up")
    parser.add_argument("--pg", action="store_true",
                        help="PostgreSQL (a fresh bench_pages_<random> database on --pg-url's server) "
                             "instead of a SQLite file")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL,
                        help="PostgreSQL server for --pg (any database on it; env BENCH_PG_URL)")
    parser.add_argument("--slow-ms", type=float, default=100.0,
                        help="a measurement whose median is slower has its SQL captured and explained")
    parser.add_argument("--timeout-s", type=float, default=20.0,
                        help="a statement still running after this long is stopped (SQLite: a progress "
                             "handler; PostgreSQL: statement_timeout), and its measurement reported as "
                             "timed out (median and p95 -1) without repeats")
    parser.add_argument("--top", type=int, default=3, help="slowest statements shown per slow measurement")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per executemany while filling")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the generated history")
    parser.add_argument("--only", default="",
                        help="comma-separated substrings: measure only the measurements whose name has one "
                             "(default: all)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the working directory (the SQLite file) instead of deleting it")
    args = parser.parse_args()
    if args.events < 100 or args.repeat < 1:
        parser.error("--events must be at least 100 and --repeat at least 1")
    return args


def pages_database(space, pg_url: str) -> str:
    """A fresh ``bench_pages_<random>`` database on ``pg_url``'s server, dropped when ``space`` closes."""
    url = create_database(space, pg_url, prefix="bench_pages")
    say(f"PostgreSQL database {sa.engine.make_url(url).database}")
    return url


# --------------------------------------------------------------------------- the app and its history


def build_app(space, db_url: str):
    plugins = [("benchats", BenchATS()), ("benchtests", BenchTests("Bench Tests")),
               ("benchtests2", BenchTests("Bench Tests Two"))]
    return setup_app(space, {"QUEUE_IMMEDIATE": True, "DATABASE_URL": db_url}, plugins, entry_points=False)


def seed_people(app) -> dict:
    """Users of every role, the three plugins enabled, the attachments; returns their ids."""
    from werkzeug.security import generate_password_hash

    from hub import services
    from hub.extensions import db
    from hub.runtime import get_runtime
    from hub.store.models import Attachment, User

    with app.app_context():
        ws = services.default_workspace().id
        password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")  # cheap on purpose
        users = {}
        for role, email in ROLE_EMAILS.items():
            user = User(workspace_id=ws, email=email, role=role, name=role.replace("_", " ").title(),
                        password_hash=password_hash)
            db.session.add(user)
            db.session.flush()
            users[role] = user.id
        db.session.commit()
        runtime = get_runtime()
        for plugin in ("benchats", "benchtests", "benchtests2"):
            services.set_enabled(runtime, ws, plugin, True, "bench")
        token = services.create_api_token(db.session.get(User, users["super_admin"]), "bench token")
        attachments = []
        for i in range(1, POSTINGS + 1):
            for provider, stage, assessment in (("benchtests", "assess", "py"), ("benchtests2", "assess2", "sql")):
                if provider == "benchtests2" and i > 10:
                    continue
                row = Attachment(workspace_id=ws, posting_id=f"p{i}", posting_name=f"Posting {i}", stage_id=stage,
                                 stage_name=stage.title(), provider=provider, assessment_id=assessment,
                                 assessment_name=f"{assessment.upper()} test", options={},
                                 created_by_id=users["admin"])
                db.session.add(row)
                db.session.flush()
                attachments.append((row.id, row.posting_id, provider, assessment))
        db.session.commit()
        return {"workspace_id": ws, "users": users, "token": token, "attachments": attachments}


EVENT_MIX = (  # type, source plugin, share, deliveries: (plugin, hook, probability)
    ("stage_change", "benchats", 0.50, (("benchtests", "on_stage_change", 1.0), ("benchtests2", "on_stage_change", 0.4))),
    ("archive_change", "benchats", 0.08, (("benchtests", "on_archive_change", 1.0),
                                          ("benchtests2", "on_archive_change", 0.4))),
    ("invitation_progress", "benchtests", 0.20, (("benchats", "on_invitation_status", 1.0),)),
    ("assessment_completed", "benchtests", 0.15, (("benchats", "on_assessment_completed", 1.0),)),
    ("verdict", "hub", 0.05, (("benchats", "on_verdict", 1.0),)),
    ("reinvite_requested", "hub", 0.02, (("benchtests", "on_reinvite_requested", 1.0),)),
)
INVITATION_STATUS_MIX = (("completed", 0.55), ("invited", 0.15), ("started", 0.10), ("expired", 0.08),
                         ("failed", 0.05), ("cancelled", 0.04), ("pending", 0.03))


def pick(rng: random.Random, mix, share: int) -> tuple:
    """An item of ``mix`` drawn by its share (the item's element ``share``)."""
    x = rng.random()
    for item in mix:
        x -= item[share]
        if x < 0:
            return item
    return mix[0]


def delivery_state(rng: random.Random, now, at) -> dict:
    from hub.services import CANCELLED_BY_DISABLE

    x = rng.random()
    if x < 0.92:
        return {"status": "done", "attempts": 1, "next_attempt_at": at, "finished_at": at + timedelta(seconds=2),
                "last_error": None, "updated_at": at + timedelta(seconds=2)}
    if x < 0.945:
        return {"status": "dead", "attempts": 8, "next_attempt_at": at + timedelta(hours=3),
                "finished_at": at + timedelta(hours=3), "updated_at": at + timedelta(hours=3),
                "last_error": "TemporaryError: the vendor answered 503 Service Unavailable. Try again later."}
    if x < 0.975:
        error = CANCELLED_BY_DISABLE if rng.random() < 0.5 else "superseded by a later event"
        return {"status": "cancelled", "attempts": 0, "next_attempt_at": at, "finished_at": at + timedelta(minutes=5),
                "updated_at": at + timedelta(minutes=5), "last_error": error}
    future = now + timedelta(hours=rng.uniform(1, 48))  # not due while measured: the sweeper changes nothing
    if x < 0.995:
        return {"status": "retry", "attempts": rng.randint(2, 6), "next_attempt_at": future, "finished_at": None,
                "updated_at": at + timedelta(minutes=10), "last_error": "TemporaryError: vendor timed out"}
    return {"status": "pending", "attempts": 0, "next_attempt_at": future, "finished_at": None, "updated_at": at,
            "last_error": None}


def fill(app, seeded: dict, events: int, batch: int, seed: int) -> dict:
    """The history, in bulk; returns how many rows went into each table."""
    from hub.extensions import db
    from hub.store.search_text import search_text
    from hub.store.models import (
        AuditEntry, Delivery, Event, EventKey, Invitation, TimelineEntry, WebhookLog, utcnow,
    )

    rng = random.Random(seed)
    ws = seeded["workspace_id"]
    now = utcnow()
    start = now - timedelta(days=SPAN_DAYS)
    span = (now - start).total_seconds() - 60
    n_invitations = max(1, events // 4)
    n_opportunities = max(n_invitations, events // 3)
    counts: dict[str, int] = {}

    def at_fraction(f: float):
        return start + timedelta(seconds=span * f)

    def insert(conn, model, rows: list[dict], force: bool = False) -> None:
        if rows and (force or len(rows) >= batch):  # the rows go, and the list is emptied
            conn.execute(model.__table__.insert(), rows)
            counts[model.__tablename__] = counts.get(model.__tablename__, 0) + len(rows)
            rows.clear()

    with app.app_context():
        engine = db.engine
        # invitations and their timelines (ids 1..n: created in order over the span)
        with engine.begin() as conn:
            inv_rows, tl_rows = [], []
            for i in range(1, n_invitations + 1):
                attachment_id, posting_id, provider, assessment = rng.choice(seeded["attachments"])
                status = pick(rng, INVITATION_STATUS_MIX, 1)[0]
                created = at_fraction(i / (n_invitations + 1))
                first, last = rng.choice(FIRST), rng.choice(LAST)
                done = status == "completed"
                score = round(rng.uniform(20, 100), 1) if done else None
                verdict = (rng.choice(("passed", "failed")) if done and rng.random() < 0.5 else None)
                inv_rows.append({
                    "id": i, "workspace_id": ws, "attachment_id": attachment_id, "opportunity_id": f"opp-{i}",
                    "posting_id": posting_id, "candidate_name": f"{first} {last}",
                    "candidate_email": f"{first.lower()}.{last.lower()}{i}@mail.test",
                    "search_text": search_text(f"{first} {last}", f"{first.lower()}.{last.lower()}{i}@mail.test"),
                    "profile_url": f"https://ats.example/candidates/opp-{i}", "provider": provider,
                    "assessment_id": assessment, "assessment_name": f"{assessment.upper()} test", "status": status,
                    "round": 1, "reference_token": f"{rng.getrandbits(40):010x}",
                    "provider_invitation_id": None if status == "pending" else f"vnd-{i}",
                    "invite_url": None if status == "pending" else f"https://tests.example/i/{i}",
                    "score": score, "max_score": 100.0 if done else None, "pass_threshold": 60.0 if done else None,
                    "report_url": f"https://tests.example/r/{i}" if done else None, "verdict": verdict,
                    "failure_reason": "the vendor refused the email address" if status == "failed" else None,
                    "created_at": created, "updated_at": created + timedelta(hours=30),
                    "invited_at": None if status == "pending" else created + timedelta(seconds=5),
                    "started_at": created + timedelta(hours=5) if status in ("started", "completed") else None,
                    "completed_at": created + timedelta(hours=6) if done else None,
                    "verdict_at": created + timedelta(hours=30) if verdict else None,
                })
                steps = [("created", provider, "assessment for stage Assessment", created)]
                if status != "pending":
                    steps.append(("invited", provider, "invitation sent", created + timedelta(seconds=5)))
                if status in ("started", "completed"):
                    steps.append(("started", provider, "", created + timedelta(hours=5)))
                if status not in ("pending", "invited", "started"):
                    steps.append((status, provider, "", created + timedelta(hours=6)))
                if verdict:
                    steps.append(("verdict", "benchats", verdict, created + timedelta(hours=30)))
                for kind, source, detail, when in steps:
                    tl_rows.append({"invitation_id": i, "at": when, "kind": kind, "source": source,
                                    "detail": detail, "refs": None})
                if len(tl_rows) >= batch:  # the parents first: the timeline's foreign key
                    insert(conn, Invitation, inv_rows, force=True)
                    insert(conn, TimelineEntry, tl_rows, force=True)
            insert(conn, Invitation, inv_rows, force=True)
            insert(conn, TimelineEntry, tl_rows, force=True)
        say(f"  {counts['invitations']} invitations, {counts['timeline']} timeline entries")

        # events, their keys, deliveries and webhook log lines (ids 1..events, in time order)
        with engine.begin() as conn:
            ev_rows, key_rows, dl_rows, log_rows = [], [], [], []
            for i in range(1, events + 1):
                f = i / (events + 1)
                at = at_fraction(f)
                kind, source, _, targets = pick(rng, EVENT_MIX, 2)
                newest_invitation = max(1, int(f * n_invitations))
                if kind in ("stage_change", "archive_change"):
                    opportunity = rng.randint(max(1, int(f * n_opportunities) - 3000), max(1, int(f * n_opportunities)))
                    subject = f"opp-{opportunity}"
                    payload = {"opportunity_id": subject, "to_stage_id": rng.choice(("screen", "assess", "assess2")),
                               "from_stage_id": "screen", "occurred_at": at.isoformat()}
                else:
                    invitation = rng.randint(max(1, newest_invitation - 2000), newest_invitation)
                    subject = f"invitation:{invitation}"
                    payload = {"invitation_id": invitation, "status": "started", "round": 1,
                               "occurred_at": at.isoformat()}
                external = f"{source}-{uuid.UUID(int=rng.getrandbits(128)).hex}"
                ev_rows.append({"id": i, "workspace_id": ws, "source_plugin": source, "type": kind,
                                "external_id": external, "subject": subject, "payload": payload,
                                "outcome": "delivered", "received_at": at})
                key_rows.append({"workspace_id": ws, "source_plugin": source, "key": external, "seen_at": at})
                for plugin, hook, probability in targets:
                    if probability < 1.0 and rng.random() >= probability:
                        continue
                    state = delivery_state(rng, now, at)
                    dl_rows.append({"event_id": i, "workspace_id": ws, "plugin": plugin, "hook": hook,
                                    "deferrals": 0, "waiting_since": None, "lease_until": None,
                                    "lease_token": None, "created_at": at, **state})
                if source != "hub":
                    log_rows.append({"workspace_id": ws, "plugin": source, "received_at": at, "outcome": "accepted",
                                     "status_code": 200, "message": "", "event_count": 1})
                    if rng.random() < 0.05:
                        outcome, code = rng.choice((("duplicate", 200), ("rejected", 401), ("ignored", 200)))
                        log_rows.append({"workspace_id": ws, "plugin": source, "received_at": at, "outcome": outcome,
                                         "status_code": code, "message": "" if code == 200 else "bad signature",
                                         "event_count": 0})
                if len(dl_rows) >= batch:  # the parents first: the deliveries' foreign key
                    for model, rows in ((Event, ev_rows), (EventKey, key_rows), (Delivery, dl_rows),
                                        (WebhookLog, log_rows)):
                        insert(conn, model, rows, force=True)
                if i % 50_000 == 0:
                    say(f"  {i} events")
            for model, rows in ((Event, ev_rows), (EventKey, key_rows), (Delivery, dl_rows), (WebhookLog, log_rows)):
                insert(conn, model, rows, force=True)
        say(f"  {counts['events']} events, {counts['deliveries']} deliveries, {counts['event_keys']} keys, "
            f"{counts['webhook_log']} webhook log lines")

        # audit entries
        with engine.begin() as conn:
            rows = []
            users = seeded["users"]
            actions = (("delivery.replay", "delivery"), ("invitation.reinvite", "invitation"),
                       ("invitation.cancel", "invitation"), ("attachment.update", "attachment"),
                       ("integration.settings", "plugin"), ("user.update", "user"))
            for i in range(1, events // 10 + 1):
                action, kind = rng.choice(actions)
                target = {"delivery": lambda: f"delivery:{rng.randint(1, events)}",
                          "invitation": lambda: f"invitation:{rng.randint(1, n_invitations)}",
                          "attachment": lambda: f"attachment:{rng.choice(seeded['attachments'])[0]}",
                          "plugin": lambda: "plugin:benchtests",
                          "user": lambda: "user:member@bench.test"}[kind]()
                rows.append({"workspace_id": ws, "user_id": users["admin"], "actor": ROLE_EMAILS["admin"],
                             "action": action, "target": target, "detail": {"changed": ["max_rate"]},
                             "at": at_fraction(i / (events // 10 + 1))})
                insert(conn, AuditEntry, rows)
            insert(conn, AuditEntry, rows, force=True)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:  # explicit ids: move the sequences past them
                for table in ("events", "invitations"):
                    conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                         f"(SELECT max(id) FROM {table}))")
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                # as autovacuum does after a bulk of inserts: statistics, and the GIN indexes'
                # pending lists merged (unmerged, they make the planner price the trigram
                # indexes of the Candidates search several times higher and skip them)
                conn.exec_driver_sql("VACUUM (ANALYZE)")
        return counts


# --------------------------------------------------------------------------- measuring


class Capture:
    """Every statement the engine runs while ``on``: (seconds, statement, parameters)."""

    def __init__(self, engine):
        self.on = False
        self.statements: list[tuple[float, str, object]] = []
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)
        sa.event.listen(engine, "handle_error", self._failed)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        started = conn.info["bench_started"].pop()
        if self.on:
            self.statements.append((time.perf_counter() - started, statement, parameters))

    def _failed(self, context):  # a statement stopped by the timeout: its time so far
        conn = context.connection
        if conn is not None and conn.info.get("bench_started"):
            started = conn.info["bench_started"].pop()
            if self.on:
                self.statements.append((time.perf_counter() - started, context.statement, context.parameters))


class Deadline:
    """When the statements of the call being timed must stop (None: no limit)."""

    at: float | None = None


def install_timeout(engine, seconds: float) -> None:
    """Stop statements that run longer than ``seconds`` (SQLite: those of a call once ``Deadline.at``
    has passed, which also lets Ctrl-C and SIGTERM stop a long statement); every new connection
    gets it, so the pool is emptied."""
    if engine.dialect.name == "sqlite":
        def on_connect(dbapi_connection, _record):
            dbapi_connection.set_progress_handler(
                lambda: 1 if Deadline.at is not None and time.monotonic() > Deadline.at else 0, 20_000)
    else:
        def on_connect(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(seconds * 1000)}")
            dbapi_connection.commit()
    sa.event.listen(engine, "connect", on_connect)
    engine.dispose()


def explain(engine, statement: str, parameters) -> str:
    """The plan of ``statement`` with its parameters, as text."""
    head = statement.lstrip().split(None, 1)[0].upper()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            # (id, parent, notused, detail): indent by depth
            depth = {0: -1}
            lines = []
            for row_id, parent, _, detail in rows:
                depth[row_id] = depth.get(parent, -1) + 1
                lines.append("  " * depth[row_id] + detail)
            text = "\n".join(lines)
        else:
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if head in ("SELECT", "WITH") else "EXPLAIN "
            try:
                text = "\n".join(row[0] for row in conn.exec_driver_sql(prefix + statement, parameters))
            except sa.exc.OperationalError:  # it ran out of time: the plan without running it
                conn.rollback()
                text = "(EXPLAIN ANALYZE timed out; EXPLAIN:)\n" + "\n".join(
                    row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
        conn.rollback()
    return text


def call_within(function, timeout: float) -> float:
    """Milliseconds ``function()`` took; ``TimeoutError`` when a statement of it was stopped."""
    Deadline.at = time.monotonic() + timeout
    started = time.perf_counter()
    try:
        function()
    except Exception as exc:
        if time.monotonic() > Deadline.at or "statement timeout" in str(exc) or "interrupted" in str(exc):
            raise TimeoutError(str(exc)[:200]) from exc
        raise
    finally:
        Deadline.at = None
    return (time.perf_counter() - started) * 1000


def run_timed(function, repeat: int, timeout: float) -> list[float]:
    """The times of ``repeat`` runs after a warm-up; [] when the warm-up ran out of time."""
    try:
        call_within(function, timeout)  # warm-up
    except TimeoutError:
        return []
    return [call_within(function, timeout) for _ in range(repeat)]


def measurements(app, seeded: dict, events: int) -> list[tuple[str, str, object]]:
    """(name, what, function) of every measurement."""
    from hub.engine import sweeper
    from hub.extensions import db
    from hub.runtime import get_runtime

    clients = {}
    for role in ("super_admin", "limited_team_member"):
        client = app.test_client()
        answer = client.post("/sign-in", data={"email": ROLE_EMAILS[role], "password": PASSWORD})
        if answer.status_code != 302:
            raise RuntimeError(f"sign-in of {role} answered {answer.status_code}")
        clients[role] = client
    bearer = {"Authorization": f"Bearer {seeded['token']}"}
    n_invitations = max(1, events // 4)
    late_page = max(1, int(events / 25 * 0.8))
    # an invitation in the Limited Team Member's postings, with events about it
    invitation_id = n_invitations // 2
    with app.app_context():
        from hub.store.models import Invitation

        from hub.store.models import Event

        row = db.session.get(Invitation, invitation_id)
        email, opportunity = row.candidate_email, row.opportunity_id
        webhook_id = db.session.scalar(sa.select(Event.external_id).where(Event.id == max(1, events // 2)))
        db.session.rollback()

    def page(path, role="super_admin", headers=None):
        def get():
            answer = clients[role].get(path, headers=headers)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {path} as {role} answered {answer.status_code}")
        return get

    def in_app(function):
        def call():
            with app.app_context():
                function()
                db.session.remove()
        return call

    def runtime_call(name):
        def call():
            runtime = get_runtime()
            if name == "due_deliveries":
                sweeper.due_deliveries()
            elif name == "wake_stalled":
                if sweeper.wake_stalled(runtime):
                    raise RuntimeError("wake_stalled woke deliveries: the history should hold none due")
            elif name == "queue_gauges":
                sweeper._update_queue_gauges(runtime)
            else:
                if sweeper.purge(runtime):
                    raise RuntimeError("the purge deleted events: the history should hold none that old")
        return in_app(call)

    return [
        ("dashboard", "GET / (Super Admin)", page("/")),
        ("activity", "GET /activity", page("/activity")),
        ("activity_dead", "GET /activity?status=dead", page("/activity?status=dead")),
        ("activity_plugin", "GET /activity?plugin=benchtests2", page("/activity?plugin=benchtests2")),
        ("activity_late_page", f"GET /activity?page={late_page}", page(f"/activity?page={late_page}")),
        ("activity_about", "GET /activity?about=<an opportunity id>", page(f"/activity?about={opportunity}")),
        ("activity_about_webhook", "GET /activity?about=<a webhook's id>", page(f"/activity?about={webhook_id}")),
        ("activity_about_page", "GET /activity?about=<a candidate page's address>",
         page("/activity?about=" + quote(f"https://ats.example/candidates/{opportunity}", safe=""))),
        ("activity_about_page_unknown", "GET /activity?about=<an address no invitation has>",
         page("/activity?about=" + quote("https://ats.example/people/nobody", safe=""))),
        ("candidates", "GET /candidates", page("/candidates")),
        ("candidates_failed", "GET /candidates?status=failed", page("/candidates?status=failed")),
        ("candidates_search_name", "GET /candidates?q=lovelace", page("/candidates?q=lovelace")),
        ("candidates_search_email", "GET /candidates?q=<one email>", page(f"/candidates?q={email}")),
        ("candidates_limited", "GET /candidates (Limited Team Member)", page("/candidates", "limited_team_member")),
        ("candidate_page", f"GET /candidates/{invitation_id}", page(f"/candidates/{invitation_id}")),
        ("audit", "GET /audit", page("/audit")),
        ("api_activity", "GET /api/v1/activity", page("/api/v1/activity", headers=bearer)),
        ("api_activity_dead", "GET /api/v1/activity?status=dead", page("/api/v1/activity?status=dead", headers=bearer)),
        ("api_invitations", "GET /api/v1/invitations", page("/api/v1/invitations", headers=bearer)),
        ("api_invitations_search", "GET /api/v1/invitations?q=lovelace",
         page("/api/v1/invitations?q=lovelace", headers=bearer)),
        ("sweeper_due_deliveries", "sweeper.due_deliveries()", runtime_call("due_deliveries")),
        ("sweeper_wake_stalled", "sweeper.wake_stalled() (none stalled)", runtime_call("wake_stalled")),
        ("sweeper_queue_gauges", "sweeper._update_queue_gauges()", runtime_call("queue_gauges")),
        ("retention_purge", "sweeper.purge() (nothing to purge)", runtime_call("purge")),
    ]


def one_line(statement: str, limit: int = 400) -> str:
    text = " ".join(statement.split())
    return text if len(text) <= limit else text[:limit] + " ..."


def main() -> None:
    args = parse_args()
    with workspace(args.keep) as space:
        db_url = pages_database(space, args.pg_url) if args.pg else "sqlite:///" + str(space.path / "hub.db")
        say(f"building the app ({'PostgreSQL' if args.pg else 'SQLite'}), migrating")
        app = build_app(space, db_url)
        seeded = seed_people(app)
        say(f"filling {args.events} events (batches of {args.batch})")
        started = time.monotonic()
        counts = fill(app, seeded, args.events, args.batch, args.seed)
        fill_seconds = time.monotonic() - started
        say(f"filled in {fill_seconds:.0f}s: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

        from hub.extensions import db

        with app.app_context():
            engine = db.engine
        install_timeout(engine, args.timeout_s)
        capture = Capture(engine)
        wanted = [w for w in args.only.split(",") if w]
        figures: dict[str, tuple[float, float]] = {}
        slow = []
        print(f"\n{'measurement':<28} {'median ms':>10} {'p95 ms':>10}  what")
        for name, what, function in measurements(app, seeded, args.events):
            if wanted and not any(w in name for w in wanted):
                continue
            times = run_timed(function, args.repeat, args.timeout_s)
            if not times:
                figures[name] = (-1.0, -1.0)
                print(f"{name:<28} {'timed out':>21}  {what} (a statement ran over {args.timeout_s:g}s)", flush=True)
                slow.append((name, what, function))
                continue
            median, p95 = statistics.median(times), percentile(times, 95)
            figures[name] = (median, p95)
            print(f"{name:<28} {median:>10.1f} {p95:>10.1f}  {what}", flush=True)
            if median > args.slow_ms:
                slow.append((name, what, function))

        for name, what, function in slow:
            capture.statements.clear()
            capture.on = True
            try:
                call_within(function, args.timeout_s)
            except TimeoutError:
                pass
            finally:
                capture.on = False
            by_text: dict[str, list] = {}
            for seconds, statement, parameters in capture.statements:
                entry = by_text.setdefault(statement, [0.0, 0, seconds, parameters])
                entry[0] += seconds
                entry[1] += 1
                if seconds >= entry[2]:
                    entry[2], entry[3] = seconds, parameters
            total = sum(s for s, _, _ in capture.statements) * 1000
            median = f"median {figures[name][0]:.0f} ms" if figures[name][0] >= 0 else "timed out"
            print(f"\n== {name} ({what}): {median}; {len(capture.statements)} statements, "
                  f"{total:.0f} ms in the database ==")
            ranked = sorted(by_text.items(), key=lambda item: -item[1][0])[:args.top]
            for statement, (seconds, count, _, parameters) in ranked:
                print(f"\n-- {seconds * 1000:.1f} ms in {count} run(s): {one_line(statement)}")
                print(f"   parameters: {str(parameters)[:200]}")
                try:
                    plan = explain(engine, statement, parameters)
                except Exception as exc:  # a plan that cannot be had is said, the others still printed
                    plan = f"(no plan: {exc})"
                print("\n".join("   | " + line for line in plan.splitlines()[:30]))

    values: dict[str, object] = {"database": "postgresql" if args.pg else "sqlite", "events": args.events,
                                 "repeat": args.repeat, "fill_s": fill_seconds}
    values.update({f"rows_{k}": v for k, v in counts.items()})
    for name, (median, p95) in figures.items():
        values[f"{name}_median_ms"] = median
        values[f"{name}_p95_ms"] = p95
    values["slow_measurements"] = ",".join(name for name, _, _ in slow) or "none"
    result_block("pages", values)


if __name__ == "__main__":
    main()
