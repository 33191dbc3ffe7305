"""Errors of the Lever sandbox and their wire format.

Contract:
- ``LeverError(status, code, message)`` is raised anywhere in the sandbox (state, API, control
  API). Under ``/v1`` it is answered with Lever's error body ``{"code": ..., "message": ...}``
  (lever.md §3.1); the control API uses the same body.
- ``not_found(collection, id)`` builds Lever's ResourceNotFound wording,
  e.g. ``"stages a80bbbe0 was not found"``.
- ``register_error_handlers(app)`` makes every error under ``/v1``, ``/_sandbox`` and ``/oauth/``
  JSON (unknown paths and methods included); on HTML pages a ``LeverError`` is plain text and
  other errors keep Flask's defaults.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

# Lever-style codes for the HTTP statuses the sandbox answers with.
CODES_BY_STATUS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "ResourceNotFound",
    405: "MethodNotAllowed",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class LeverError(Exception):
    """An error answered as ``{"code", "message"}`` with ``status``."""

    def __init__(self, status: int, code: str | None = None, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES_BY_STATUS.get(status, "Error")
        self.message = message or self.code
        self.headers: dict[str, str] = {}

    def response(self) -> Response:
        """Return the JSON response for this error."""
        resp = jsonify({"code": self.code, "message": self.message})
        resp.status_code = self.status
        resp.headers.update(self.headers)
        return resp


def bad_request(message: str) -> LeverError:
    """A 400 BadRequest with ``message``."""
    return LeverError(400, "BadRequest", message)


def not_found(collection: str, ident: object) -> LeverError:
    """A 404 ResourceNotFound worded like Lever (``"<collection> <id> was not found"``)."""
    return LeverError(404, "ResourceNotFound", f"{collection} {ident} was not found")


def _is_json_path() -> bool:
    return request.path.startswith(("/v1", "/_sandbox", "/oauth/"))


def register_error_handlers(app: Flask) -> None:
    """Install JSON error handlers for the API and control paths."""

    @app.errorhandler(LeverError)
    def _lever_error(err: LeverError):
        if not _is_json_path():
            return Response(f"{err.code}: {err.message}", err.status, mimetype="text/plain")
        return err.response()

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if not _is_json_path():
            return err
        status = err.code or 500
        return LeverError(status, None, err.description or err.name).response()

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        app.logger.exception("lever sandbox: unhandled error")
        if not _is_json_path():
            return "Internal Server Error", 500
        return LeverError(500, None, f"{type(err).__name__}: {err}").response()
