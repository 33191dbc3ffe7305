"""The admin pages (server-rendered Jinja), one module per area.

Every view is decorated with ``hub.web.permissions.require``; the navigation only hides what a
role cannot use. Templates and the one CSS and JS file live in ``hub/web/templates`` and
``hub/web/static`` (no CDN: the hub works offline and behind a firewall).
"""

from __future__ import annotations

import os

from hub.web.ui.assets import AssetsBlueprint

WEB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

bp = AssetsBlueprint("ui", __name__, template_folder=os.path.join(WEB_DIR, "templates"),
                     static_folder=os.path.join(WEB_DIR, "static"), static_url_path="/assets")

from hub.web.ui import helpers  # noqa: E402,F401  (template filters and globals)
from hub.web.ui import account  # noqa: E402,F401  (/account/password)
from hub.web.ui import activity, audit, candidates, dashboard, integrations, pipeline, tokens, users  # noqa: E402,F401
