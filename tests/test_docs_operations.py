"""docs/operations.md stays true to the code: its configuration table gives each setting's real
default (``hub.config.DEFAULTS``), and its metrics list names every metric ``hub.metrics`` exports."""

from __future__ import annotations

import re
from pathlib import Path

from hub.config import DEFAULTS
from hub.metrics import Metrics

OPERATIONS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


def configuration_table() -> dict[str, str]:
    """``HUB_NAME`` -> the Default cell of its row in the configuration table."""
    rows = {}
    for line in OPERATIONS.read_text().splitlines():
        match = re.match(r"^\|\s*`HUB_(\w+)`\s*\|([^|]*)\|", line)
        if match:
            rows[match.group(1)] = match.group(2).strip()
    return rows


def as_documented(value) -> str:
    """How the table writes a default: flags in lower case, numbers as Python prints them."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_every_default_in_the_table_is_the_code_s():
    table = configuration_table()
    wrong = {}
    for name, value in DEFAULTS.items():
        if value is None:  # "unset", "generated", "all installed": said in words
            continue
        cell = table.get(name, "")
        shown = re.match(r"`([^`]*)`", cell)
        if shown is None or shown.group(1) != as_documented(value):
            wrong[f"HUB_{name}"] = (cell, as_documented(value))
    assert wrong == {}, "docs/operations.md's Default column (documented, in code)"


def test_every_metric_is_named_in_the_docs():
    text = OPERATIONS.read_text()
    # prometheus_client names a counter's family without the _total its samples carry
    exported = {family.name + "_total" if family.type == "counter" else family.name
                for family in Metrics().registry.collect()}
    missing = sorted(name for name in exported if f"`{name}" not in text)
    assert missing == []


def test_the_maximums_it_gives_are_the_codes():
    """Each number setting has a maximum (``hub.config.MAXIMUM``); the docs give them by group."""
    from hub.config import MAXIMUM, YEAR_SECONDS

    text = " ".join(OPERATIONS.read_text().split())
    threads = {MAXIMUM["WORKERS"], MAXIMUM["INGEST_COMMITTERS"]}
    days = {MAXIMUM[name] for name in MAXIMUM if name.endswith("_DAYS")}
    seconds = {MAXIMUM[name] for name in MAXIMUM if name.endswith("_SECONDS") and name != "INGEST_TIMEOUT_SECONDS"}
    counts = {MAXIMUM[name] for name in MAXIMUM if not name.endswith(("_SECONDS", "_DAYS"))} - threads
    counts.discard(MAXIMUM["BACKFILL_MAX_CANDIDATES"])
    counts.discard(MAXIMUM["TRUSTED_PROXIES"])
    assert len(threads) == len(days) == len(seconds) == len(counts) == 1
    assert seconds == {YEAR_SECONDS}
    for said in (f"{threads.pop()} threads for `HUB_WORKERS` and `HUB_INGEST_COMMITTERS`",
                 f"{days.pop()} for the `_DAYS`", f"{MAXIMUM['INGEST_TIMEOUT_SECONDS']} for `HUB_INGEST_TIMEOUT_SECONDS`",
                 f"{YEAR_SECONDS} (365 days) for the other `_SECONDS`",
                 f"{MAXIMUM['BACKFILL_MAX_CANDIDATES']} for `HUB_BACKFILL_MAX_CANDIDATES`",
                 f"{MAXIMUM['TRUSTED_PROXIES']} for `HUB_TRUSTED_PROXIES`",
                 f"{counts.pop()} for the other counts"):
        assert said in text


def test_the_trigram_index_it_names_is_the_migrations():
    """Migration 2d7f4b9e6a15 replaced the two trigram indexes over lower() by one over search_text:
    the statement to run by hand and the words around it name that one."""
    from hub.store.models import MIGRATION_ONLY_INDEXES

    text = " ".join(OPERATIONS.read_text().split())
    assert set(re.findall(r"\bix_\w+_trgm\b", text)) == MIGRATION_ONLY_INDEXES == {"ix_invitations_search_trgm"}
    assert "CREATE INDEX ix_invitations_search_trgm ON invitations USING gin (search_text gin_trgm_ops);" in text
    assert "which the migrations use for the Candidates search's index;" in text


def section(title: str) -> str:
    """The text of the section (any level) whose heading is ``title``, up to the next heading of
    its level or above, on one line."""
    lines = OPERATIONS.read_text().splitlines()
    fenced, in_code = [], False
    for line in lines:  # a "# comment" in a code block is no heading
        in_code ^= line.startswith("```")
        fenced.append(in_code or line.startswith("```"))
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"#+ " + re.escape(title), line))
    level = len(lines[start]) - len(lines[start].lstrip("#"))
    end = next((i for i in range(start + 1, len(lines))
                if not fenced[i] and re.match(r"#{1,%d} " % level, lines[i])), len(lines))
    return " ".join(" ".join(lines[start:end]).split())


def test_its_systemd_units_have_no_comment_after_a_value():
    """systemd reads "#" as a comment only at the start of a line: ``RestartSec=5   # ...`` made the
    whole rest the value, which systemd ignored (restarting after 100 ms, then giving the unit up
    after 5 restarts in 10 s, while Redis was still away at boot)."""
    blocks = re.findall(r"```ini\n(.*?)```", OPERATIONS.read_text(), re.S)
    assert blocks
    for line in (line.strip() for block in blocks for line in block.splitlines()):
        if not line or line.startswith(("#", ";")) or re.fullmatch(r"\[\w+\]", line):
            continue
        key, equals, value = line.partition("=")
        assert equals and re.fullmatch(r"[A-Za-z]+", key), line
        assert " #" not in value and " ;" not in value, line


def test_it_names_migrations_by_their_revision():
    """Five migrations are of 2026-11-29: "the 2026-11-29 migration" named none an operator could
    look up in `hub db history`. Every revision it names is one the hub ships."""
    versions = Path(__file__).resolve().parents[1] / "migrations" / "versions"
    shipped = {path.name.split("_")[1]: path.name for path in versions.glob("*.py")}
    text = " ".join(OPERATIONS.read_text().split())
    named = set(re.findall(r"`([0-9a-f]{12})`", text))
    assert named and named <= set(shipped), named - set(shipped)
    assert "64_bit_ids" in shipped["7c2f17f9dc57"] and "Migration `7c2f17f9dc57` (of 2026-11-29: 64-bit ids" in text
    assert "The 2026-11-29 migration" not in text


def test_the_web_process_count_it_gives_is_the_settings():
    """gunicorn's processes follow the CPUs it may use, not the machine's cores."""
    from hub import gunicorn_conf

    text = " ".join(OPERATIONS.read_text().split())
    assert "cpu_count()" not in text and "as many processes as cores" not in text
    assert "as many processes as the CPUs gunicorn may use, at least 2, 16 threads each" in text
    assert "(`cpus_available()` in `hub/gunicorn_conf.py`)" in text
    assert gunicorn_conf.workers == max(2, gunicorn_conf.cpus_available()) and gunicorn_conf.threads == 16


def test_it_says_which_missing_settings_production_refuses():
    """Step 3 said the hub refuses to start with any of its variables missing; HUB_DATABASE_URL
    and HUB_REDIS_URL have defaults in production too (the instance folder's SQLite files)."""
    steps = section("First deployment, step by step")
    assert "The hub refuses to start with a missing or unusable one" not in steps
    assert ("`HUB_DATABASE_URL` and `HUB_REDIS_URL` have defaults even in production, the SQLite files of the "
            "instance folder (`hub.db`, `queue.db`)") in steps
    assert ("`hub worker`, `hub run`, `hub init` and `hub db upgrade` (`current`, `downgrade`, `stamp`) refuse, "
            "each saying `HUB_DATABASE_URL is not set ...` (`hub init` and `hub db upgrade` would otherwise fill "
            "that file)") in steps


def test_the_lines_written_outside_the_log_are_all_named():
    """In production the log is JSON: every line a command writes in plain text is named, so that an
    operator knows what a shipper reading JSON meets (it named gunicorn's first line and `hub
    worker started` only)."""
    import inspect

    from hub.cli import serve

    logs = section("Logs")
    source = inspect.getsource(serve)
    for written, named in (('"ATS Hub listening on http://', "`ATS Hub listening on http://...`"),
                           ('f"Warning: {unreadable}"', "a `Warning: ...` line with which `hub worker` or `hub run`"),
                           ('"hub worker started ({threads_said})"', "`hub worker started (N threads)`")):
        assert written in source and named in logs, named
    assert "the `Error: ...` line of a command that refuses to start" in logs
    assert "`--access-logfile -` (`-` is standard output, in the same format)" in logs


def test_the_upgrade_does_not_promise_a_503_from_a_process_that_was_ready():
    """A process keeps its ready answer (it reads the revision until it finds it at head): an old
    version's process left running after `hub db upgrade` answers 200, not 503."""
    upgrading = section("Upgrading")
    assert "on a process whose code and database differ" not in upgrading
    assert "A process that was ready before keeps answering 200" in upgrading


def test_kubernetes_probes_are_for_the_web_pods_only():
    """A `hub worker` serves no HTTP: a probe on /healthz there would fail and restart it for ever."""
    supervisor = section("Under a process supervisor")
    assert "On Kubernetes the same for the web pods:" in supervisor
    assert "A `hub worker` pod serves no HTTP, so it gets no HTTP probe" in supervisor


def test_the_metrics_directory_under_run_is_made_at_boot():
    supervisor = section("Under a process supervisor")
    assert "`d /run/hub-metrics 0700 hub hub -` in `/etc/tmpfiles.d/hub.conf`" in supervisor
    assert "exec runuser -u hub -- .venv/bin/hub db current" in supervisor


def test_every_hub_command_and_option_it_names_exists():
    """Each `hub ...` in backquotes is a command of the CLI, and each --option it gives is one of
    that command's."""
    import click

    from hub.cli import cli as group

    text = " ".join(OPERATIONS.read_text().split())
    named = re.findall(r"`(hub (?:[a-z-]+ ?)+(?:--[a-z-]+[^`]*)?)`", text)
    assert len(named) > 10
    with click.Context(group) as ctx:
        for command_line in named:
            words = command_line.split()[1:]
            command = group
            while words and isinstance(command, click.Group) and not words[0].startswith("-"):
                found = command.get_command(ctx, words[0])
                if found is None:
                    break
                command, words = found, words[1:]
            assert command is not group, command_line
            options = {opt for param in command.params for opt in getattr(param, "opts", [])}
            for word in words:
                if word.startswith("--"):
                    assert word in options, command_line


def counted_delivery_statuses() -> set[str]:
    """The ``status`` values the engine gives ``hub_deliveries_finished_total``: the last argument
    of each ``metrics.delivery(...)`` call in ``hub/``, a literal or a ``D_*`` status constant."""
    import ast

    from hub.store import models

    found = set()
    for path in (Path(__file__).resolve().parents[1] / "hub").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "delivery" \
                    and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "metrics":
                last = node.args[-1]
                found.add(last.value if isinstance(last, ast.Constant) else getattr(models, last.id))
    return found


def test_every_delivery_status_counted_is_named_in_the_docs():
    text = " ".join(OPERATIONS.read_text().split())
    listed = re.search(r"`hub_deliveries_finished_total\{plugin, hook, status\}`: delivery attempts by outcome "
                       r"\(([^)]*)\)", text)
    assert listed is not None
    named = set(re.findall(r"`(\w+)`", listed.group(1)))
    counted = counted_delivery_statuses()
    assert counted >= {"done", "retry", "deferred", "dead", "orphaned"}  # the scan finds the calls
    assert sorted(counted - named) == []
