"""Text only in ``title`` tooltips (a keyboard and screen-reader walk): a failed invitation's whole
reason, a delivery's and a webhook's error as recorded, what an id or a code is, a timestamp's exact
time were shown on mouse hover alone. A keyboard or touch user never gets a tooltip, and screen
readers read a ``title`` unreliably (most never on text that takes no focus). Each is now reachable
without hovering, on every page that has one: a text cut or reworded has its whole recorded text in
a ``<details>`` beside it (a keyboard or touch user opens it); a hint about an id or a code is in
visually-hidden words, the table's caption or the link's ``aria-describedby`` description; a
timestamp's exact time follows it in visually-hidden words."""

from __future__ import annotations

from datetime import timedelta

from hub.extensions import db
from hub.store.models import Attachment, Delivery, WebhookLog, utcnow
from tests.web.a11y_activity_dom import parse, reachable_elsewhere
from tests.web.support import _invitation

LONG_REASON = ("the vendor refused the invitation because the assessment is archived and locked, "
               "and no other assessment of the attachment can be sent to this candidate")
RECORDED_MESSAGE = "stage_change:accepted, archive_change:duplicate"
LONG_REFUSAL = ("The signature does not match the body. " * 6 + "Check the webhook secret saved in the hub.").strip()


def _data(app, seeded) -> dict:
    """A failed invitation with a long reason, a webhook log with a recorded line and refusals."""
    with app.app_context():
        attachment = db.session.get(Attachment, seeded.ids["attachment"])
        failed = _invitation(seeded.workspace_id, attachment, "failed", failure_reason=LONG_REASON).id
        db.session.add(WebhookLog(workspace_id=seeded.workspace_id, plugin="fakesource", outcome="accepted",
                                  status_code=200, message=RECORDED_MESSAGE, event_count=2))
        for _ in range(2):
            db.session.add(WebhookLog(workspace_id=seeded.workspace_id, plugin="fakesource", outcome="rejected",
                                      status_code=401, message=LONG_REFUSAL,
                                      received_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    return {"failed": failed}


PAGES = ("/", "/activity", "/candidates", "/candidates?status=failed", "/audit", "/pipeline", "/integrations",
         "/integrations/fakesource", "/users", "/settings/api-tokens")


def test_every_tooltip_s_text_is_reachable_without_hovering(hub_app, seeded, as_role):
    data = _data(hub_app, seeded)
    client = as_role("super_admin")
    pages = PAGES + (f"/candidates/{data['failed']}", f"/candidates/{seeded.ids['invitation']}")
    only_on_hover, seen = [], set()
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        doc = parse(response.get_data(as_text=True))
        for element in doc.find_all(attr="title"):
            seen.add(element.tag if element.tag == "time" else element.attrs.get("class") or element.tag)
            if reachable_elsewhere(doc, element) is None:
                only_on_hover.append((path, element.tag, element.attrs.get("id"), element.attrs["title"][:70]))
    assert not only_on_hover, only_on_hover
    assert len(seen) >= 6, seen  # the walk met the kinds of tooltip this is about


def _details_beside(cell, whole: str):
    """The ``<details>`` in ``cell`` that holds ``whole``: a keyboard or touch user opens it."""
    found = [d for d in cell.find_all("details") if whole in d.whole_text()]
    assert found, cell.whole_text()
    (summary,) = found[0].find_all("summary")
    assert summary.seen(), "its summary says what opening it shows"
    return found[0]


def test_a_text_cut_or_reworded_has_its_whole_in_a_details(hub_app, seeded, as_role):
    data = _data(hub_app, seeded)
    client = as_role("super_admin")

    listing = parse(client.get("/candidates?status=failed").get_data(as_text=True))
    reason = listing.by_id(f"failure-reason-{data['failed']}")
    assert reason.seen().endswith("…") and reason.seen() != LONG_REASON  # cut, as before
    _details_beside(reason.parent, LONG_REASON)

    activity = parse(client.get("/activity").get_data(as_text=True))
    delivery_id = seeded.ids["delivery"]
    row = activity.by_id(f"delivery-{delivery_id}")
    (cell,) = [td for td in row.find_all("td") if td.attrs.get("data-label") == "Last error"]
    with hub_app.app_context():
        recorded = db.session.get(Delivery, delivery_id).last_error
    assert cell.seen().startswith("vendor down") and not cell.seen().startswith(recorded)  # reworded, as before
    _details_beside(cell, recorded)

    log = parse(client.get("/integrations/fakesource").get_data(as_text=True))
    cells = [td for td in log.find_all("td") if td.attrs.get("data-label") == "Message"
             and td.seen().startswith("Stage change accepted; Archive change already received")]
    assert cells, "the recorded line is shown in words"
    _details_beside(cells[0], RECORDED_MESSAGE)


def test_a_long_refusal_on_the_dashboard_is_read_whole(hub_app, seeded, as_role):
    """In the middle of a sentence (no room for a ``<details>``): a screen reader reads it whole; a
    sighted user sees its first sentences, and the link after it opens the refusals themselves."""
    _data(hub_app, seeded)
    doc = parse(as_role("super_admin").get("/").get_data(as_text=True))
    item = doc.by_id("refused-fakesource")
    assert item is not None
    assert LONG_REFUSAL in item.spoken()
    assert LONG_REFUSAL not in item.seen() and "The signature does not match the body." in item.seen()
    assert item.spoken().count("The signature does not match the body.") == 6  # once, not the cut and the whole
    assert any(a.attrs.get("href", "").startswith("/integrations/fakesource?outcome=rejected") for a in item.find_all("a"))
