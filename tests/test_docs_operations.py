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
