"""A stand-in assessment provider for ``bench/drain.py``.

It only registers itself (kind "assessment"): the drain benchmark creates its invitations and
ingests their results directly, so that thousands of Lever write-backs (``on_assessment_completed``)
are pending at once without a real vendor in the loop. Hub processes load it with
``HUB_EXTRA_PLUGIN_MODULES=standin=bench.standin_plugin`` (the repository root on PYTHONPATH).
"""

from __future__ import annotations

from hub import hookimpl
from hub.entities import IntegrationSpec

__version__ = "0.0.1"
NAME = "standin"


@hookimpl
def register_integration(register):
    register(IntegrationSpec(kind="assessment", title="Bench stand-in",
                             description="An assessment provider stand-in for the drain benchmark."))
