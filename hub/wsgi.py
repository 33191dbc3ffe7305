"""WSGI entry point of the installed package: ``gunicorn hub.wsgi:app`` works from any directory
(the repository's ``wsgi.py`` imports this one)."""

from hub.app import create_app
from hub.store import schema

app = create_app()
# the migrations this code ships, read now: files of a newer release copied over a running
# install must not make its /readyz ask for their migration (it compares with these)
schema.scripts(app)
