"""Property-based fuzzing of every operation of the JSON API (``/api/v1``): malformed JSON, wrong
content types, wrongly typed fields, oversized bodies, and mutated, garbage, missing and
duplicated Authorization headers with odd other headers.

Whatever is sent, the answer is never a 5xx; a refusal is a JSON 4xx in the hub's error envelope
whose message names the problem (``tests.reliability.contract``), with a status the OpenAPI
document gives for the operation (or 401 for a token that is not valid, 413 for a body over
``MAX_CONTENT_LENGTH``); anything else is the operation's documented 2xx (a mutation the API
tolerates, or a body a GET ignores). The operations are those of the document the hub serves,
which tests/web/test_openapi.py holds equal to the routes: a new endpoint is fuzzed once it is
there. Each request carries a Super Admin's token (unless the header is what is fuzzed) and
names seeded resources (tests/web/support.py), so it reaches the view's own parsing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st

from hub.testing import make_test_app
from tests.reliability.contract import check_answer
from tests.support.engine import dispose
from tests.web.support import FakeAssess, FakeSource, FakeSourceSettings, seed

EXAMPLES = 6  # per operation and test, besides explicit ones: about 190 requests per test (1-2 s of CPU)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
# what a client may put in a header: printable ASCII and Latin-1 (WSGI passes header bytes as Latin-1)
header_text = st.text(alphabet=st.characters(codec="latin-1", exclude_categories=("Cc",)) | st.just("\t"),
                      max_size=80)

JSON_TYPES = ("application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/json;;;=",
              "application/merge-patch+json", "application/vnd.api+json", "application/json; charset=latin-1")
OTHER_TYPES = ("text/plain", "text/html", "application/xml", "application/octet-stream",
               "application/x-www-form-urlencoded", "multipart/form-data", "multipart/form-data; boundary=x",
               "multipart/mixed; boundary=x", "", "json", "application/jsonp", "*/*", "application/x-ndjson")
# JSON texts that parsers disagree on, or that are JSON only to Python's parser
ODD_JSON = ('NaN', '-Infinity', '{"a": NaN}', '1e999', '{"a": 1e999}', '{"a":1}{"b":2}', '{"a":1,}', "{'a': 1}",
            '{"a": "\\ud800"}', '{"\\u0000": 1}', '\ufeff{}', '{"a": 1, "a": [2]}', '"\\', '{"a": "\x01"}',
            '[' * 3000, '{"a":' * 3000, '-0', '1' * 5000, '{"expected": 1' + '0' * 400 + '}')
ODD_HEADERS = ("Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Content-Type", "Content-Encoding",
               "Content-Language", "Cookie", "Origin", "Referer", "User-Agent", "X-Forwarded-For",
               "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Prefix", "X-Real-IP", "Forwarded",
               "X-Requested-With", "X-HTTP-Method-Override", "If-None-Match", "If-Match", "If-Modified-Since",
               "Range", "Expect", "Transfer-Encoding", "Host", "Proxy-Authorization", "WWW-Authenticate")
odd_headers = st.lists(st.tuples(st.sampled_from(ODD_HEADERS) | st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True),
                                 header_text), max_size=3)


@dataclass
class Operation:
    method: str
    path: str  # as documented: /attachments/{attachment_id}
    url: str  # with seeded ids: /api/v1/attachments/7
    documented: frozenset[str]  # its response codes
    protected: bool  # requires a permission (so a token)
    body: st.SearchStrategy  # JSON objects shaped like its body, with wrongly typed values

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Api:
    app: object
    token: str
    max_bytes: int
    operations: list[Operation]

    def send(self, operation: Operation, label: str, *, body: bytes = b"", content_type: str | None = None,
             headers: list[tuple[str, str]] | None = None, allowed: tuple[str, ...] = ()):
        """Send one request; assert the answer keeps the contract; return it."""
        if headers is None:
            headers = [("Authorization", f"Bearer {self.token}")]
        if content_type is not None:
            headers = [*headers, ("Content-Type", content_type)]
        response = self.app.test_client().open(operation.url, method=operation.method, data=body, headers=headers)
        status = response.status_code
        where = f"{label}: {operation.label}"
        check_answer(where, status, response.content_type, response.get_data())
        assert str(status) in operation.documented | set(allowed), \
            f"{where}: {status} is not documented: {response.get_data(as_text=True)[:300]}"
        return response


def _path_values(seeded) -> dict[tuple[str, str], object]:
    """A seeded id for every path parameter, by (method, name): a DELETE gets its own attachment,
    so that the others keep theirs."""
    own = seeded.per_role["super_admin"]
    values = {"plugin": "fakesource", "attachment_id": own["att_keep"], "invitation_id": seeded.ids["invitation"],
              "delivery_id": own["dlv_api"], "user_id": own["target_user"]}
    out: dict[tuple[str, str], object] = {("*", name): value for name, value in values.items()}
    out[("delete", "attachment_id")] = own["att_detach_api"]
    return out


def _typed_object(schema: dict, components: dict) -> st.SearchStrategy:
    """JSON objects with any subset of the schema's properties (nested objects followed), each a
    value of any type, and at times a field the schema does not have."""
    optional = {}
    for name, prop in (schema.get("properties") or {}).items():
        refs = [p["$ref"] for p in [prop, *prop.get("anyOf", [])] if "$ref" in p]
        nested = [_typed_object(components[ref.rsplit("/", 1)[1]], components) for ref in refs]
        optional[name] = st.one_of(json_values, *nested)
    known = st.fixed_dictionaries({}, optional=optional)
    return st.one_of(known, st.tuples(known, st.dictionaries(st.text(max_size=10), json_values, max_size=2)).map(
        lambda pair: {**pair[1], **pair[0]}))


def _operations(document: dict, seeded) -> list[Operation]:
    components = document["components"]["schemas"]
    # the plugin's settings are validated by its own schema, which the document cannot spell out
    settings_fields = {"type": "object", "properties": {name: {} for name in FakeSourceSettings().fields}}
    values = _path_values(seeded)
    operations = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            def value(match, method=method):
                name = match.group(1)
                assert ("*", name) in values, f"no seeded value for the path parameter {name} (add it to _path_values)"
                return str(values.get((method, name), values[("*", name)]))

            ref = ((op.get("requestBody") or {}).get("content", {}).get("application/json", {})
                   .get("schema", {}).get("$ref"))
            name = ref.rsplit("/", 1)[1] if ref else None
            schema = settings_fields if name == "Settings" else components.get(name, {"type": "object"})
            operations.append(Operation(method.upper(), path, "/api/v1" + re.sub(r"{(\w+)}", value, path),
                                        frozenset(op["responses"]), bool(op.get("x-permission")),
                                        _typed_object(schema, components)))
    return operations


@pytest.fixture(scope="module")
def api(tmp_path_factory, module_database_url):
    app = make_test_app(tmp_path_factory.mktemp("fuzz-api"), {"LOG_LEVEL": "ERROR"},
                        plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False,
                        database_url=module_database_url)
    seeded = seed(app)
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    operations = _operations(document, seeded)
    assert len(operations) >= 30
    yield Api(app, seeded.tokens["super_admin"], app.config["MAX_CONTENT_LENGTH"], operations)
    dispose(app)


def fuzz_every_operation(api: Api, strategy, send, explicit=()) -> None:
    """``send(operation, value)`` for ``EXAMPLES`` values of ``strategy`` (a strategy, or a function
    of the operation giving one) per operation, and for each ``explicit`` value. Deterministic: the
    seed is the test's and the operation's name (not one seed for all, which would draw the same
    values for every operation)."""
    for operation in api.operations:
        @FUZZ
        @fixed_seed(f"{send.__qualname__} {operation.label}")
        @given(value=strategy(operation) if callable(strategy) else strategy)
        def run(value):
            send(operation, value)

        for value in explicit:
            run = example(value=value)(run)
        run()


# --------------------------------------------------------------------------- bodies

malformed_json = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=100).map(str.encode),
    st.tuples(json_values.map(json.dumps), st.integers(min_value=1, max_value=20)).map(
        lambda cut: cut[0][:-cut[1]].encode()),  # a JSON text cut short
    st.sampled_from(ODD_JSON).map(lambda text: text.encode("utf-8", "surrogatepass")),
)


def test_malformed_json(api):
    def send(operation, drawn):
        body, content_type = drawn
        api.send(operation, f"malformed JSON {body[:60]!r} as {content_type}", body=body, content_type=content_type)

    fuzz_every_operation(api, st.tuples(malformed_json, st.sampled_from(JSON_TYPES)), send)


def test_wrong_content_types(api):
    bodies = st.one_of(json_values.map(lambda value: json.dumps(value).encode()), st.just(b"a=1&b=%00"),
                       st.just(b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n'),
                       st.binary(max_size=100))
    types = st.sampled_from(OTHER_TYPES) | header_text

    def send(operation, drawn):
        body, content_type = drawn
        api.send(operation, f"{body[:60]!r} as {content_type!r}", body=body, content_type=content_type)

    fuzz_every_operation(api, st.tuples(bodies, types), send)


def test_wrongly_typed_fields(api):
    def send(operation, value):
        body = json.dumps(value).encode()
        api.send(operation, f"body {body[:200]!r}", body=body, content_type="application/json")

    fuzz_every_operation(api, lambda operation: operation.body | json_values, send)


def test_oversized_bodies(api):
    """Over ``MAX_CONTENT_LENGTH``, whatever the content type: 413 naming the limit, before the
    body is parsed; a GET does not read its body, and answers as the same GET without one."""
    limit = api.max_bytes
    bodies = {"application/json": b'{"name": "' + b"x" * limit + b'"}',
              "application/x-www-form-urlencoded": b"name=" + b"x" * limit,
              "multipart/form-data; boundary=x": (b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n'
                                                  + b"x" * limit + b"\r\n--x--\r\n"),
              "text/plain": b"x" * (limit + 1)}
    for operation in api.operations:
        for content_type, body in bodies.items():
            response = api.send(operation, f"{len(body)} bytes of {content_type}", body=body,
                                content_type=content_type, allowed=("413",))
            if operation.method == "GET":
                alone = api.send(operation, "without a body")
                assert response.status_code == alone.status_code, response.get_data(as_text=True)[:300]
            else:
                error = response.get_json()["error"]
                assert response.status_code == 413 and f"limit {limit} bytes" in error["message"], error


# --------------------------------------------------------------------------- headers


def authorizations(token: str) -> st.SearchStrategy:
    """(valid, headers): Authorization headers a client might send, and whether the hub should
    take them for the token. The scheme is case-insensitive and spaces around the token are
    trimmed; anything else is not the token (duplicated headers reach the app joined with ", ",
    as a WSGI server joins them)."""
    tolerated = st.tuples(st.sampled_from(["Bearer", "bearer", "BEARER", "bEaReR"]), st.sampled_from([" ", "  "]),
                          st.sampled_from(["", " ", "\t"])).map(
        lambda parts: (True, [("Authorization", f"{parts[0]}{parts[1]}{token}{parts[2]}")]))
    edited = st.tuples(st.integers(min_value=0, max_value=len(token)), st.integers(min_value=0, max_value=3),
                       st.text(alphabet=st.characters(codec="latin-1", exclude_categories=("Cc",)), max_size=3)).map(
        lambda edit: token[:edit[0]] + edit[2] + token[edit[0] + edit[1]:]).filter(lambda t: t.strip() != token)
    refused = st.one_of(
        st.just([]),  # none
        edited.map(lambda t: [("Authorization", f"Bearer {t}")]),  # the token, changed
        header_text.filter(lambda h: h.strip().lower() != f"bearer {token}".lower()).map(
            lambda h: [("Authorization", h)]),  # garbage
        st.sampled_from(["Basic " + token, token, "Bearer", "Bearer ", "Token " + token, "Bearer\t" + token,
                         "\tBearer " + token, "Bearer " + token + " extra", "Bearer " + "x" * 20_000]).map(
            lambda h: [("Authorization", h)]),
        st.tuples(st.just(f"Bearer {token}"), st.just(f"Bearer {token}") | header_text).map(
            lambda pair: [("Authorization", pair[0]), ("Authorization", pair[1])]),  # duplicated
    ).map(lambda headers: (False, headers))
    return tolerated | refused


def test_mutated_authorization_and_odd_headers(api):
    def send(operation, drawn):
        (valid, authorization), others = drawn
        body = b"" if operation.method == "GET" else b"{}"
        response = api.send(operation, f"headers {authorization + others}"[:400], body=body,
                            headers=authorization + others + [("Content-Type", "application/json")],
                            allowed=("401",))
        if operation.protected and not valid:
            assert response.status_code == 401, f"{operation.label} answered {response.status_code} to {authorization}"
        if valid:
            assert response.status_code != 401, f"{operation.label} refused {authorization}"

    token = api.token
    every_kind = [((False, []), []), ((False, [("Authorization", f"Basic {token}")]), []),
                  ((False, [("Authorization", f"Bearer {token[:-1]}")]), []),
                  ((False, [("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]), []),
                  ((True, [("Authorization", f"bearer  {token} ")]), []),
                  ((True, [("Authorization", f"Bearer {token}")]),
                   [("Host", "a b"), ("Transfer-Encoding", "chunked"), ("Accept", "text/html"),
                    ("X-HTTP-Method-Override", "DELETE")])]
    fuzz_every_operation(api, st.tuples(authorizations(token), odd_headers), send, explicit=every_kind)


# --------------------------------------------------------------------------- what the fuzzing found


def _user_id(api: Api) -> str:
    (url,) = {op.url for op in api.operations if op.path == "/users/{user_id}"}
    return url.rsplit("/", 1)[1]


def test_regression_an_error_of_the_whole_body_is_said_in_its_own_words(api):
    """PATCH /users/<id> with {} said "invalid field: _schema" (marshmallow's key for an error of
    the whole body, no field the client sent); it says what to send."""
    response = api.app.test_client().patch(f"/api/v1/users/{_user_id(api)}", json={},
                                           headers={"Authorization": f"Bearer {api.token}"})
    assert response.status_code == 422
    assert response.get_json()["error"] == {"code": "validation_failed", "message": "give role and/or active",
                                            "fields": {"_schema": ["give role and/or active"]}}


def test_regression_a_nested_object_of_the_wrong_type_is_named(api):
    """{"options": []} (not an object) said "invalid field: options._schema"; it names options."""
    response = api.app.test_client().post("/api/v1/attachments", json={
        "posting_id": "p1", "stage_id": "s1", "provider": "fakeassess", "assessment_id": "py", "options": [],
        "colour": "red"}, headers={"Authorization": f"Bearer {api.token}"})
    assert response.status_code == 422
    assert response.get_json()["error"] == {
        "code": "validation_failed", "message": "unknown field: colour; invalid field: options",
        "fields": {"colour": ["Unknown field."], "options._schema": ["Invalid input type."]}}
