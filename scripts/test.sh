#!/usr/bin/env bash
# Run the whole test suite, the way CI does (`make test` calls this).
#
#   1. SQLite + local-memory cache, Django's User model
#   1b. packaging: the built wheel and sdist, a new startproject from the wheel
#   2. SQLite + local-memory cache, a custom user model (UUID pk, email login)
#   2b. SQLite + local-memory cache, USE_TZ = False (naive local times, America/New_York)
#   2c. SQLite, the django-allauth recipe (tests/test_recipe_allauth.py, its own settings)
#   2d. the example project's OpenAPI schema: spectacular --validate, schemathesis
#   3. PostgreSQL + Redis (the servers on 127.0.0.1), including the concurrency tests
#   3b. the same on Django's built-in RedisCache instead of django-redis
#   4. the browser tests (tests/e2e, marker e2e): the demo project in headless Chromium
#
# Pass 3 needs the PostgreSQL and Redis servers. Locally, if one is not running, the
# pass is skipped with a message saying how to start it; with CI=true a missing
# server is a failure. Pass 4 needs the `chromium` executable (Debian's package;
# .ci/run installs it) and Playwright (the e2e extra, installed here); without them
# its tests are skipped locally and fail under CI=true. Passes 1-3 never start a
# browser: pyproject's addopts deselect the e2e marker. Extra arguments go to every
# pytest run (e.g. -k rotation).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-test
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test,e2e]"
    touch "$stamp"
fi

run_pass() {
    local name=$1
    shift
    echo
    echo "=== pytest: $name"
    # pytest exits 5 when no test ran: with `set -e` that fails the run, as it must.
    env "$@" .venv/bin/python -m pytest -q -p no:cacheprovider "${PYTEST_ARGS[@]}"
}

PYTEST_ARGS=("$@")
run_pass "SQLite, local-memory cache, django.contrib.auth User" JWT_TEST_DB=sqlite

# The packaging test, once (marker packaging; pyproject's addopts deselect it elsewhere):
# builds the wheel and sdist, installs the wheel into a new project, logs in over HTTP.
echo
echo "=== pytest: packaging (wheel and sdist; a new startproject from the wheel)"
status=0
JWT_TEST_DB=sqlite .venv/bin/python -m pytest -q -p no:cacheprovider -m packaging \
    tests/test_packaging.py "${PYTEST_ARGS[@]}" || status=$?
# Exit 5 (nothing selected) only when extra arguments filtered the test out.
if [ "$status" -ne 0 ] && ! { [ "$status" -eq 5 ] && [ ${#PYTEST_ARGS[@]} -gt 0 ]; }; then
    exit "$status"
fi

run_pass "SQLite, local-memory cache, custom user model (UUID pk, email)" \
    JWT_TEST_DB=sqlite JWT_TEST_USER_MODEL=custom
run_pass "SQLite, local-memory cache, USE_TZ = False" JWT_TEST_DB=sqlite JWT_TEST_USE_TZ=0

# The django-allauth recipe (README "Custom login flows") under its own settings, so
# allauth's apps, middleware and URLs stay out of the rest of the suite.
echo
echo "=== pytest: SQLite, django-allauth recipe (tests.settings_allauth)"
status=0
JWT_TEST_DB=sqlite .venv/bin/python -m pytest -q -p no:cacheprovider \
    --ds=tests.settings_allauth tests/test_recipe_allauth.py "${PYTEST_ARGS[@]}" || status=$?
# Exit 5 (nothing selected) only when extra arguments filtered every test out.
if [ "$status" -ne 0 ] && ! { [ "$status" -eq 5 ] && [ ${#PYTEST_ARGS[@]} -gt 0 ]; }; then
    exit "$status"
fi

# The example project's OpenAPI schema under its own settings (marker openapi): the
# `spectacular --validate --fail-on-warn` command, and schemathesis against every
# package endpoint (bounded: about half a minute).
echo
echo "=== pytest: OpenAPI schema of the example project (schemathesis; example_project.settings)"
status=0
JWT_TEST_DB=sqlite .venv/bin/python -m pytest -q -p no:cacheprovider -m openapi \
    -p schemathesis.pytest.plugin --ds=example_project.settings \
    tests/test_openapi_example.py "${PYTEST_ARGS[@]}" || status=$?
# Exit 5 (nothing selected) only when extra arguments filtered every test out.
if [ "$status" -ne 0 ] && ! { [ "$status" -eq 5 ] && [ ${#PYTEST_ARGS[@]} -gt 0 ]; }; then
    exit "$status"
fi

missing=$(.venv/bin/python scripts/services.py) || true
if [ -n "$missing" ]; then
    echo
    echo "PostgreSQL/Redis pass cannot run: $missing"
    echo "Start them with the commands in README.md (Development section)."
    if [ "${CI:-}" = "true" ]; then
        echo "CI=true: a missing service is a failure." >&2
        exit 1
    fi
    echo "SKIPPED the PostgreSQL + Redis pass (not CI)."
else
    run_pass "PostgreSQL + Redis (django-redis), concurrency tests included" \
        JWT_TEST_DB=postgres JWT_TEST_CACHE=redis
    # The same pass on Django's own RedisCache (django-redis-only tests skip themselves),
    # on its own database and Redis db so it never meets the pass above's data.
    run_pass "PostgreSQL + Redis (Django's built-in RedisCache)" \
        JWT_TEST_DB=postgres JWT_TEST_CACHE=redis-builtin \
        JWT_TEST_DB_NAME=jwt_cookie_auth_builtin JWT_TEST_REDIS_URL=redis://127.0.0.1:6379/10
fi

echo
echo "=== pytest: browser end-to-end tests (headless Chromium, demo project)"
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider -m e2e tests/e2e "${PYTEST_ARGS[@]}" || status=$?
# Exit 5 (nothing selected) only when extra arguments filtered every browser test out.
if [ "$status" -ne 0 ] && ! { [ "$status" -eq 5 ] && [ ${#PYTEST_ARGS[@]} -gt 0 ]; }; then
    exit "$status"
fi
