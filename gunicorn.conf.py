"""gunicorn's settings for the hub's web processes, for ``gunicorn -c gunicorn.conf.py wsgi:app`` in
the repository root (gunicorn also reads this file by itself when started here). They live in
``hub/gunicorn_conf.py``, installed with the package: from any other directory, or from an
installed wheel, ``gunicorn -c python:hub.gunicorn_conf hub.wsgi:app``."""

from hub import gunicorn_conf

# gunicorn reads its settings and hooks as this file's names
globals().update({name: value for name, value in vars(gunicorn_conf).items() if not name.startswith("_")})
