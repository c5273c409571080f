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
# changes. The stamp file stands for "installed".
$(VENV)/.installed: pyproject.toml
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
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
	$(DEMO_MANAGE) runserver localhost:$(PORT)

# --- tests and tooling -------------------------------------------------------------

.PHONY: test lint tox ci

# The whole suite: SQLite, the custom user model, then PostgreSQL + Redis
# (see scripts/test.sh). Extra pytest arguments: make test ARGS="-k rotation".
test:
	scripts/test.sh $(ARGS)

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
