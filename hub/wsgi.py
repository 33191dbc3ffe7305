"""WSGI entry point of the installed package: ``gunicorn hub.wsgi:app`` works from any directory
(the repository's ``wsgi.py`` imports this one)."""

from hub.app import create_app

app = create_app()
