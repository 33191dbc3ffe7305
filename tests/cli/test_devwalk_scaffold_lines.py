"""The generated plugin's code is the template's code, line for line: a ``\\`` at the end of a
template line (a ``'''`` string, not raw) was read by Python as a line continuation, so the
scaffold's ``verify_webhook`` came out with its two-line condition joined into one line of 139
characters with a run of spaces in the middle (from a vendor developer's walk, "devwalk")."""

import re

import pytest

from hub.cli.scaffold import render_plugin

LONGEST = 120  # the hub's own line length, which every other generated line keeps


@pytest.mark.parametrize("kind", ["assessment", "source"])
def test_no_generated_line_is_two_template_lines_joined(kind):
    joined = []
    for path, text in render_plugin("acme", kind).items():
        if not path.endswith(".py"):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            # a run of spaces between two pieces of code (not before a comment): where a line break was
            if len(line) > LONGEST or re.search(r"\S {4,}[^\s#]", line):
                joined.append(f"{path}:{number}: {line.strip()[:100]}")
    assert not joined, joined
