"""A delivery's recorded error is shown to admins without the exception's class name when the
class is the hub's or a plugin's error (its message is written for people), and with it for any
other exception (a plugin's bug, where the name is the explanation). The API keeps the recorded
text."""

from __future__ import annotations

import re
from html import unescape

import pytest

from hub.errors import TemporaryError, readable_error
from hub.extensions import db
from hub.store.models import Delivery
from tests.web.support import api_headers
from tests.web.test_outage_recovery import _event, _text
from tests.web.test_sending_progress import pending_with_delivery, sending_text


class VendorUnreachable(TemporaryError):
    """A plugin's own error class, defined outside the hub (as a third-party plugin would)."""


@pytest.mark.parametrize("recorded, shown", [
    ("TemporaryError: Fake Tests answered 503", "Fake Tests answered 503"),
    ("PermanentError: the assessment was deleted", "the assessment was deleted"),
    ("NeedsReauthorization: Lever refused the token", "Lever refused the token"),
    ("WebhookRejected: bad signature", "bad signature"),
    (f"{VendorUnreachable.__name__}: Fake Tests is unreachable", "Fake Tests is unreachable"),
    ("KeyError: 'email'", "KeyError: 'email'"),
    ("ValueError: invalid literal for int() with base 10: 'x'", "ValueError: invalid literal for int() with base 10: 'x'"),
    ("deferred: the result has not arrived yet", "deferred: the result has not arrived yet"),
    ("needs re-authorization: Lever refused the token", "needs re-authorization: Lever refused the token"),
    ("TemporaryError: ", "TemporaryError: "),
    ("Canditech is down", "Canditech is down"),
    ("", ""),
    (None, None),
])
def test_readable_error_drops_only_the_names_of_errors_written_for_people(recorded, shown):
    assert readable_error(recorded) == shown


def test_the_classes_it_knows_are_the_error_bases_and_their_subclasses():
    assert readable_error("HubError: x") == "x" and readable_error("PluginError: x") == "x"
    assert readable_error("Exception: x") == "Exception: x"  # not one of the hub's


def _set_error(app, delivery_id: int, text: str, status: str = "dead") -> None:
    with app.app_context():
        row = db.session.get(Delivery, delivery_id)
        row.status, row.last_error = status, text
        db.session.commit()


def _error_cell(app, as_role, delivery_id: int, recorded: str) -> tuple[str, str]:
    """Record ``recorded`` as the dead delivery's error; Activity's error cell for it: (attributes, text)."""
    _set_error(app, delivery_id, recorded)
    html = as_role("admin").get("/activity").get_data(as_text=True)
    row = re.search(rf'<tr id="delivery-{delivery_id}" data-status="dead">(.*?)</tr>', html, re.S).group(1)
    cell = re.search(r'<td class="wrap small"([^>]*)>(.*?)</td>', row, re.S)
    return cell.group(1), unescape(re.sub(r"<details .*?</details>", "", cell.group(2), flags=re.S))


def test_activity_shows_the_message_and_keeps_the_recorded_text_in_its_tooltip(hub_app, seeded, as_role):
    delivery_id = seeded.ids["delivery"]
    attributes, text = _error_cell(hub_app, as_role, delivery_id,
                                   "TemporaryError: Fake Tests answered 503: down for maintenance")
    assert text == "Fake Tests answered 503: down for maintenance"
    assert 'title="TemporaryError: Fake Tests answered 503: down for maintenance"' in attributes
    api = hub_app.test_client().get("/api/v1/activity?per_page=200", headers=api_headers(seeded, "admin")).get_json()
    recorded = [d["last_error"] for e in api["items"] for d in e["deliveries"] if d["id"] == delivery_id]
    assert recorded == ["TemporaryError: Fake Tests answered 503: down for maintenance"]


def test_activity_keeps_the_name_of_an_unexpected_exception(hub_app, seeded, as_role):
    attributes, text = _error_cell(hub_app, as_role, seeded.ids["delivery"], "KeyError: 'email'")
    assert text == "KeyError: 'email'" and "title=" not in attributes


def test_the_dashboard_lists_a_dead_delivery_by_its_message(hub_app, seeded, as_role):
    _event(hub_app, [("fakeassess", "dead", "PermanentError: the assessment was deleted at Fake Tests")])  # newest
    html = as_role("admin").get("/").get_data(as_text=True)
    dead = _text(re.search(r'id="attention-deliveries">(.*?)</article>', html, re.S).group(1))
    assert "the assessment was deleted at Fake Tests" in dead and "PermanentError" not in dead


def test_the_dashboard_keeps_the_name_of_a_retrying_plugin_bug(hub_app, seeded, as_role):
    _event(hub_app, [("fakeassess", "retry", "KeyError: 'email'")])
    html = as_role("admin").get("/").get_data(as_text=True)
    card = _text(re.search(r'id="health-fakeassess">(.*?)</article>', html, re.S).group(1))
    assert "retrying: KeyError: 'email'" in card


def test_a_candidates_sending_line_shows_the_vendors_message(hub_app, seeded, as_role):
    invitation = pending_with_delivery(hub_app, seeded, "retry")
    text = sending_text(as_role("admin").get(f"/candidates/{invitation}").get_data(as_text=True))
    assert "Last error: Fake Tests answered 503: down for maintenance" in text
    assert "TemporaryError" not in text


def test_a_plugins_own_error_class_is_shown_without_its_name_too(hub_app, seeded, as_role):
    _set_error(hub_app, seeded.ids["delivery"], f"{VendorUnreachable.__name__}: Fake Tests is unreachable")
    html = unescape(as_role("admin").get("/activity").get_data(as_text=True))
    assert ">Fake Tests is unreachable<" in html
