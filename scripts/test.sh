#!/usr/bin/env bash
# Installs everything the test suite needs and runs all of it: the README's test command.
#   1. a virtualenv in .venv with the hub and its test extras
#   2. Debian's chromium for the browser tests (never a downloaded browser), installed while pip runs
#   3. the suite on the embedded default (SQLite, Huey on SQLite)
#   4. the suite again on PostgreSQL + Redis (127.0.0.1:5432 / :6379), when they answer
# Both runs use pytest-xdist: HUB_TEST_WORKERS processes (default 2: most long tests wait on other
# processes, so two keep 2 cores busy); tests/conftest.py starts the longest tests first and keeps
# the tests that share an expensive fixture on one worker (--dist loadgroup). HUB_TEST_WORKERS=0
# runs in one process. Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}

chromium_pid=""
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests"
    (apt-get install -y chromium >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null)) &
    chromium_pid=$!
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet -e '.[test]'

if [ -n "$chromium_pid" ]; then
  wait "$chromium_pid" || echo "chromium could not be installed; the browser tests will say so"
fi

WORKERS=${HUB_TEST_WORKERS:-2}
PARALLEL=()
if [ "$WORKERS" != "0" ]; then
  PARALLEL=(-n "$WORKERS" --dist loadgroup --no-loadscope-reorder)
fi

echo "== test suite: embedded default (SQLite, Huey on SQLite) =="
# the 200+ crash trials and the 1,000 logical events of the duplicates test run in the
# production-services run below; here shorter series of both
env -u HUB_DATABASE_URL -u HUB_TEST_DATABASE_URL -u HUB_REDIS_URL HUB_CRASH_TRIALS="${HUB_CRASH_TRIALS_EMBEDDED:-60}" \
  HUB_DUPLICATE_EVENTS="${HUB_DUPLICATE_EVENTS_EMBEDDED:-300}" \
  .venv/bin/python -m pytest -q -p no:cacheprovider "${PARALLEL[@]}" "$@"

PG_URL=${HUB_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
if .venv/bin/python - "$PG_URL" <<'PY'
import sys, sqlalchemy as sa, redis
try:
    sa.create_engine(sys.argv[1]).connect().close()
    redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
except Exception as exc:
    print(f"PostgreSQL/Redis not reachable ({exc}); skipping the production-services run")
    sys.exit(1)
PY
then
  echo "== test suite: PostgreSQL + Redis =="
  # everything that touches the database or the queue; the browser, the sandboxes' own tests, the
  # plugin scaffold (its own SQLite venv) and the signal tests (their own SQLite) ran above.
  # --backend-tests-only also leaves out the modules listed in BACKEND_FREE (tests/conftest.py),
  # which never reach the database or queue (about 720 tests: vendor clients and wire formats, the
  # Vervoe sandbox, the plugin contract kits on their own SQLite hub, the import boundaries, the
  # configuration's checks and the commands' start-up errors on instance folders of their own, the
  # docs' checks): they would repeat the SQLite run exactly. Every module not listed runs on both.
  status=0
  HUB_TEST_DATABASE_URL="$PG_URL" HUB_TEST_REDIS_URL=redis://127.0.0.1:6379/0 HUB_CRASH_TRIALS="${HUB_CRASH_TRIALS:-200}" \
    HUB_DUPLICATE_EVENTS="${HUB_DUPLICATE_EVENTS:-1000}" \
    .venv/bin/python -m pytest -q -p no:cacheprovider "${PARALLEL[@]}" -m "not browser" --backend-tests-only \
      --ignore=tests/sandboxes --ignore=tests/cli/test_new_plugin.py --ignore=tests/cli/test_serve_signals.py \
      --ignore=tests/reliability/test_database_outage.py "$@" || status=$?
  # pytest's 5: the arguments chose only tests that use no database or queue
  if [ "${status:-0}" = 5 ]; then echo "(no test of this selection uses the database or queue)"
  elif [ "${status:-0}" != 0 ]; then exit "$status"; fi
else
  if [ -n "${CI:-}" ]; then echo "CI needs PostgreSQL and Redis"; exit 1; fi
fi
