# The two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
REQUIREMENTS := $(wildcard requirements/*.pip)

.PHONY: install run test lint format

$(VENV)/.installed: $(REQUIREMENTS)
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements/development.pip -r requirements/test.pip
	touch $@

install: $(VENV)/.installed

## Start web (http://127.0.0.1:5000), worker and beat from the Procfile with honcho, on
## embedded defaults (SQLite, a filesystem broker); Ctrl-C stops them all.
run: install
	$(PYTHON) manage.py db create
	$(PYTHON) manage.py db upgrade
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/honcho start

## Run the whole test suite (SQLite unless TEST_DATABASE_URL says otherwise).
test: install
	$(PYTHON) manage.py -c Test test

lint: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format: install
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .
