"""Validate HTTP exchanges against Vervoe's OpenAPI document (``Vervoe-API.v1-8.yaml``:
``spec_path`` below says where it is looked for; the repository's copy is ``plugins/vervoe/openapi/``).

The document is OpenAPI 3.0 with a few 3.1-isms (``type: [object, string, integer]``), so its
schemas are converted to JSON Schema (2020-12) here: ``nullable: true`` adds ``"null"`` to the type,
annotations (``x-*``, ``example(s)``, ``description``) are dropped, local ``$ref``s are resolved. The
conversion is STRICT: an object schema that lists ``properties`` accepts no other property, so a
field the document does not define (a typo, an invented field) fails, on both sides.

What is checked, per exchange:

- the URL is under the server's base path (``/api``) and matches a documented path and method
  (paths in the document carry a stray ``?page=1`` on one key: the query part of a key is ignored);
  anything else fails ("unknown path");
- query parameters are documented for the operation (required ones present, integers integer);
  the one exception is ``page`` on ``GET /integration/assessments``, whose answer documents
  ``currentPage`` ("Must be > 0") but whose parameters the document leaves empty;
- ``Authorization`` is ``Basic`` for the token endpoint and ``Bearer`` everywhere else;
- a request body only where the operation has one, JSON, valid against its schema;
- the response: JSON, valid against the operation's schema for that status; a status the
  operation does not document is accepted only for errors (guide 04 lists 400, 403, 404, 500;
  faults add 429 and 503) and then must be Vervoe's error body, the one documented for the token
  endpoint (``{success, errors, msg}``, or ``{type, title, status, detail}`` for 401).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[3]
SPEC_NAME = "Vervoe-API.v1-8.yaml"
UNDOCUMENTED_QUERY = {("get", "/integration/assessments"): {"page": {"type": "integer"}}}
DROPPED = {"example", "examples", "description", "nullable", "deprecated", "readOnly", "writeOnly",
           "externalDocs", "xml", "discriminator", "title"}


def spec_path() -> Path:
    configured = os.environ.get("VERVOE_OPENAPI")
    candidates = [Path(configured)] if configured else []
    candidates += [ROOT.parent / "shared" / "apis" / "vervoe" / SPEC_NAME, ROOT / "shared" / "apis" / "vervoe" / SPEC_NAME,
                   ROOT / "plugins" / "vervoe" / "openapi" / SPEC_NAME]  # the copy kept with the plugin
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{SPEC_NAME} not found (looked in {', '.join(map(str, candidates))}; "
                            "set VERVOE_OPENAPI)")


class SpecViolation(AssertionError):
    pass


def resolve_refs(node: Any, document: dict, seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, list):
        return [resolve_refs(item, document, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith("#/") or ref in seen:
            raise SpecViolation(f"cannot resolve $ref {ref!r}")
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return resolve_refs(target, document, (*seen, ref))
    return {key: resolve_refs(value, document, seen) for key, value in node.items()}


def to_json_schema(schema: Any, strict: bool = True) -> Any:
    """An OpenAPI 3.0 schema (refs resolved) as a JSON Schema; see the module docstring."""
    if isinstance(schema, list):
        return [to_json_schema(item, strict) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-") or key in DROPPED:
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub, strict) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = to_json_schema(value, strict) if isinstance(value, dict) else value
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(sub, strict) for sub in value]
        else:
            out[key] = value
    if schema.get("nullable") is True:
        if "type" in out:
            types = list(out["type"]) if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if strict and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@dataclass
class Operation:
    method: str
    template: str
    pattern: re.Pattern
    operation: dict
    parameters: list[dict] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.template}"


@dataclass
class Exchange:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    status: int
    response_headers: dict[str, str]
    response_body: bytes


class VervoeOpenAPI:
    def __init__(self, path: Path | None = None):
        with open(path or spec_path(), encoding="utf-8") as handle:
            self.document = yaml.safe_load(handle)
        self.base_path = urlsplit(self.document["servers"][0]["url"]).path.rstrip("/")
        self.operations: list[Operation] = []
        for raw_template, item in self.document["paths"].items():
            template = "/" + raw_template.split("?", 1)[0].lstrip("/")
            shared = item.get("parameters") or []
            regex = "^" + re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template)) + "$"
            for method, operation in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                parameters = [*shared, *(operation.get("parameters") or [])]
                self.operations.append(Operation(method, template, re.compile(regex),
                                                 resolve_refs(operation, self.document),
                                                 resolve_refs(parameters, self.document)))
        # literal paths before templated ones (``/folders`` before ``/{slug}``)
        self.operations.sort(key=lambda op: op.template.count("{"))
        error = self.operation("get", "/public/ats-api/token").operation["responses"]
        self.error_schemas = {
            "default": self._schema_of(error["400"]),
            401: self._schema_of(error["401"]),
        }

    # ------------------------------------------------------------------ lookup
    def operation(self, method: str, template: str) -> Operation:
        for op in self.operations:
            if op.method == method and op.template == template:
                return op
        raise KeyError(f"{method} {template}")

    def match(self, method: str, url: str) -> Operation:
        path = urlsplit(url).path
        if not path.startswith(self.base_path + "/"):
            raise SpecViolation(f"{method} {url}: not under the API's base path {self.base_path}")
        relative = path[len(self.base_path):]
        candidates = [op for op in self.operations if op.pattern.match(relative)]
        if not candidates:
            raise SpecViolation(f"{method} {relative}: unknown path (not in the OpenAPI document)")
        for op in candidates:
            if op.method == method.lower():
                return op
        raise SpecViolation(f"{method} {relative}: method not documented for this path")

    @staticmethod
    def _schema_of(response: dict) -> dict | None:
        content = (response or {}).get("content") or {}
        media = content.get("application/json")
        return media.get("schema") if media else None

    @staticmethod
    def _validate(schema: dict, instance: Any, what: str) -> None:
        validator = jsonschema.Draft202012Validator(to_json_schema(schema))
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            details = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:5])
            raise SpecViolation(f"{what}: {details}")

    # ------------------------------------------------------------------ requests
    def validate_request(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Operation:
        op = self.match(method, url)
        what = f"request {op.name}"
        query = parse_qs(urlsplit(url).query, keep_blank_values=True)
        documented = {p["name"]: p for p in op.parameters if p.get("in") == "query"}
        extra = UNDOCUMENTED_QUERY.get((op.method, op.template), {})
        for name, values in query.items():
            schema = (documented.get(name) or {}).get("schema") or extra.get(name)
            if schema is None:
                raise SpecViolation(f"{what}: query parameter {name!r} is not documented")
            for value in values:
                if schema.get("type") == "integer" and not re.fullmatch(r"-?\d+", value):
                    raise SpecViolation(f"{what}: query parameter {name!r} must be an integer, not {value!r}")
        for name, parameter in documented.items():
            if parameter.get("required") and name not in query:
                raise SpecViolation(f"{what}: required query parameter {name!r} is missing")
        authorization = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        expected = "Basic " if op.template == "/public/ats-api/token" else "Bearer "
        if op.template.startswith("/public/apihealthcheck/"):
            expected = ""
        if expected and not authorization.startswith(expected):
            raise SpecViolation(f"{what}: Authorization must be {expected.strip()}, not {authorization[:7]!r}")
        request_body = op.operation.get("requestBody")
        if request_body is None:
            if body:
                raise SpecViolation(f"{what}: the operation takes no body")
            return op
        if not body:
            if request_body.get("required"):
                raise SpecViolation(f"{what}: a body is required")
            return op
        content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        if not content_type.startswith("application/json"):
            raise SpecViolation(f"{what}: Content-Type must be application/json, not {content_type!r}")
        try:
            instance = json.loads(body)
        except ValueError:
            raise SpecViolation(f"{what}: the body is not JSON") from None
        self._validate(request_body["content"]["application/json"]["schema"], instance, f"{what} body")
        return op

    # ------------------------------------------------------------------ responses
    def validate_response(self, method: str, url: str, status: int, headers: dict[str, str], body: bytes) -> Operation:
        op = self.match(method, url)
        what = f"response {status} to {op.name}"
        content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        if not content_type.startswith("application/json"):
            raise SpecViolation(f"{what}: Content-Type must be application/json, not {content_type!r}")
        try:
            instance = json.loads(body)
        except ValueError:
            raise SpecViolation(f"{what}: the body is not JSON") from None
        documented = op.operation.get("responses", {}).get(str(status))
        if documented is not None:
            schema = self._schema_of(documented)
            if schema is None:
                raise SpecViolation(f"{what}: the document gives this status no JSON body")
        elif status >= 400:
            schema = self.error_schemas.get(status) or self.error_schemas["default"]
        else:
            raise SpecViolation(f"{what}: status {status} is not documented for this operation")
        self._validate(schema, instance, f"{what} body")
        return op

    def validate(self, exchange: Exchange) -> tuple[Operation, Operation]:
        return (self.validate_request(exchange.method, exchange.url, exchange.headers, exchange.body),
                self.validate_response(exchange.method, exchange.url, exchange.status, exchange.response_headers,
                                       exchange.response_body))
