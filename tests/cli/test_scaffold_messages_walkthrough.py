"""What a developer walking through ``hub new-plugin`` is told: the commands printed can be pasted as
they are, the help states the NAME rules, a generated plugin says in words that its vendor is
unreachable, and a generated source plugin lists a stage's candidates (the backfill hook), so none
of its tests skips (tests/cli/test_new_plugin.py runs them all and checks that none skips).

All in-process."""

import os
import shlex
import socket
import sys
import types

import pytest
import requests

from hub.cli.scaffold import NAME_RE, render_plugin


def _rendered(kind: str, name: str = "quizly") -> dict:
    """The generated plugin module of ``kind``, executed: its names."""
    plugin: dict = {}
    exec(compile(render_plugin(name, kind)[f"ats_hub_{name}/__init__.py"], "plugin", "exec"), plugin)
    return plugin


def _commands(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.startswith("  ")]


def test_the_command_without_installing_runs_the_hubs_own_python(runner, tmp_path, monkeypatch):
    """It printed ``... python -m pytest tests``: pasted as printed, a bare ``python`` is not the
    hub's environment (ModuleNotFoundError: hub). It names the interpreter running ``hub``, by a
    path that still holds after the ``cd``."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(args=["new-plugin", "quizly", "--kind", "assessment"])  # the default ./ats-hub-quizly
    assert result.exit_code == 0, result.output
    without_installing = _commands(result.output)[3]
    hub_python = os.path.abspath(sys.executable)
    assert without_installing == (f"cd ./ats-hub-quizly && PYTHONPATH=. HUB_EXTRA_PLUGIN_MODULES=quizly=ats_hub_quizly "
                                  f"{shlex.quote(hub_python)} -m pytest tests")
    assert " python " not in without_installing


def test_a_relative_interpreter_path_is_made_absolute(runner, tmp_path, monkeypatch):
    """After ``cd DIR`` a relative path to the interpreter would name another file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "executable", "venv/bin/python")
    result = runner.invoke(args=["new-plugin", "quizly", "--kind", "assessment", "--directory", "p"])
    assert result.exit_code == 0, result.output
    assert _commands(result.output)[3].endswith(f" {tmp_path}/venv/bin/python -m pytest tests")


def test_the_help_states_the_name_rules(runner):
    text = " ".join(runner.invoke(args=["new-plugin", "--help"]).output.split())
    assert ("NAME is 2-41 lower-case letters, digits or underscores, starting with a letter; not a Python "
            "keyword (such as class or import), not hub (reserved for the events the hub emits itself), and not "
            "the name of a plugin already installed where hub runs.") in text


@pytest.mark.parametrize("name, allowed", [
    ("ab", True), ("a" + "b" * 40, True), ("a1_b", True),
    ("a", False), ("a" + "b" * 41, False), ("1ab", False), ("_ab", False), ("Ab", False), ("a-b", False),
])
def test_the_name_rules_in_the_help_are_the_codes(name, allowed):
    assert bool(NAME_RE.match(name)) is allowed


@pytest.mark.parametrize("name, said", [
    ("class", "'class' is a Python keyword; choose another name"),
    ("hub", "'hub' is reserved for the hub's own events; choose another name"),
    ("Quizly", "use 2-41 lower-case letters, digits or underscores, starting with a letter"),
])
def test_each_refused_name_says_which_rule(runner, tmp_path, name, said):
    """A keyword was refused as "use 2-41 lower-case letters...", which it is."""
    result = runner.invoke(args=["new-plugin", name, "--kind", "source", "--directory", str(tmp_path / "p")])
    assert result.exit_code == 2 and said in " ".join(result.output.split()), result.output


def _unreachable_base_url() -> str:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{closed.getsockname()[1]}"


def _ctx(base_url, http=None):
    return types.SimpleNamespace(settings={"base_url": base_url}, secrets={"api_key": "k"},
                                 http=http or requests.Session())


