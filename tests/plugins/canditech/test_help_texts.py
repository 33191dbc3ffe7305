"""What the settings form and the revoke page tell an admin is true to the plugin and the notes."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

import plugins.canditech as canditech
from plugins.canditech.settings import CanditechSettings, CanditechSettingsSchema

from .helpers import FakeContext


def description(field: str) -> str:
    return CanditechSettingsSchema().fields[field].metadata["description"]


def test_the_api_key_help_names_the_ats_step_and_that_only_admins_can_open_settings():
    text = description("api_key")
    assert "Settings > Integrations > (your ATS) > Generate Key" in text and "admin" in text


def test_remind_on_reentry_does_not_promise_a_reminder():
    text = description("remind_on_reentry")
    assert "ask for a reminder" not in text and "no reminder is sent" in text


def test_the_revoke_help_says_earlier_invitations_keep_calling_the_old_url():
    text = canditech.REVOKE_HELP
    assert "candidates can still take them" in text
    assert "only invitations sent after that carry it" in text
    assert "only through reconciliation" in text and "verdict watch" in text


def test_the_verdict_watch_window_is_a_setting_with_a_default_and_bounds():
    assert CanditechSettingsSchema().load({"api_key": "k"})["verdict_watch_days"] == 14
    assert CanditechSettingsSchema().load({"api_key": "k", "verdict_watch_days": 45})["verdict_watch_days"] == 45
    for wrong in (0, 366):
        with pytest.raises(ValidationError) as caught:
            CanditechSettingsSchema().load({"api_key": "k", "verdict_watch_days": wrong})
        assert "verdict_watch_days" in caught.value.messages
    context = FakeContext(settings={"verdict_watch_days": 3})
    try:
        assert CanditechSettings.from_context(context).verdict_watch_days == 3
    finally:
        context.close()
