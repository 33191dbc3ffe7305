"""Data tables had no caption (WCAG 1.3.1; a keyboard and screen-reader walk): a screen reader's
list of tables gave "table, 6 columns" for each, and Activity has one per event. Every data table
has a ``<caption>``, its first child, visually hidden (each sits under a heading that sighted users
read, so nothing changes on screen); an event's deliveries table names its event."""

from __future__ import annotations

import re
from pathlib import Path

from tests.web.a11y_activity_dom import parse
from tests.web.test_a11y_activity_titles import PAGES, _data

TEMPLATES = Path(__file__).resolve().parents[2] / "hub" / "web" / "templates"


def test_every_table_in_the_templates_starts_with_a_caption():
    tables = {}
    for template in sorted(TEMPLATES.rglob("*.html")):
        source = template.read_text()
        for match in re.finditer(r"<table\b[^>]*>", source):
            after = source[match.end():].lstrip()
            tables[f"{template.relative_to(TEMPLATES)}:{source.count(chr(10), 0, match.start()) + 1}"] = (
                after.startswith("<caption"))
    assert len(tables) >= 8, tables
    assert all(tables.values()), [where for where, ok in tables.items() if not ok]


def test_every_table_shown_has_a_caption_that_names_it(hub_app, seeded, as_role):
    _data(hub_app, seeded)  # a webhook log, so that its table is shown
    client = as_role("super_admin")
    shown = {}
    for path in PAGES:
        doc = parse(client.get(path).get_data(as_text=True))
        for table in doc.find_all("table"):
            first = next(child for child in table.children if not isinstance(child, str) or child.strip())
            assert not isinstance(first, str) and first.tag == "caption", (path, table.attrs.get("id"))
            assert "visually-hidden" in first.classes, (path, table.attrs.get("id"))  # nothing new on screen
            shown[table.attrs["id"]] = first.spoken()
    for table_id in ("users-table", "attachments-table", "audit-table", "candidates-table", "tokens-table",
                     "integrations-table", "webhook-log"):
        assert shown.get(table_id), (table_id, shown.get(table_id))
    assert "Fake ATS" in shown["webhook-log"]
    deliveries = {k: v for k, v in shown.items() if k.startswith("deliveries-")}
    assert len(deliveries) >= 9
    for table_id, caption in deliveries.items():
        assert f"event {table_id.removeprefix('deliveries-')}" in caption, caption
    assert len(set(deliveries.values())) == len(deliveries)  # one per event, told apart
