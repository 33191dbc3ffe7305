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
    assert len(threads) == len(days) == len(seconds) == len(counts) == 1
    assert seconds == {YEAR_SECONDS}
    for said in (f"{threads.pop()} threads for `HUB_WORKERS` and `HUB_INGEST_COMMITTERS`",
                 f"{days.pop()} for the `_DAYS`", f"{MAXIMUM['INGEST_TIMEOUT_SECONDS']} for `HUB_INGEST_TIMEOUT_SECONDS`",
                 f"{YEAR_SECONDS} (365 days) for the other `_SECONDS`",
                 f"{MAXIMUM['BACKFILL_MAX_CANDIDATES']} for `HUB_BACKFILL_MAX_CANDIDATES`",
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
