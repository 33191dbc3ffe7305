"""docs/api.md says what the API does: every request it names is an operation of the OpenAPI
document, and every operation is named; each example answer has a status the document lists for
its operation and fits the document's schema; the error example and the 401 messages are what the
server answers; the paging numbers are the server's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from hub.web.schemas import PageQuerySchema
from tests.web.support import api_headers

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
BASE = "/api/v1"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REQUEST = re.compile(r"\b(%s) (/api/v1/[^\s`?;,)]*)" % "|".join(METHODS))
BARE_PATH = re.compile(r"(?<![\w/])/api/v1/[^\s`?;,)\"]*")
UNKNOWN = "/api/v1/nope"  # the guide's example of a path that is no endpoint (errors table)
@pytest.fixture
def document(hub_app):
    return hub_app.test_client().get(f"{BASE}/openapi.json").get_json()


def _section(title: str) -> str:
    """The guide's section ``## title`` up to the next ``## `` heading."""
    start = GUIDE.index(f"\n## {title}\n")
    end = GUIDE.find("\n## ", start + 1)
    return GUIDE[start:end if end != -1 else None]


def _template(document: dict, path: str) -> str | None:
    """The document's path (``/attachments/{attachment_id}``) that ``path`` (``/api/v1/attachments/<id>``,
    ``/api/v1/attachments/3``) is, or None. A ``{param}`` segment matches any segment."""
    segments = path.rstrip(".:").removeprefix(BASE).split("/")
    for candidate in document["paths"]:
        parts = candidate.split("/")
        if len(parts) == len(segments) and all(
                p == s or (p.startswith("{") and p.endswith("}") and s) for p, s in zip(parts, segments)):
            return candidate
    return None


def _examples() -> list[tuple[str, str, dict | None, int, dict | None]]:
    """The guide's request/answer pairs: each ```http block that starts with a method, and the
    ```http block starting with ``HTTP/1.1`` right after it: (method, path, request body, status,
    answer body)."""
    blocks = re.findall(r"```http\n(.*?)```", GUIDE, re.S)
    pairs, request = [], None
    for block in blocks:
        head, _, body = block.partition("\n\n")
        first = head.splitlines()[0]
        if first.split(" ")[0] in METHODS:
            method, target = first.split(" ", 1)
            request = (method, target, json.loads(body) if body.strip() else None)
        elif first.startswith("HTTP/1.1 "):
            assert request is not None, f"an answer without its request: {first}"
            pairs.append((*request, int(first.split()[1]), json.loads(body) if body.strip() else None))
            request = None
    return pairs


def _validator(document: dict, schema: dict) -> Draft202012Validator:
    registry = Registry().with_resource("urn:api", Resource.from_contents(document, default_specification=DRAFT202012))
    schema = json.loads(json.dumps(schema).replace('"#/components/', '"urn:api#/components/'))
    return Draft202012Validator(schema, registry=registry)


def test_every_request_the_guide_names_is_an_operation_and_every_operation_is_named(document):
    named = set()
    for method, path in REQUEST.findall(GUIDE):
        if path.rstrip(".:") == UNKNOWN:
            continue
        template = _template(document, path)
        assert template is not None, f"{method} {path}: no such path in the OpenAPI document"
        assert method.lower() in document["paths"][template], f"{method} {path}: no such operation"
        named.add((method.lower(), template))
    for path in BARE_PATH.findall(GUIDE):
        assert path.rstrip(".:") == UNKNOWN or _template(document, path), f"{path}: not in the OpenAPI document"
    operations = {(method, path) for path, item in document["paths"].items() for method in item}
    assert operations - named == set(), "operations docs/api.md does not name"


def test_every_example_answer_is_one_the_document_describes(document):
    pairs = _examples()
    assert len(pairs) >= 15
    for method, target, request_body, status, answer in pairs:
        template = _template(document, target.split("?")[0])
        operation = document["paths"][template][method.lower()]
        assert str(status) in operation["responses"], f"{method} {target}: {status} is not documented"
        if "?" in target and status < 400:  # a query the example shows working: parameters the operation takes
            taken = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            given = {pair.split("=", 1)[0] for pair in target.split("?", 1)[1].split("&")}
            assert given <= taken, f"{method} {target}: {sorted(given - taken)} not among its parameters"
        schema = operation["responses"][str(status)].get("content", {}).get("application/json", {}).get("schema")
        if answer is not None:  # trimmed in the guide: what it shows must fit, not all it leaves out
            errors = [e.message for e in _validator(document, schema).iter_errors(answer)
                      if e.validator != "required" or status >= 400]
            assert not errors, f"{method} {target} -> {status}: {errors}"
        if request_body is not None and status < 300:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            errors = [e.message for e in _validator(document, schema).iter_errors(request_body)]
            assert not errors, f"{method} {target} body: {errors}"


def test_the_error_example_is_what_the_server_answers(hub_app, seeded):
    method, target, body, status, answer = next(p for p in _examples() if p[3] >= 400 and f"{p[0]} {p[1]}" in
                                                _section("Errors"))
    response = hub_app.test_client().open(target, method=method, json=body, headers=api_headers(seeded, "super_admin"))
    assert response.status_code == status
    assert response.get_json() == answer
    assert set(answer["error"]) == {"code", "message", "fields"}


def test_the_401_messages_and_the_unknown_endpoint_are_the_servers(hub_app, seeded):
    client = hub_app.test_client()
    token = seeded.tokens["super_admin"]
    section = _section("Authenticating")
    for headers in ({}, {"Authorization": f"Token {token}"}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer hub_not-a-token"}):
        response = client.get(f"{BASE}/me", headers=headers)
        error = response.get_json()["error"]
        assert response.status_code == 401 and error["code"] == "unauthorized"
        assert f"`{error['message']}`" in section, headers
    response = client.get(UNKNOWN, headers=api_headers(seeded, "super_admin"))
    quoted = re.search(r"`(no such API endpoint: GET /api/v1/nope; )\.\.\.`", _section("Errors")).group(1)
    assert response.status_code == 404 and response.get_json()["error"]["message"].startswith(quoted)


def test_the_paging_numbers_are_the_servers():
    fields = PageQuerySchema().fields
    default, most = re.search(r"`per_page` \(default (\d+), at most (\d+)\)", GUIDE).groups()
    assert int(default) == fields["per_page"].load_default
    assert [int(most)] == [v.max for v in fields["per_page"].validators]


def test_the_password_bounds_are_the_servers(document):
    """``POST /api/v1/users`` takes a password of the one rule's length (it said nothing of it,
    and the schema once took 200 at most)."""
    bounds = document["components"]["schemas"]["UserCreate"]["properties"]["password"]
    users = " ".join(_section("Resources, one example each").split())
    assert f"`password` has {bounds['minLength']} to {bounds['maxLength']} characters" in users
