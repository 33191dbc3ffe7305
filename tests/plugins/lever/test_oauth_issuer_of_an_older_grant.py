"""An OAuth grant stored before the hub kept the Lever that issued it (``oauth_api_base``) is trusted
where it is: until it is refreshed, a Super Admin who points the environment or the custom base URL
at their own server would still receive its tokens. The plugin's periodic hook (``reconcile``, the
keep-alive's) records where such a grant is used now, so that a later change of address finds it
issued elsewhere (diff-review)."""

from __future__ import annotations

import pytest

from hub.errors import NeedsReauthorization
from plugins.lever.settings import SecretNames

from . import test_oauth_issuer

elsewhere = test_oauth_issuer.elsewhere  # its server standing for someone else's


def test_an_older_grant_is_kept_to_its_lever_from_the_next_periodic_run(oauth_hub, sandbox, elsewhere):
    address, seen = elsewhere
    oauth_hub.with_ctx(lambda ctx: ctx.update_secrets({}, remove=(SecretNames.API_BASE,)))  # stored before
    oauth_hub.call("reconcile")
    assert oauth_hub.secrets()[SecretNames.API_BASE] == sandbox.base + "/v1"
    oauth_hub.configure({"environment": "custom", "base_url": address, "auth_mode": "oauth"})
    with pytest.raises(NeedsReauthorization, match="connect with OAuth again"):
        oauth_hub.call("source_list_users")
    assert seen == []
