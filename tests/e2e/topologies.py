"""Which run of ``scripts/test.sh`` runs each topology of an end-to-end test (``@pytest.mark.parametrize
("topology", TOPOLOGIES)``): the embedded default (``hub run``, Huey on SQLite) in the SQLite run,
the production shape (gunicorn with 2 workers, 2 ``hub worker`` processes on Redis) in the
PostgreSQL + Redis run, on the backends production uses. Each runs once, in its run: the other
run does not collect it (the production shape on SQLite, or the embedded hub on PostgreSQL, would
repeat what one of the two runs already covers)."""

from __future__ import annotations

from tests.conftest import _postgres_url

ON_POSTGRES = _postgres_url() is not None

TOPOLOGIES = ("production",) if ON_POSTGRES else ("embedded",)

# The story (tests/e2e/test_story.py), the suite's widest test, also runs the embedded hub (``hub
# run``, Huey on SQLite) in the PostgreSQL run, on PostgreSQL. The production shape on SQLite
# runs in neither run: production uses PostgreSQL.
STORY_TOPOLOGIES = ("embedded", "production") if ON_POSTGRES else ("embedded",)