@pytest.mark.parametrize("kind", ["assessment", "source"])
def test_test_connection_says_the_vendor_is_unreachable(kind):
    """An unreachable vendor surfaced as "Quizly failed: HTTPConnectionPool(host=..., port=...): Max
    retries exceeded ... NewConnectionError(...)": ``test_connection`` now raises the hub's
    ``HubError`` in words, starting with the title (the hub does not prefix it a second time)."""
    from hub.errors import HubError

    base_url = _unreachable_base_url()
    with pytest.raises(HubError) as caught:
        _rendered(kind)["test_connection"](_ctx(base_url))
    assert caught.value.status == 502 and caught.value.code == "vendor_error"
    assert caught.value.message == (f"Quizly could not be reached at {base_url}: connection refused (check the "
                                    "base URL, or wait for Quizly to be back)"), caught.value.message


@pytest.mark.parametrize("kind", ["assessment", "source"])
@pytest.mark.parametrize("failure, words", [
    (requests.ConnectTimeout("HTTPConnectionPool(...): Max retries exceeded (connect timeout=10)"),
     "could not be reached at http://vendor.test: the connection timed out"),
    (requests.ReadTimeout("HTTPConnectionPool(...): Read timed out. (read timeout=10)"),
     "did not answer GET /things in time (at http://vendor.test)"),
    (requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
     "could not be reached at http://vendor.test: a secure (TLS) connection could not be made"),
    (requests.ConnectionError(OSError(-2, "Name or service not known")),
     "could not be reached at http://vendor.test: the connection failed (ConnectionError)"),
])
def test_every_hook_gets_an_unreachable_vendor_as_a_temporary_error_in_words(kind, failure, words):
    """``_api``, which every hook calls: a delivery meanwhile is retried (``TemporaryError``), and
    its text, shown on the deliveries page, says what happened."""
    from hub.errors import TemporaryError

    def request(*args, **kwargs):
        raise failure

    with pytest.raises(TemporaryError) as caught:
        _rendered(kind)["_api"](_ctx("http://vendor.test", types.SimpleNamespace(request=request)), "GET", "/things")
    assert str(caught.value).startswith("Quizly ") and words in str(caught.value), str(caught.value)
    assert "Max retries" not in str(caught.value) and "HTTPConnectionPool" not in str(caught.value)


def test_a_host_name_not_found_is_said_so():
    from hub.errors import HubError

    http = types.SimpleNamespace(request=lambda *args, **kwargs: requests.get("http://no-such-host.invalid/", timeout=5))
    with pytest.raises(HubError) as caught:
        _rendered("source")["test_connection"](_ctx("http://no-such-host.invalid", http))
    assert caught.value.message.startswith("Quizly could not be reached at http://no-such-host.invalid: ")
    assert "the host name could not be resolved" in caught.value.message, caught.value.message


def test_the_generated_source_plugin_lists_stage_candidates():
    """The source scaffold's contract tests ran "9 passed, 1 skipped": the kit's check of the optional
    backfill hook (``source_list_stage_candidates``) skipped, as the scaffold did not implement it."""
    from hub.entities import StageCandidate

    plugin = _rendered("source")
    sandbox: dict = {"__name__": __name__}  # Flask finds its root path through the module's name
    exec(compile(render_plugin("quizly", "source")["ats_hub_quizly/sandbox/__init__.py"], "sandbox", "exec"), sandbox)
    client = sandbox["create_sandbox_app"]().test_client()
    calls = []

    def request(method, url, params=None, **kwargs):
        calls.append((method, url, params))
        answer = client.open(url.removeprefix("http://vendor.test"), method=method, query_string=params)
        return types.SimpleNamespace(status_code=answer.status_code, headers=answer.headers, text=answer.text,
                                     json=lambda: answer.get_json())

    ctx = _ctx("http://vendor.test", types.SimpleNamespace(request=request))
    found = plugin["source_list_stage_candidates"](ctx, posting_id="posting-1", stage_id="stage-1", limit=10)
    assert found == [StageCandidate(opportunity_id="opp-1", name="Sam Sample")]
    assert plugin["source_list_stage_candidates"](ctx, posting_id="posting-1", stage_id="stage-2", limit=10) == []
    assert calls[0][2] == {"posting_id": "posting-1", "stage_id": "stage-1", "limit": 10}

