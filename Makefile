# `make run` opens the app; `make test` runs every test. Both create .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench docs-api clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/flowdesk

test: $(STAMP)
	bash tests/run.sh $(PY)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

docs-api: $(STAMP)
	$(PY) -m engine.server.apidoc docs/api-reference.md
	$(PY) -m engine.schema_gen docs/flow-schema.json

clean:
	rm -rf $(VENV) .pytest_cache
