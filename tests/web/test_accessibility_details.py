"""What an accessibility walk through the admin UI found (a keyboard and screen reader user, WCAG
2.1 AA), checked on the HTML and the stylesheet:

* a wrong password's message was in the page but tied to no field: the focus is on the email field
  (autofocus) and a screen reader read only "Email, edit text", never the message;
* a form field's edge, all that shows where a white field is on a white card, had 1.6:1 against the
  card (WCAG 1.4.11 asks 3:1);
* an error page was titled by its number alone ("404 · ATS Hub"), and every attachment's edit page
  had the same title ("Edit attachment"): the title is what a screen reader says first, and what
  tells tabs and history entries apart.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.web.support import sign_in

STATIC = Path(__file__).resolve().parents[2] / "hub" / "web" / "static"


def _tag(html: str, element_id: str) -> str:
    match = re.search(r'<[a-z]+\b[^>]*\bid="%s"[^>]*>' % re.escape(element_id), html)
    assert match, element_id
    return match.group(0)


def _described_by(tag: str) -> list[str]:
    match = re.search(r'aria-describedby="([^"]*)"', tag)
    return match.group(1).split() if match else []


def test_a_wrong_password_s_message_is_read_with_the_fields(hub_app, seeded):
    client = hub_app.test_client()
    response = sign_in(client, "admin@acme.test", "not the password")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert 'id="sign-in-error"' in html
    email = _tag(html, "email")
    assert "autofocus" in email  # where the focus is when the page loads: what is read first
    for field in ("email", "password"):
        assert "sign-in-error" in _described_by(_tag(html, field)), field
    # a plain visit has no message to point at
    plain = hub_app.test_client().get("/sign-in").get_data(as_text=True)
    assert "aria-describedby" not in _tag(plain, "email")


def _hex(value: str) -> tuple[float, ...]:
    value = value.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    return tuple(int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))


def _luminance(colour: str) -> float:
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in _hex(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _ratio(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_a_form_field_s_edge_has_3_to_1_against_what_surrounds_it():
    css = (STATIC / "hub.css").read_text()
    props = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})\b", css))
    rule = re.search(r'input\[type="text"\],[^{]*select \{([^}]*)\}', css, re.S)
    assert rule, "the text fields' rule"
    border = re.search(r"border:\s*1px solid (#[0-9a-fA-F]{3,6}|var\(--([\w-]+)\))", rule.group(1))
    assert border, rule.group(1)
    colour = props[border.group(2)] if border.group(2) else border.group(1)
    readonly = re.search(r"input\[readonly\] \{ background: (#[0-9a-fA-F]{6})", css).group(1)
    for name, background in (("card", props["surface"]), ("page", props["bg"]), ("read-only field", readonly)):
        assert _ratio(colour, background) >= 3, (name, colour, background, round(_ratio(colour, background), 2))


def _title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


def test_an_error_page_s_title_says_what_went_wrong(hub_app, seeded, as_role):
    client = as_role("team_member")
    missing = client.get("/candidates/987654")
    assert missing.status_code == 404
    assert _title(missing.get_data(as_text=True)) == "Error 404: Not found · ATS Hub"
    forbidden = client.get("/settings/api-tokens")
    assert forbidden.status_code == 403, forbidden.status_code
    assert _title(forbidden.get_data(as_text=True)) == "Error 403: You do not have access to this · ATS Hub"


def test_each_attachment_s_edit_page_has_its_own_title(hub_app, seeded, as_role):
    client = as_role("admin")
    titles = {}
    listing = client.get("/pipeline").get_data(as_text=True)
    for attachment_id in sorted(set(re.findall(r'href="/pipeline/(\d+)/edit', listing))):
        page = client.get(f"/pipeline/{attachment_id}/edit")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        heading = re.sub(r"<[^>]+>", "", re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)).strip()
        titles[attachment_id] = _title(html)
        assert titles[attachment_id] == heading + " · ATS Hub", (titles[attachment_id], heading)
    assert len(titles) >= 2, titles
    names = {re.sub(r"\s+", " ", t) for t in titles.values()}
    assert len(names) > 1, titles  # "Edit attachment" for every one
