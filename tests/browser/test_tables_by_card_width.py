"""Every list table (Integrations, Recent webhooks, Pipeline, Candidates, Activity's deliveries,
Audit, Users, API tokens) between a phone and a desktop window, in a real browser (Debian's
chromium), on the seeded web-test app with a long Last error and a long webhook message.

The tables stacked into labelled cards only in a window of 640 px or less. From 821 px the menu is
beside the page again and takes 232 px of it: at 900 px a list's card is 606 px wide, and every
list table (620 to 830 px of content) scrolled sideways inside its card, its last columns (Last
error and Replay, a webhook's Message, a row's buttons) out of sight on the right; from 641 to 820
px (the menu above the page) too. The tables now stack when their card is narrower than 800 px
(a CSS container query), whatever the window's width; at 1100 px and wider they are tables.
"""

from __future__ import annotations

import pytest

from tests.browser.test_layout import signed_in_page
from tests.browser.test_narrow_delivery_and_webhook_tables import serving_long_texts

pytestmark = pytest.mark.browser

# each list page and the tables it must show (Activity: one table of deliveries per event)
LISTS = {"/integrations": ["integrations-table"], "/integrations/fakesource": ["webhook-log"],
         "/pipeline": ["attachments-table"], "/candidates": ["candidates-table"], "/activity": ["deliveries-"],
         "/audit": ["audit-table"], "/users": ["users-table"], "/settings/api-tokens": ["tokens-table"]}

# Each list table on the page: how it is displayed, its scroll container's (its card's) widths and
# visible box, and each row's cells (their box, whether they hold anything, their column's name and
# the label shown before them).
TABLES = """() => [...document.querySelectorAll("table.table--stack")].map(table => {
    const card = table.closest(".card--flush, .event");
    const frame = card.getBoundingClientRect();
    const left = frame.left + card.clientLeft;
    const head = table.tHead.rows[0].cells[0].getBoundingClientRect();
    const rows = [...table.tBodies[0].rows].map(tr => [...tr.cells].map(td => {
        const box = td.getBoundingClientRect();
        return {left: box.left, right: box.right, top: box.top, width: box.width,
                filled: td.textContent.trim() !== "" || td.children.length > 0,
                display: getComputedStyle(td).display, label: td.dataset.label || null,
                before: getComputedStyle(td, "::before").content};
    }));
    return {id: table.id, display: getComputedStyle(table).display, scroll: card.scrollWidth,
            client: card.clientWidth, left, right: left + card.clientWidth, head: head.height, rows};
})"""
PAGE_WIDTH = "() => ({page: document.documentElement.scrollWidth, window: window.innerWidth})"


@pytest.fixture
def served(make_app):
    with serving_long_texts(make_app) as served:
        yield served


def _tables(page, url, path):
    answer = page.goto(url + path)
    assert answer.status == 200, path
    tables = page.evaluate(TABLES)
    for wanted in LISTS[path]:
        assert any(table["id"].startswith(wanted) for table in tables), f"{path}: no #{wanted}…: {tables}"
    widths = page.evaluate(PAGE_WIDTH)
    assert widths["page"] <= widths["window"], f"{path}: the page scrolls sideways: {widths}"
    return tables


def _in_sight(path, table, n, cell, what):
    where = f"{path} #{table['id']} row {n}, {what} ({cell['label']})"
    assert cell["width"] > 0 and cell["display"] != "none", f"{where}: not shown: {cell}"
    assert table["left"] - 0.5 <= cell["left"] and cell["right"] <= table["right"] + 0.5, \
        f"{where}: {cell['left']:.0f} to {cell['right']:.0f} px, its card shows {table['left']:.0f} to {table['right']:.0f}"


@pytest.mark.parametrize("width", [700, 821, 900, 1000])
def test_between_a_phone_and_a_desktop_every_list_table_fits_its_card(browser, served, shots, width):
    url, ids = served
    page = signed_in_page(browser, url, ids["super_admin"], {"width": width, "height": 900})
    try:
        for path in LISTS:
            tables = _tables(page, url, path)
            shots.take(page, path)
            for table in tables:
                name = f"{path} #{table['id']}"
                assert table["display"] == "block", f"{name} is not stacked: {table['display']}"
                assert table["scroll"] <= table["client"], \
                    f"{name} scrolls sideways in its card: {table['scroll']} px in {table['client']}"
                last_column = 0
                for n, row in enumerate(table["rows"]):
                    for cell in row:
                        if cell["filled"]:
                            _in_sight(path, table, n, cell, "a cell")
                        if cell["label"] and cell["display"] != "none":  # under its column's name
                            assert cell["before"] == f'"{cell["label"]}"', (name, n, cell)
                    if row[-1]["filled"]:
                        _in_sight(path, table, n, row[-1], "the last column")
                        last_column += 1
                assert last_column, f"{name}: no row has anything in its last column"
    finally:
        page.context.close()


@pytest.mark.parametrize("width", [1100, 1180, 1280])
def test_on_a_desktop_the_lists_are_tables(browser, served, shots, width):
    """At 1100 px Audit, Recent webhooks and Candidates, with these long texts, were 2 to 23 px
    wider than their card and scrolled sideways: from a card of 800 px up to 960 px their cells'
    sides are narrower, and every list fits its card from 1100 px on."""
    url, ids = served
    page = signed_in_page(browser, url, ids["super_admin"], {"width": width, "height": 900})
    try:
        for path in LISTS:
            tables = _tables(page, url, path)
            shots.take(page, path)
            for table in tables:
                name = f"{path} #{table['id']}"
                assert table["display"] == "table", f"{name}: {table['display']}"
                assert table["head"] > 0, f"{name}: its header row is hidden"
                for n, row in enumerate(table["rows"]):
                    shown = [cell for cell in row if cell["display"] != "none"]
                    assert {cell["display"] for cell in shown} == {"table-cell"}, (name, n, row)
                    assert len({round(cell["top"]) for cell in shown}) == 1, f"{name} row {n}: not one line"
                    assert all(a["left"] < b["left"] for a, b in zip(shown, shown[1:])), (name, n, row)
                    assert {cell["before"] for cell in shown} <= {"none", "normal"}, (name, n, row)
                assert table["scroll"] <= table["client"], \
                    f"{name} scrolls sideways in its card: {table['scroll']} px in {table['client']}"
    finally:
        page.context.close()
