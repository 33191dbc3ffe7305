"""The Lever sandbox's webhook shape knobs (``faults.py``): booleans, off by default, and the
bodies they shape (signing.py)."""

from __future__ import annotations

import pytest

from plugins.lever.sandbox.faults import SHAPE_KNOBS, FaultInjector
from plugins.lever.sandbox.signing import make_body, resigned, sign


def test_shape_knobs_are_off_by_default_and_must_be_booleans():
    faults = FaultInjector()
    assert not any(faults.get(knob) for knob in SHAPE_KNOBS)
    for knob in SHAPE_KNOBS:
        with pytest.raises(ValueError, match=knob):
            faults.configure({knob: 1})
        assert faults.configure({knob: True})[knob] is True


def test_a_body_without_id_and_a_resigned_copy():
    body = make_body("candidateStageChange", {"opportunityId": "o"}, "secret", with_id=False)
    assert "id" not in body
    again = resigned(body, "secret")
    assert again["token"] != body["token"] and again["triggeredAt"] == body["triggeredAt"]
    assert again["signature"] == sign("secret", again["token"], again["triggeredAt"])
    later = resigned(body, "secret", triggered_at=body["triggeredAt"] + 5)
    assert later["signature"] == sign("secret", later["token"], body["triggeredAt"] + 5)
