"""ATS Hub: joins applicant tracking systems to skills-assessment vendors, as pluggy plugins.

Plugins write ``from hub import hookimpl``. The app factory is ``hub.app.create_app``.
"""

import pluggy

from hub.hookspecs import PROJECT_NAME

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


def create_app(config=None):
    """Build the Flask application (see ``hub.app.create_app``)."""
    from hub.app import create_app as _create_app

    return _create_app(config)


__all__ = ["hookimpl", "create_app", "__version__"]
