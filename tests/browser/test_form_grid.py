"""The forms laid out as a grid of fields (``.form--grid``: Add a user, Create a token) in a real
browser (Debian's chromium), on the web tests' seeded app served from a thread
(``tests/browser/test_layout.served``).

Fields side by side line up: their labels share a top edge, their controls (inputs and selects
alike) share a top and a bottom edge, and the submit button is level with the controls of its row,
whatever hangs below one of them (the role's help text, an error message). They used to be aligned
to their bottoms, so the Role select with its help text stood higher than the Email and Name inputs,
and the button sat lower than all of them. Alone on its row (a phone), the button keeps to the
fields' left edge.
"""

from __future__ import annotations

import pytest

from tests.browser.test_layout import LAPTOP, PHONE, served, signed_in_page  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

TABLET = {"width": 1000, "height": 860}  # two fields a row: the button shares the second row

# Each field's label and control box, and the submit button's, of the form ``selector``.
BOXES = """(selector) => {
    const form = document.querySelector(selector);
    const box = el => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left}; };
    const fields = [...form.querySelectorAll(":scope > .field")].map(field => ({
        name: field.querySelector("input, select").id,
        label: box(field.querySelector("label")),
        control: box(field.querySelector("input, select")),
    }));
    return {fields, button: box(form.querySelector("button[type=submit]"))};
}"""


def rows(fields: list[dict]) -> list[list[dict]]:
    """The fields grouped by grid row (the same label top), top to bottom."""
    grouped: dict[float, list[dict]] = {}
    for field in fields:
        key = next((top for top in grouped if abs(top - field["label"]["top"]) < 1), field["label"]["top"])
        grouped.setdefault(key, []).append(field)
    return [grouped[top] for top in sorted(grouped)]


def assert_lined_up(boxes: dict, where: str) -> None:
    """Each row's labels and controls share their edges; the button is level with its row's controls,
    or alone on its row below them, at the fields' left edge."""
    for row in rows(boxes["fields"]):
        names = [field["name"] for field in row]
        for edge in ("top", "bottom"):
            edges = [field["control"][edge] for field in row]
            assert max(edges) - min(edges) < 1, f"{where}: the {edge} edges of {names} differ: {edges}"
    button = boxes["button"]
    beside = [field for field in boxes["fields"] if abs(field["control"]["top"] - button["top"]) < 1]
    if beside:
        for edge in ("top", "bottom"):
            assert abs(beside[0]["control"][edge] - button[edge]) < 1, \
                f"{where}: the button's {edge} is {button[edge]}, {beside[0]['name']}'s {beside[0]['control'][edge]}"
    else:
        lowest = max(field["control"]["bottom"] for field in boxes["fields"])
        left = min(field["control"]["left"] for field in boxes["fields"])
        assert button["top"] > lowest and abs(button["left"] - left) < 1, f"{where}: the button is astray: {boxes}"


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET, PHONE], ids=["laptop", "tablet", "phone"])
@pytest.mark.parametrize("path, form", [("/users", "#user-form"), ("/settings/api-tokens", "#token-form")],
                         ids=["add-user", "create-token"])
def test_the_fields_of_a_grid_form_line_up(browser, served, shots, viewport, path, form):
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), viewport)
    try:
        page.goto(url + path)
        shots.take(page, f"{path} {viewport['width']}")
        boxes = page.evaluate(BOXES, form)
        assert len(boxes["fields"]) >= 2
        if viewport is LAPTOP:  # wide enough for every field and the button on one row
            assert len(rows(boxes["fields"])) == 1, boxes
        assert_lined_up(boxes, f"{path} at {viewport['width']} px")
    finally:
        page.context.close()


def test_an_error_below_one_field_does_not_move_the_others(browser, served, shots):
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), LAPTOP)
    try:
        page.goto(url + "/users")
        page.fill("#new-email", "not-an-email")
        with page.expect_navigation():
            page.click("#create-user")
        assert page.locator("#new-email-error").is_visible()
        shots.take(page, "users rejected")
        boxes = page.evaluate(BOXES, "#user-form")
        assert len(rows(boxes["fields"])) == 1, boxes
        assert_lined_up(boxes, "/users with an error under Email")
    finally:
        page.context.close()
