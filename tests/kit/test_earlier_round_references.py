"""``hub.kit.provider.earlier_round_references``: the external references a re-invited invitation had
in its earlier rounds, round 1 first, as ``Invitation.external_reference`` made them then (with the
invitation's token, or without one for invitations made before the token existed)."""

from __future__ import annotations

from dataclasses import replace

from hub.entities import PENDING, Invitation, parse_external_reference
from hub.kit import provider


def invitation(**fields) -> Invitation:
    base = Invitation(id=7, attachment_id=1, opportunity_id="opp-1", candidate_name="Ada Lovelace",
                      candidate_email="ada@example.com", provider="acme", assessment_id="python",
                      assessment_name="Python", status=PENDING, reference_token="k3y")
    return replace(base, **fields)


def test_round_1_has_no_earlier_round():
    assert list(provider.earlier_round_references(invitation())) == []


def test_each_earlier_round_has_the_reference_it_had_then():
    sent = {r: invitation(round=r).external_reference for r in (1, 2, 3)}  # what each round sent
    now = invitation(round=4)
    assert list(provider.earlier_round_references(now)) == [sent[1], sent[2], sent[3]] \
        == ["hub-inv-7-k3y", "hub-inv-7-k3y-r2", "hub-inv-7-k3y-r3"]
    assert now.external_reference not in provider.earlier_round_references(now)
    assert {parse_external_reference(r) for r in provider.earlier_round_references(now)} == {7}


def test_an_invitation_made_before_the_token_keeps_its_tokenless_references():
    assert list(provider.earlier_round_references(invitation(round=3, reference_token=None))) == \
        ["hub-inv-7", "hub-inv-7-r2"]


def test_it_is_part_of_the_kit():
    assert "earlier_round_references" in provider.__all__
