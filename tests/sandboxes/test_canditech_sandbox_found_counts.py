"""The Canditech sandbox counts, per external reference, the lookups by reference that found an
invitation (``found_counts`` in ``GET /_sandbox/state``): the crash trials count with it the
invitations whose delivery ran again after Canditech had created them. Over real HTTP."""

from __future__ import annotations

import pytest
import requests

# the module's sandbox and its reset per test, shared with the contract-fault tests
from tests.sandboxes.test_canditech_sandbox_contract_faults import AUTH, sandbox, server  # noqa: F401


def lookup(base: str, **params) -> list[dict]:
    answer = requests.get(f"{base}/v1/invitations", headers=AUTH, params=params, timeout=5)
    answer.raise_for_status()
    return answer.json()["data"]


def found_counts(base: str) -> dict[str, int]:
    return requests.get(f"{base}/_sandbox/state", timeout=5).json()["found_counts"]


def test_counts_the_lookups_by_reference_that_found_an_invitation(sandbox):
    assert lookup(sandbox, external_reference="ref-1") == []  # not created yet: not counted
    body = {"assessment_id": "asmt-python", "external_reference": "ref-1",
            "candidate": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}}
    assert requests.post(f"{sandbox}/v1/invitations", json=body, headers=AUTH, timeout=5).status_code == 201
    assert found_counts(sandbox) == {}

    assert len(lookup(sandbox, external_reference="ref-1")) == 1
    assert len(lookup(sandbox, external_reference="ref-1")) == 1
    assert len(lookup(sandbox)) == 1  # a listing names no reference: not counted
    assert lookup(sandbox, external_reference="ref-2") == []
    assert found_counts(sandbox) == {"ref-1": 2}

    requests.post(f"{sandbox}/_sandbox/reset", timeout=5)
    assert found_counts(sandbox) == {}
