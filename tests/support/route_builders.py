"""The hub's own test suite shares the URL builders Werkzeug generates for equal rules between the
apps of a process (installed by ``tests/conftest.py``; the public kit ``hub.testing`` leaves
Werkzeug as it is, so a plugin's own Flask apps never see this).

Werkzeug compiles a Python function per rule to build its URLs (``Rule._compile_builder``: an
AST, then ``compile``) for every new app: over half of the time it takes to build one, which
nearly every test does. In the Werkzeug versions checked (``CHECKED``) the function depends only
on the rule's class, its text, its parsed parts (``_trace``: host or subdomain, path, converters'
names), the names of its defaults and whether unknown arguments are appended; converters and the
query encoder are looked up on the rule when a URL is built. So a function generated once serves
every equal rule. A rule whose defaults fill one of its own variables (the function then holds the
converted default) is compiled as Werkzeug does, and so is every rule under a Werkzeug release not
checked."""

from __future__ import annotations

import importlib.metadata
import threading
from typing import Any

# Werkzeug releases whose ``Rule._compile_builder`` was read for what its result depends on
CHECKED = ("3.1.",)


def werkzeug_checked() -> bool:
    """Whether the installed Werkzeug is one whose builders are known to be shareable."""
    try:
        version = importlib.metadata.version("werkzeug")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - Flask depends on it
        return False
    return version.startswith(CHECKED)


def share_route_builders() -> bool:
    """Install the sharing for this process (once); whether it is installed."""
    from werkzeug.routing.rules import Rule

    original = getattr(Rule, "_compile_builder", None)
    if original is None:
        return False
    if getattr(original, "shared_by_hub_tests", False):
        return True
    if not werkzeug_checked():
        return False
    builders: dict[tuple, Any] = {}
    lock = threading.Lock()

    def compile_builder(self, append_unknown: bool = True):
        defaults = self.defaults or {}
        trace = tuple(getattr(self, "_trace", None) or ())
        if not trace or any(dynamic and name in defaults for dynamic, name in trace):
            return original(self, append_unknown)
        key = (type(self), self.rule, trace, tuple(defaults), append_unknown)
        with lock:
            builder = builders.get(key)
        if builder is None:
            builder = original(self, append_unknown)
            with lock:
                builders[key] = builder
        return builder

    compile_builder.shared_by_hub_tests = True
    Rule._compile_builder = compile_builder
    return True
