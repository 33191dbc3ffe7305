"""docs/plugin-guide.md's "A vendor with no idempotency key and no lookup by your reference" and its
``deliver`` sample, read by a vendor's developer whose vendor makes a re-invite a new invitation
(the devwalk's "Quizly"): the sample dropped what ``record_sent`` returns, so a send that reached the
vendor after an admin's cancel and Re-invite was never withdrawn there (the guide's own rule under
``hub.kit.provider``, "withdraw ... as nothing else will"), and the search by email and assessment it
recommends finds an earlier round's invitation too, which the sample adopted for the new round,
though the hub no longer has that round's id (a Re-invite clears ``provider_invitation_id``)."""

import re
from pathlib import Path
GUIDE = (Path(__file__).resolve().parents[1] / "docs" / "plugin-guide.md").read_text()


def _passage() -> str:
    start = GUIDE.index("**A vendor with no idempotency key and no lookup by your reference.**")
    end = GUIDE.index("```\n", GUIDE.index("```python", start) + 1)
    return GUIDE[start:end]


def test_the_sample_withdraws_what_reached_the_vendor_after_a_reinvite():
    sample = _passage()[_passage().index("```python"):]
    assert "moved_on = provider.record_sent(" in sample, sample
    assert re.search(r"if moved_on is not None and moved_on\.round != current\.round:.*\n\s+withdraw", sample), sample
    assert sample.count("provider.record_sent(") == 1  # every way to a send ends there, and is checked


def test_the_guide_warns_that_the_search_finds_earlier_rounds():
    text = re.sub(r"\s+", " ", _passage())
    assert "earlier rounds' invitations" in text and "clears `provider_invitation_id`" in text, text[:600]

