"""``make_test_app`` keeps Jinja's compiled templates for every app of the process
(``hub.testing.apps``): a second app renders a page without compiling it again, the page is the
same, an edited template is compiled again, and an environment that compiles differently never
gets another's code."""

from __future__ import annotations

import jinja2
import pytest

from hub.testing import apps


@pytest.fixture
def compiled(monkeypatch):
    """The names of the templates Jinja compiles from now on (through any environment)."""
    names: list[str] = []
    original = jinja2.Environment.compile

    def spy(self, source, name=None, filename=None, raw=False, defer_init=False):
        names.append(name)
        return original(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", spy)
    monkeypatch.setattr(apps, "_TEMPLATE_CODE", apps._SharedTemplateCode())  # empty, for this test
    return names


def _sign_in_page(app) -> str:
    return app.test_client().get("/sign-in").get_data(as_text=True)


def test_a_second_app_renders_from_the_kept_code(tmp_path, compiled):
    first = _sign_in_page(apps.make_test_app(tmp_path / "a"))
    assert "auth/sign_in.html" in compiled and "base.html" in compiled
    compiled.clear()
    second = _sign_in_page(apps.make_test_app(tmp_path / "b"))
    assert compiled == []
    assert 'name="password"' in second and _without_tokens(second) == _without_tokens(first)


def _without_tokens(html: str) -> str:
    import re

    return re.sub(r'(nonce|value)="[^"]*"', "", html)


def test_an_edited_template_is_compiled_again(tmp_path, compiled):
    cache = apps._TEMPLATE_CODE
    env = jinja2.Environment(loader=jinja2.DictLoader({"t.html": "one {{ x }}"}), bytecode_cache=cache)
    assert env.get_template("t.html").render(x=1) == "one 1"
    edited = jinja2.Environment(loader=jinja2.DictLoader({"t.html": "two {{ x }}"}), bytecode_cache=cache)
    compiled.clear()
    assert edited.get_template("t.html").render(x=2) == "two 2"
    assert compiled == ["t.html"]


def test_an_environment_that_compiles_differently_compiles_its_own(tmp_path, compiled):
    cache = apps._TEMPLATE_CODE
    source = {"t.html": "{% if x %}\n  yes\n{% endif %}"}
    plain = jinja2.Environment(loader=jinja2.DictLoader(source), bytecode_cache=cache)
    assert plain.get_template("t.html").render(x=1) == "\n  yes\n"
    trimmed = jinja2.Environment(loader=jinja2.DictLoader(source), bytecode_cache=cache,
                                 trim_blocks=True, lstrip_blocks=True)
    compiled.clear()
    assert trimmed.get_template("t.html").render(x=1) == "  yes\n"
    assert compiled == ["t.html"]


def test_an_environment_whose_filter_differs_compiles_its_own(compiled):
    """Jinja folds a filter applied to a constant at compile time: another app's filter of the
    same name must not reach this one through the kept code."""
    cache = apps._TEMPLATE_CODE
    source = {"t.html": "{{ 'acme'|title_of }}"}
    first = jinja2.Environment(loader=jinja2.DictLoader(source), bytecode_cache=cache)
    first.filters["title_of"] = lambda value: "A:" + value
    assert first.get_template("t.html").render() == "A:acme"
    second = jinja2.Environment(loader=jinja2.DictLoader(source), bytecode_cache=cache)
    second.filters["title_of"] = lambda value: "B:" + value
    compiled.clear()
    assert second.get_template("t.html").render() == "B:acme"
    assert compiled == ["t.html"]
