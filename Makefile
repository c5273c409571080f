# Developer commands. Each target works on a fresh clone: the virtualenv is made on
# first use. Add new targets below; keep `demo` self-contained.
#
#   make demo              the example project on http://localhost:8000/
#   make demo PORT=8001    on another port
#   REDIS_URL=redis://127.0.0.1:6379/0 make demo    revocation cache on Redis

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
PIP := $(VENV_PYTHON) -m pip --quiet --disable-pip-version-check
PORT ?= 8000
DEMO_MANAGE := $(VENV_PYTHON) example_project/manage.py

.PHONY: demo

# The virtualenv with the package installed (editable); redone when pyproject.toml
# changes. The stamp file stands for "installed". With the extras the demo shows:
# OpenAPI (/api/schema/, /api/docs/ with Swagger UI's files from
# drf-spectacular-sidecar), django-ninja (/ninja/) and Channels (the signed-in page's
# WebSocket), and uvicorn with websockets to serve it all over ASGI.
$(VENV)/.installed: pyproject.toml
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e ".[openapi,ninja,channels]" drf-spectacular-sidecar uvicorn websockets
	touch $@

demo: $(VENV)/.installed
	@if [ -n "$$REDIS_URL" ]; then \
		$(VENV_PYTHON) -c "import django_redis" 2>/dev/null || $(PIP) install -e ".[redis]"; \
	fi
	$(DEMO_MANAGE) migrate --noinput --verbosity 0
	$(DEMO_MANAGE) demo_setup
	@echo
	@echo "Open http://localhost:$(PORT)/ (localhost, not 127.0.0.1: the cookies are Secure)"
	@echo
	@# uvicorn, not runserver: the demo's WebSocket needs ASGI. One process, so the
	@# in-memory channel layer reaches every socket; --reload as runserver would.
	$(VENV)/bin/python -m uvicorn example_project.asgi:application \
		--host localhost --port $(PORT) --ws websockets --reload --reload-dir example_project \
		--reload-dir jwt_cookie_auth

# --- tests and tooling -------------------------------------------------------------

.PHONY: test lint tox ci

# The whole suite: SQLite, the custom user model, then PostgreSQL + Redis
# (see scripts/test.sh). Extra pytest arguments: make test ARGS="-k rotation".
test:
	scripts/test.sh $(ARGS)

# The bounded soak (tests/test_soak.py): SOAK_SECONDS (default 60) of mixed traffic
# from SOAK_USERS (default 20) against gunicorn x3 + PostgreSQL + Redis on loopback.
# Needs the PostgreSQL and Redis of the test pass; run after `make test` (CI does).
.PHONY: soak
soak:
	JWT_TEST_DB=postgres JWT_TEST_CACHE=redis $(VENV)/bin/python -m pytest -q \
		-p no:cacheprovider -m soak tests/test_soak.py $(ARGS)

$(VENV)/.installed-lint: pyproject.toml
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e ".[test,lint]"
	touch $@

lint: $(VENV)/.installed-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy jwt_cookie_auth

# Django 5.2 on Python 3.11-3.13 and Django 6.x on 3.12-3.13 (interpreters from pyenv).
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
TOX_PYTHONS := $(wildcard $(PYENV_ROOT)/versions/3.1[123].*/bin/python3.1[123])

$(VENV)/.installed-tox:
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(PIP) install "tox>=4"
	touch $@

tox: $(VENV)/.installed-tox
	$(VENV)/bin/tox run -e py311-dj52,py312-dj52,py313-dj52,py312-dj6,py313-dj6 \
		$(if $(TOX_PYTHONS),--discover $(TOX_PYTHONS))

ci:
	.ci/run

# The message catalogues (jwt_cookie_auth/locale/<lang>/LC_MESSAGES/django.po and .mo):
# collect the marked strings into each django.po, then compile every django.mo. Needs
# GNU gettext (Debian: apt-get install gettext); installing the package does not, as
# the .mo files are committed. After `make messages`, translate the new entries and run
# it again; tests/test_translations.py fails while a catalogue is behind the source.
MESSAGE_LANGUAGES := ko es de
.PHONY: messages
messages: $(VENV)/.installed
	cd jwt_cookie_auth && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=$(CURDIR) \
		../$(VENV_PYTHON) -m django makemessages $(addprefix -l ,$(MESSAGE_LANGUAGES)) \
		--add-location=file --no-obsolete
	cd jwt_cookie_auth && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=$(CURDIR) \
		../$(VENV_PYTHON) -m django compilemessages

# --- benchmarks ----------------------------------------------------------------------

.PHONY: bench

BENCH_VENV := .venv-bench
BENCH_PYTHON := $(BENCH_VENV)/bin/python

# The benchmark's own virtualenv (benchmarks/requirements.txt: the peers, gunicorn,
# matplotlib); none of it is a dependency of the package.
$(BENCH_VENV)/.installed: benchmarks/requirements.txt pyproject.toml
	test -x $(BENCH_PYTHON) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PYTHON) -m pip --quiet --disable-pip-version-check install \
		-r benchmarks/requirements.txt -e .
	touch $@

# Ours against simplejwt, dj-rest-auth, knox and Django sessions: writes
# docs/benchmarks.md and docs/benchmarks.png (about 9 minutes). Needs PostgreSQL and
# Redis on 127.0.0.1 and wrk (installed from Debian if missing). A smoke run:
# make bench ARGS=--quick
bench: $(BENCH_VENV)/.installed
	@missing="$$(python3 scripts/services.py)" || { echo "make bench needs $$missing"; exit 1; }
	@command -v wrk >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq wrk; fi; }
	$(BENCH_PYTHON) -m benchmarks.run $(ARGS)
