# Every target creates .venv itself when it is missing or older than pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo dev test bench stop clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[local,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fivetran-assets demo

dev: $(STAMP)
	$(BIN)/fivetran-assets dev

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/basedpyright
	$(BIN)/dagster definitions validate -w workspace.yaml
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

stop: $(STAMP)
	$(BIN)/fivetran-assets stop

clean:
	rm -rf $(VENV) .state .dagster_home
