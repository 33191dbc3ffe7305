"""WSGI entry point for gunicorn in the repository root: ``gunicorn wsgi:app`` (the same app as
``hub.wsgi:app``, which works from any directory)."""

from hub.wsgi import app  # noqa: F401
