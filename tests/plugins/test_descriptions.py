"""The bundled plugins' descriptions: one overview shown on the Integrations list to every role,
read-only ones included, so it says what the integration does, never what to type (the
integration page's webhook help says that, to those who may change it)."""

from __future__ import annotations

import re

import pytest

import plugins.canditech as canditech
import plugins.lever as lever
import plugins.vervoe as vervoe


@pytest.mark.parametrize("plugin", [canditech, lever, vervoe], ids=["canditech", "lever", "vervoe"])
def test_a_description_describes_and_gives_no_instructions(plugin):
    text = plugin.DESCRIPTION
    assert text.endswith(".") and len(text) < 400
    assert not re.search(r"\b(enter|paste|point it|copy|here)\b", text, re.I), text
