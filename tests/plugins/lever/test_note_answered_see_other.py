"""A note POST answered ``303 See Other`` is not followed (``LeverClient``), and the call fails. But a
303 to a POST says the request was handled and where its result is (RFC 9110, 15.4.4): the note may
exist. ``writeback.write_note_once`` must keep its attempt record then, as for any unclear outcome,
so that the delivery's replay looks for the note before writing it again, never a second note
(late-review)."""

from __future__ import annotations

import pytest
import responses

from plugins.lever import writeback
from plugins.lever.client import LeverAPIError, LeverClient

from .test_client import API, lever, rsps  # noqa: F401 - the fixtures, shared

KEY, MARK = "note:test:1", "[hub:test-1]"


def _write(hub):
    return hub.with_ctx(lambda ctx: writeback.write_note_once(ctx, LeverClient(ctx, sleep=lambda s: None),
                                                              "o1", KEY, "Assessment sent", MARK))


def test_a_note_answered_see_other_is_looked_for_before_it_is_written_again(lever, rsps):
    rsps.add(responses.POST, API + "/opportunities/o1/notes", status=303, headers={"Location": API + "/notes/n1"})
    with pytest.raises(LeverAPIError):
        _write(lever)

    rsps.reset()  # the replay: Lever has the note
    rsps.add(responses.GET, API + "/opportunities/o1/notes", json={"data": [
        {"id": "n1", "value": "Assessment sent\n" + MARK}], "hasNext": False})
    assert _write(lever) == ("n1", True)
    assert [call.request.method for call in rsps.calls] == ["GET"]  # looked for, not posted again
