"""The admin pages' CSS, JS and icon, served as bytes read whole (no open file in the response).

Flask serves static files as an open file streamed by the server. werkzeug's development server,
which ``hub run`` uses, skips closing that file when the browser resets the connection while the
server discards the request's leftover bytes (Chromium does so on cached assets): the file is left
to the garbage collector, with a ``ResourceWarning``. The assets are a few kilobytes, so reading
each one whole and closing it at once costs nothing and leaves nothing open whatever the server.

Contract: ``GET /assets/<name>`` answers the file's bytes with the mimetype from its name, an ETag
and Last-Modified from the file, Flask's ``SEND_FILE_MAX_AGE_DEFAULT`` caching, and 304 to a
matching conditional request; a missing file or a path outside the folder is a 404.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join


class AssetsBlueprint(Blueprint):
    """A blueprint whose static files are answered from memory (see the module's docstring)."""

    def send_static_file(self, filename: str) -> Response:
        if not self.has_static_folder:
            raise NotFound()
        path = safe_join(self.static_folder, filename)
        if path is None or not os.path.isfile(path):
            raise NotFound()
        with open(path, "rb") as asset:
            data = asset.read()
            mtime = os.fstat(asset.fileno()).st_mtime
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        response = current_app.response_class(data, mimetype=mimetype)
        response.last_modified = mtime
        response.set_etag(hashlib.sha256(data).hexdigest()[:32])
        max_age = self.get_send_file_max_age(filename)
        if max_age:
            response.cache_control.public = True
            response.cache_control.max_age = max_age
        else:
            response.cache_control.no_cache = True
        return response.make_conditional(request)
