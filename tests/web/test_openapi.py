"""The OpenAPI document: structurally valid 3.1, every $ref resolves, and it describes exactly
the routes the app serves under /api/v1, with the permission each view really checks."""

from __future__ import annotations

import re

import pytest

from hub.web.api.common import declared_query

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


@pytest.fixture
def document(hub_app):
    response = hub_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_document_is_valid(document):
    try:  # the real validator when it is installed; the structural checks below always run
        from openapi_spec_validator import validate
    except ImportError:
        validate = None
    if validate is not None:
        validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "An API token: hub_..."}
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    operation_ids = []
    for path, item in document["paths"].items():
        assert path.startswith("/")
        declared = set(re.findall(r"{(\w+)}", path))
        for method, op in item.items():
            assert method in HTTP_METHODS
            operation_ids.append(op["operationId"])
            assert op["summary"] and op["responses"]
            params = op.get("parameters", [])
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == declared, (path, method)
            for p in params:
                assert p["in"] in ("path", "query") and "schema" in p
                if p["in"] == "path":
                    assert p["required"] is True
            for status, response in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status) and response["description"]
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            if "requestBody" in op:
                assert "application/json" in op["requestBody"]["content"]
    assert len(operation_ids) == len(set(operation_ids))
    error = schemas["Error"]["properties"]["error"]
    assert error["required"] == ["code", "message"] and "fields" in error["properties"]
    # input schemas refuse unknown fields, as the API does
    assert schemas["AttachmentIn"]["additionalProperties"] is False
    assert schemas["AttachmentIn"]["required"] == ["posting_id", "stage_id", "provider", "assessment_id"]
    assert schemas["AttachmentOptions"]["properties"]["pass_threshold"] == {
        "type": ["number", "null"], "minimum": 0, "maximum": 100,
        "description": "Score (percent of the maximum) at or above which the candidate passes."}


def test_the_document_matches_the_routes(hub_app, document):
    served = {}
    for rule in hub_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served[(method.lower(), path)] = hub_app.view_functions[rule.endpoint]
    documented = {(method, path): op for path, item in document["paths"].items() for method, op in item.items()}
    assert set(served) == set(documented)
    for key, view in served.items():
        op = documented[key]
        permission = getattr(view, "permission", None)
        assert op.get("x-permission") == permission, key
        if permission is None:
            assert op["security"] == []
        else:
            assert {"401", "403"} <= set(op["responses"]), key
        # the query parameters documented are those the view takes (takes_query), and only those
        declared = declared_query(view)
        taken = {f.data_key or name for name, f in declared().fields.items()} if declared else set()
        assert {p["name"] for p in op.get("parameters", []) if p["in"] == "query"} == taken, key


def test_every_operation_with_a_body_documents_the_413_it_may_answer(document):
    """(tests/reliability/test_fuzz_api.py sends such bodies: 413, naming the limit)"""
    with_body = [(path, method, op) for path, item in document["paths"].items()
                 for method, op in item.items() if method in HTTP_METHODS and "requestBody" in op]
    assert with_body
    for path, method, op in with_body:
        assert "413" in op["responses"], (method, path)


def test_a_client_generator_learns_defaults_states_and_that_answers_are_whole(document):
    """What a script author missed (docs/api.md): the page size's default, what an integration's
    status may be, and which fields an answer always has."""
    from hub.web.connection_states import CONNECTION_STATES

    params = {p["name"]: p for p in document["paths"]["/invitations"]["get"]["parameters"]}
    assert params["per_page"]["schema"]["default"] == 25 and params["page"]["schema"]["default"] == 1
    assert params["per_page"]["description"] and params["assessment"]["schema"]["pattern"]
    status = document["components"]["schemas"]["Integration"]["properties"]["status"]
    # the hub's states, described; not an enum: a plugin may set one of its own (ctx.set_status)
    assert "enum" not in status and all(code in status["description"] for code in CONNECTION_STATES)
    invitation = document["components"]["schemas"]["Invitation"]
    assert set(invitation["required"]) == set(invitation["properties"])  # every field is in every answer
    assert "required" not in document["components"]["schemas"]["AttachmentUpdate"]
    # a GET has no body: its 400 is only about text the hub cannot store; every operation refuses
    # query parameters it does not take
    assert "JSON" not in document["paths"]["/invitations"]["get"]["responses"]["400"]["description"]
    assert all({"400", "422"} <= set(operation["responses"]) for item in document["paths"].values()
               for operation in item.values())


def test_errors_and_creations_declare_what_the_server_sends(document):
    """A generated client drops what the document leaves out: the ``permission`` of every 403 a
    role answers (``hub.web.errors``), the ``Location`` of a 201 (``POST /attachments``, ``POST
    /users``) and the ``Retry-After`` of a 503."""
    error = document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    assert error["permission"]["type"] == "string"
    created = [(path, method) for path, item in document["paths"].items() for method, op in item.items()
               if method in HTTP_METHODS and "201" in op["responses"]]
    assert sorted(created) == [("/attachments", "post"), ("/users", "post")]
    for path, method in created:
        assert document["paths"][path][method]["responses"]["201"]["headers"]["Location"]["schema"] == {"type": "string"}
    unavailable = [op["responses"]["503"] for item in document["paths"].values() for method, op in item.items()
                   if method in HTTP_METHODS and "503" in op["responses"]]
    assert unavailable and all(r["headers"]["Retry-After"]["schema"] == {"type": "integer"} for r in unavailable)
